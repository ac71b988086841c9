"""Tests for compiler.check: every mistake found in one run, each with its exact position."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cwlpilot.compiler.check import check
from cwlpilot.compiler.yamlsrc import display_path

REPO = Path(__file__).resolve().parents[2]
# the suite beside the clone, or where CWL_CONFORMANCE_DIR says (as for .ci/conformance.sh)
CONFORMANCE = Path(os.environ.get("CWL_CONFORMANCE_DIR") or REPO.parent / "shared" / "cwl-conformance") / "tests"
needs_conformance = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason="the CWL conformance suite is not at ../shared/cwl-conformance"
)
BAD = "examples/cwl/invalid/"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def messages(path: str, job: str | None = None) -> list[str]:
    return [str(d) for d in check(path, job).diagnostics]


def test_valid_workflow_has_no_diagnostics() -> None:
    result = check("examples/cwl/nested.cwl", "examples/cwl/greet-job.yml")
    assert result.ok
    assert result.diagnostics == ()


def test_independent_mistakes_are_all_reported() -> None:
    assert messages(BAD + "many-errors.cwl") == [
        f"{BAD}many-errors.cwl:10:3: output 'result': unknown source 'join/al': "
        "step 'join' has no output 'al'",
        f"{BAD}many-errors.cwl:18:7: step 'say': scatter over 'message', which is not an array: "
        "'name' is string",
        f"{BAD}many-errors.cwl:23:7: step 'join': input 'files': type mismatch: 'count' is int, "
        "cat.cwl expects File[]",
        f"{BAD}many-errors.cwl:28:7: step 'loud': input 'message': unknown source 'nam': "
        "no workflow input or step output of that name",
        f"{BAD}many-errors.cwl:29:16: step 'loud': output 'err' is not an output of echo.cwl",
        f"{BAD}many-errors.cwl:30:3: step 'ping': steps form a cycle: ping -> pong -> ping",
        f"{BAD}many-errors.cwl:33:7: step 'ping': input 'message': type mismatch: 'pong/out' is File, "
        "echo.cwl expects string",
        f"{BAD}many-errors.cwl:38:7: step 'pong': input 'message': type mismatch: 'ping/out' is File, "
        "echo.cwl expects string",
        f"{BAD}many-errors.cwl:40:3: step 'idle': required input 'files' (File[]) of cat.cwl "
        "is not connected",
    ]


def test_schema_errors_do_not_hide_reference_errors() -> None:
    # cwl-utils rejects the document at the misspelled `defualt`; the rest is still checked
    assert messages(BAD + "schema-and-refs.cwl") == [
        f"{BAD}schema-and-refs.cwl:6:5: invalid field `defualt`, expected one of: `label`, `secondaryFiles`, "
        "`streamable`, `doc`, `id`, `format`, `inputBinding`, `default`, `type`",
        f"{BAD}schema-and-refs.cwl:12:3: step 'say': `when` needs cwlVersion v1.2 (this document is v1.0)",
        f"{BAD}schema-and-refs.cwl:16:7: step 'say': input 'message': unknown source 'nme': "
        "no workflow input or step output of that name",
        f"{BAD}schema-and-refs.cwl:18:3: step 'again': steps form a cycle: again -> again",
        f"{BAD}schema-and-refs.cwl:21:7: step 'again': input 'message': type mismatch: 'again/out' is File, "
        "echo.cwl expects string",
    ]


def test_when_before_v1_2_replaces_the_schema_message() -> None:
    assert messages(BAD + "when-v10.cwl") == [
        f"{BAD}when-v10.cwl:7:3: step 'say': `when` needs cwlVersion v1.2 (this document is v1.0)"
    ]


def test_missing_run_document_and_schema_error_together() -> None:
    assert messages(BAD + "schema-errors.cwl") == [
        f"{BAD}schema-errors.cwl:7:5: invalid field `badfield`, expected one of: `label`, `secondaryFiles`, "
        "`streamable`, `doc`, `id`, `format`, `loadContents`, `loadListing`, `default`, `type`, "
        "`inputBinding`",
        f"{BAD}schema-errors.cwl:18:5: step 'two': the `run` field refers to 'nothere.cwl', "
        "which does not exist",
    ]


def test_yaml_syntax_error() -> None:
    assert messages(BAD + "syntax.cwl") == [
        f"{BAD}syntax.cwl:7:1: YAML syntax error: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at line 6)"
    ]


def test_inputs_file_problems_are_reported_with_workflow_problems() -> None:
    assert messages(BAD + "many-errors.cwl", "examples/cwl/greet-job.yml")[:2] == [
        "examples/cwl/greet-job.yml:1:1: required input 'count' (int) is missing "
        f"(declared at {BAD}many-errors.cwl:8:3)",
        "examples/cwl/greet-job.yml:1:1: required input 'name' (string) is missing "
        f"(declared at {BAD}many-errors.cwl:7:3)",
    ]


@needs_conformance
def test_conformance_should_fail_pickvalue_is_caught() -> None:
    path = display_path(str(CONFORMANCE / "conditionals" / "cond-wf-005.cwl"))
    # cwltool's checker merges several sources (merge_nested here) and checks each of them on its own
    assert messages(path) == [
        f"{path}:20:3: output 'out1': type mismatch: 'def' is string (linkMerge merge_nested) "
        "(pickValue all_non_null), the output is string",
        f"{path}:20:3: output 'out1': type mismatch: 'step1/out1' is string (linkMerge merge_nested) "
        "(pickValue all_non_null), the output is string",
    ]


@needs_conformance
def test_valid_conformance_workflows_give_no_false_alarms() -> None:
    # Every workflow of the suite that is meant to load must check clean (no invented errors).
    invalid = {"cond-wf-005.cwl", "cond-wf-005_nojs.cwl", "conflict-wf.cwl", "js-expr-req-wf.cwl"}
    noisy = []
    for path in sorted(CONFORMANCE.rglob("*.cwl")):
        if path.name in invalid or path.parent.name == "mixed-versions":
            continue
        result = check(str(path))
        if result.diagnostics:
            noisy.append(str(result.diagnostics[0]))
    assert noisy == []


def _doc(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return str(path)


TAKES = """\
cwlVersion: v1.2
class: ExpressionTool
inputs: {s: string?, n: long?}
outputs: {o: int}
expression: "$({o: 1})"
"""


def test_cwltool_static_type_check_rejects_enum_into_string_and_int_into_long(tmp_path: Path) -> None:
    _doc(tmp_path, "takes.cwl", TAKES)
    wf = _doc(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs:
  mode: {type: {type: enum, symbols: [fast, slow]}}
  k: int
outputs: {o: {type: int, outputSource: s/o}}
steps:
  s: {run: takes.cwl, in: {s: mode, n: k}, out: [o]}
""")
    assert [d.message for d in check(wf).diagnostics] == [
        "input 's': type mismatch: 'mode' is enum, takes.cwl expects string?",
        "input 'n': type mismatch: 'k' is int, takes.cwl expects long?",
    ]


