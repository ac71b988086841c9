"""Tests for compiler.findings: the rule registry, --select/--ignore patterns, `# cwlpilot: ignore` comments."""

from __future__ import annotations

import re

from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.findings import (
    chosen,
    ignored_on_lines,
    kept_findings,
    registry,
    split_patterns,
    unknown_patterns,
)


def diag(line: int, rule: str, severity: str = "warning", file: str = "wf.cwl") -> Diagnostic:
    return Diagnostic(Pos(file, line, 1), f"finding of {rule}", None, severity, rule)


def test_every_rule_has_a_stable_id_a_severity_a_summary_and_a_fix() -> None:
    rules = registry()
    assert len(rules) == len({r.id for r in rules.values()})
    for rule in rules.values():
        assert re.fullmatch(r"(cwl|panda|plan|internal)(-[a-z0-9]+)+", rule.id), rule.id
        assert rule.severity in ("error", "warning") and rule.summary and rule.fix


def test_the_rules_the_check_gate_promises() -> None:
    wanted = {
        "cwl-unused-input": "warning",
        "cwl-unused-output": "warning",
        "cwl-undefined-input": "warning",
        "cwl-javascript-requirement": "error",  # as the CWL specification has it
        "cwl-docker-requirement": "warning",
        "cwl-absolute-path": "warning",
        "cwl-scatter-resources": "warning",
        "panda-not-local": "warning",
    }
    assert {k: registry()[k].severity for k in wanted} == wanted


def test_patterns_split_on_commas_and_repeat() -> None:
    assert split_patterns(["a,b", " c ", ""]) == ("a", "b", "c")
    assert split_patterns(None) == ()


def test_unknown_patterns_are_named_with_a_suggestion() -> None:
    assert unknown_patterns(["cwl-*", "panda-not-local"]) == []
    assert unknown_patterns(["cwl-unused-inputs", "zzz"]) == ["'cwl-unused-inputs' (did you mean 'cwl-unused-input'?)",
                                                              "'zzz'"]


def test_select_then_ignore_and_unreadable_rules_are_always_kept() -> None:
    assert chosen("cwl-unused-input", (), ())
    assert not chosen("cwl-unused-input", ("panda-*",), ())
    assert chosen("panda-not-local", ("panda-*",), ())
    assert not chosen("panda-not-local", ("panda-*",), ("panda-not-*",))
    assert chosen("cwl-yaml", (), ("cwl-*",))  # nothing else of that file was checked


def test_comments_name_rules_or_all_of_them() -> None:
    text = "a: 1\nb: 2  # cwlpilot: ignore[cwl-unused-input, cwl-absolute-path]\nc: 3 # cwlpilot: ignore\nd: 4\n"
    assert ignored_on_lines(text) == {2: frozenset({"cwl-unused-input", "cwl-absolute-path"}), 3: None}
    assert ignored_on_lines("no comment here") == {}


def test_kept_findings_drop_what_options_and_comments_leave_out() -> None:
    texts = {"wf.cwl": "x\ny # cwlpilot: ignore[cwl-unused-input]\nz # cwlpilot: ignore\nw\n", "other.cwl": None}
    found = [
        diag(2, "cwl-unused-input"),  # ignored by the comment of its line
        diag(2, "cwl-absolute-path"),  # another rule: kept
        diag(3, "cwl-scatter-resources"),  # every rule ignored on line 3
        diag(4, "cwl-unused-output"),
        diag(4, "cwl-unused-output"),  # the same finding twice is reported once
        diag(1, "panda-not-local"),  # --ignore
        diag(1, "cwl-unused-input", file="other.cwl"),  # its file cannot be read: no comment applies
    ]
    kept, dropped = kept_findings(found, (), ("panda-*",), texts.get)
    assert [(d.pos.file, d.pos.line, d.rule) for d in kept] == [
        ("other.cwl", 1, "cwl-unused-input"),
        ("wf.cwl", 2, "cwl-absolute-path"),
        ("wf.cwl", 4, "cwl-unused-output"),
    ]
    assert dropped == 3


def test_a_comment_cannot_hide_a_file_that_does_not_parse() -> None:
    kept, dropped = kept_findings([diag(1, "cwl-yaml", "error")], (), (), lambda _: "x # cwlpilot: ignore\n")
    assert len(kept) == 1 and dropped == 0
