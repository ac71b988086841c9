"""Tests for compiler.lint_expr: what is JavaScript (as cwl-utils' expression.evaluator decides) and which
inputs an expression reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from cwlpilot.compiler.check import check
from cwlpilot.compiler.lint_expr import expressions, input_names, is_javascript


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("plain", []),
        ("$(inputs.x)", ["$(inputs.x)"]),
        ("a $(inputs.x) b ${ return 1; } c", ["$(inputs.x)", "${ return 1; }"]),
        ("\\$(inputs.x) is written as is", []),  # an escaped `$(`, as cwl-utils' scanner reads it
        ("$(inputs.x", []),  # unfinished: cwl-utils refuses it where it is evaluated
        ("$(inputs['a(b)'])", ["$(inputs['a(b)'])"]),
    ],
)
def test_expressions_are_found_as_cwl_utils_scans_them(text: str, found: list[str]) -> None:
    assert expressions(text) == found


@pytest.mark.parametrize(
    ("expression", "javascript"),
    [
        ("$(inputs.x)", False),
        ("$(inputs.x.basename)", False),
        ("$(inputs['x'].path)", False),
        ("$(self[0])", False),
        ("$(runtime.cores)", False),
        ("$(null)", False),
        ("$(inputs.x + 1)", True),
        ("$(true)", True),
        ("$(inputs.x.length > 2)", True),
        ("${ return inputs.x; }", True),
    ],
)
def test_javascript_or_a_parameter_reference(expression: str, javascript: bool) -> None:
    assert is_javascript(expression) is javascript


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("$(inputs.x)", ["x"]),
        ("$(inputs['a b'])", ["a b"]),
        ("${ return inputs.a + inputs[\"b\"] + other.inputs.c; }", ["a", "b"]),
        ("$(inputs.hasOwnProperty('q'))", []),
        ("$(self.inputs)", []),
    ],
)
def test_the_inputs_an_expression_reads(expression: str, names: list[str]) -> None:
    assert input_names(expression) == names


def rules(tmp_path: Path, name: str, text: str) -> list[tuple[int, int, str, str]]:
    path = tmp_path / name
    path.write_text(text)
    return [(d.pos.line, d.pos.col, d.severity, d.rule or "") for d in check(str(path), lint=True).diagnostics]


TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
requirements: {ResourceRequirement: {coresMin: 1}}
arguments:
  - valueFrom: $(inputs.n + 1)
inputs:
  n: int
outputs: []
"""


def test_javascript_in_a_tool_without_the_requirement_is_an_error(tmp_path: Path) -> None:
    assert rules(tmp_path, "t.cwl", TOOL) == [(6, 5, "error", "cwl-javascript-requirement")]
    with_req = TOOL.replace("{ResourceRequirement: {coresMin: 1}}",
                            "{ResourceRequirement: {coresMin: 1}, InlineJavascriptRequirement: {}}")
    assert rules(tmp_path, "ok.cwl", with_req) == []
    assert rules(tmp_path, "ref.cwl", TOOL.replace("$(inputs.n + 1)", "$(inputs.n)")) == []


def test_an_expression_tool_without_the_requirement(tmp_path: Path) -> None:
    text = "cwlVersion: v1.2\nclass: ExpressionTool\ninputs: {n: int}\noutputs: {m: int}\n" \
           "expression: '${ return {\"m\": inputs.n}; }'\n"
    assert rules(tmp_path, "e.cwl", text) == [(1, 1, "error", "cwl-javascript-requirement")]


def test_a_reference_to_an_input_the_tool_lacks(tmp_path: Path) -> None:
    text = TOOL.replace("$(inputs.n + 1)", "$(inputs.m)")
    assert rules(tmp_path, "t.cwl", text) == [(6, 5, "warning", "cwl-undefined-input")]
    (diag,) = check(str(tmp_path / "t.cwl"), lint=True).diagnostics
    assert diag.message == "an argument reads inputs.m, but the tool has no input 'm' (its inputs: n)"


WF = """\
cwlVersion: v1.2
class: Workflow
requirements: {StepInputExpressionRequirement: {}}
inputs: {n: int}
outputs:
  o: {type: File?, outputSource: s/out}
steps:
  s:
    run: echo.cwl
    when: $(inputs.flag)
    in:
      message: {source: n, valueFrom: $(self + 1)}
    out: [out]
"""
ECHO = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
requirements: {ResourceRequirement: {coresMin: 1}}
inputs: {message: {type: Any, inputBinding: {position: 1}}}
stdout: out.txt
outputs: {out: stdout}
"""


def test_when_and_value_from_of_a_step(tmp_path: Path) -> None:
    (tmp_path / "echo.cwl").write_text(ECHO)
    # `when` reads the step's `in`, which has no flag; valueFrom is JavaScript, and the workflow has no
    # InlineJavascriptRequirement
    assert rules(tmp_path, "wf.cwl", WF) == [
        (8, 3, "warning", "cwl-undefined-input"),
        (12, 7, "error", "cwl-javascript-requirement"),
    ]
    fixed = WF.replace("{StepInputExpressionRequirement: {}}",
                       "{StepInputExpressionRequirement: {}, InlineJavascriptRequirement: {}}")
    fixed = fixed.replace("      message:", "      flag: {default: true}\n      message:")
    assert rules(tmp_path, "fixed.cwl", fixed) == []


def test_a_tool_inherits_the_requirement_from_the_workflow_that_runs_it(tmp_path: Path) -> None:
    (tmp_path / "plus.cwl").write_text(TOOL)
    wf = """\
cwlVersion: v1.2
class: Workflow
requirements: {InlineJavascriptRequirement: {}}
inputs: {n: int}
outputs: []
steps:
  s:
    run: plus.cwl
    in: {n: n}
    out: []
"""
    assert rules(tmp_path, "wf.cwl", wf) == []
    assert rules(tmp_path, "bare.cwl", wf.replace("requirements: {InlineJavascriptRequirement: {}}\n", "")) == [
        (6, 5, "error", "cwl-javascript-requirement"),  # in plus.cwl, reached without the requirement
    ]
