"""Which findings a check reports: every rule by id, `--select`/`--ignore`, `# cwlpilot: ignore[RULE]` comments.

Pure: the texts of the files a comment may be in are asked of a callback. As ruff has it: `--select`
keeps only the rules it names, `--ignore` drops rules, both take ids or shell-style patterns
(`panda-*`), and a comment `# cwlpilot: ignore[rule-a, rule-b]` (or `# cwlpilot: ignore`, every rule)
drops the findings reported at its own line. Findings of `unreadable` rules are always kept: nothing
else in their file was checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from difflib import get_close_matches
from fnmatch import fnmatchcase
from functools import cache

from cwlpilot.compiler.errors import Diagnostic
from cwlpilot.compiler.panda.rules import PANDA_RULES
from cwlpilot.compiler.rules import CWL_RULES, PLAN_RULES, Rule

UNKNOWN_RULE = "cwl-error"  # what a finding of no rule of its own is reported as (none should be)
_COMMENT = re.compile(r"#\s*cwlpilot:\s*ignore\b(?:\[([^\]]*)\])?")


@cache
def registry() -> dict[str, Rule]:
    """Every rule, by id, in the order the README lists them."""
    found = {r.id: r for r in (*CWL_RULES, *PLAN_RULES, *PANDA_RULES)}
    found.setdefault(UNKNOWN_RULE, Rule(UNKNOWN_RULE, "error", "a finding of no rule of its own", "see the message"))
    return found


def rule_of(diag: Diagnostic) -> str:
    return diag.rule or UNKNOWN_RULE


def unknown_patterns(patterns: Iterable[str]) -> list[str]:
    """The patterns that match no rule, each with a suggestion when one is close: for a usage error."""
    ids = list(registry())
    out = []
    for pattern in patterns:
        if not any(fnmatchcase(i, pattern) for i in ids):
            close = get_close_matches(pattern, ids, n=1)
            out.append(f"{pattern!r}" + (f" (did you mean '{close[0]}'?)" if close else ""))
    return out


def split_patterns(values: Sequence[str] | None) -> tuple[str, ...]:
    """`--select a,b --select c` as ("a", "b", "c")."""
    return tuple(p.strip() for v in values or () for p in v.split(",") if p.strip())


def chosen(rule: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """Whether findings of `rule` are reported under `--select` (empty: all) and `--ignore`."""
    if registry().get(rule, registry()[UNKNOWN_RULE]).unreadable:
        return True
    if select and not any(fnmatchcase(rule, p) for p in select):
        return False
    return not any(fnmatchcase(rule, p) for p in ignore)


def ignored_on_lines(text: str) -> dict[int, frozenset[str] | None]:
    """The `# cwlpilot: ignore[...]` comments of `text`: line number (from 1) -> the rules (None: all)."""
    found: dict[int, frozenset[str] | None] = {}
    if "cwlpilot:" not in text:
        return found
    for number, line in enumerate(text.splitlines(), 1):
        match = _COMMENT.search(line)
        if match:
            rules = match.group(1)
            found[number] = None if rules is None else frozenset(r.strip() for r in rules.split(",") if r.strip())
    return found


def kept_findings(
    diags: Iterable[Diagnostic],
    select: Sequence[str],
    ignore: Sequence[str],
    text_of: Callable[[str], str | None],
) -> tuple[tuple[Diagnostic, ...], int]:
    """The findings reported (sorted, each once) and how many were left out by the options or comments.

    `text_of(file)` gives the text of a file findings are in (None when it cannot be read)."""
    comments: dict[str, dict[int, frozenset[str] | None]] = {}
    kept = []
    dropped = 0
    for diag in sorted(set(diags)):
        rule = rule_of(diag)
        if not chosen(rule, select, ignore):
            dropped += 1
            continue
        if not registry().get(rule, registry()[UNKNOWN_RULE]).unreadable:
            if diag.pos.file not in comments:
                text = text_of(diag.pos.file)
                comments[diag.pos.file] = ignored_on_lines(text) if text else {}
            rules = comments[diag.pos.file].get(diag.pos.line, frozenset())
            if rules is None or rule in rules:
                dropped += 1
                continue
        kept.append(diag)
    return tuple(kept), dropped