def test_a_sub_workflow_or_a_scatter_without_its_feature_requirement(tmp_path: Path) -> None:
    _doc(tmp_path, "takes.cwl", TAKES)
    _doc(tmp_path, "sub.cwl", "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps: []\n")
    wf = _doc(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs: {ss: "string[]"}
outputs: []
steps:
  sub: {run: sub.cwl, in: {}, out: []}
  each: {run: takes.cwl, scatter: s, in: {s: ss}, out: [o]}
""")
    assert [d.message for d in check(wf).diagnostics] == [
        "Workflow contains embedded workflow but SubworkflowFeatureRequirement not in requirements",
        "Workflow contains scatter but ScatterFeatureRequirement not in requirements",
    ]
    text = Path(wf).read_text().replace("inputs: {", "hints: {ScatterFeatureRequirement: {}, "
                                        "SubworkflowFeatureRequirement: {}}\ninputs: {")
    Path(wf).write_text(text)
    assert check(wf).diagnostics == ()  # a hint is enough for cwltool's get_requirement


def test_error_locations_show_the_path_as_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # schema-salad gives `plus%2Bdir/wf%20one.cwl`; the user typed `plus+dir/wf one.cwl`
    wf = _doc(tmp_path, "plus+dir/wf one.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  s:
    run: nothere.cwl
    in: {}
    out: []
    badfield: 1
""")
    monkeypatch.chdir(tmp_path)
    shown = [str(d) for d in check("plus+dir/wf one.cwl").diagnostics]
    assert [d.split(": ")[0] for d in shown] == ["plus+dir/wf one.cwl:7:5", "plus+dir/wf one.cwl:10:5"]
    assert Path(wf).exists()


def test_duplicate_step_ids_in_list_form(tmp_path: Path) -> None:
    wf = _doc(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs: []
outputs: []
steps:
  - {id: a, run: {class: ExpressionTool, inputs: [], outputs: [], expression: "$({})"}, in: [], out: []}
  - {id: a, run: {class: ExpressionTool, inputs: [], outputs: [], expression: "$({})"}, in: [], out: []}
""")
    assert [d.message for d in check(wf).diagnostics] == ["Duplicate field 'a': another step has this id"]
