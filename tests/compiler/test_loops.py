"""Tests for compiler.loops: `cwltool:Loop` read into the IR, and cwltool's rules on where it may be."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cwlpilot.compiler import ir
from cwlpilot.compiler.check import check

BODY = """\
    run:
      class: ExpressionTool
      inputs: {i1: int, k: {type: int, default: 1}}
      outputs: {o1: int}
      expression: "$({'o1': inputs.i1 + inputs.k})"
    in: {i1: i1}
    out: [o1]
"""


def _wf(tmp_path: Path, step_extra: str, version: str = "v1.2", where: str = "requirements",
        out_type: str = "'int[]'") -> str:
    text = f"""\
cwlVersion: {version}
class: Workflow
$namespaces: {{cwltool: "http://commonwl.org/cwltool#"}}
requirements: {{InlineJavascriptRequirement: {{}}, StepInputExpressionRequirement: {{}}}}
inputs: {{i1: int}}
outputs: {{o1: {{type: {out_type}, outputSource: s/o1}}}}
steps:
  s:
{textwrap.indent(BODY, '')}{step_extra}"""
    text = text.replace("    requirements:\n      cwltool:Loop", f"    {where}:\n      cwltool:Loop")
    path = tmp_path / "wf.cwl"
    path.write_text(text)
    return str(path)


LOOP = """\
    requirements:
      cwltool:Loop:
        loopWhen: $(inputs.i1 < 10)
        loop:
          i1: o1
          k: {valueFrom: $(inputs.k + 1), default: 2}
        outputMethod: all
"""


def test_the_loop_is_read_in_map_form(tmp_path: Path) -> None:
    result = check(_wf(tmp_path, LOOP))
    assert result.diagnostics == ()
    assert isinstance(result.process, ir.Workflow)
    loop = result.process.steps[0].loop
    assert loop is not None and loop.when == "$(inputs.i1 < 10)" and loop.output_method == "all"
    i1, k = loop.inputs
    assert (i1.id, i1.sources, i1.value_from) == ("i1", ("o1",), None)
    assert (k.id, k.sources, k.value_from, k.default, k.has_default) == ("k", (), "$(inputs.k + 1)", 2, True)


def test_the_loop_in_list_form_with_several_sources(tmp_path: Path) -> None:
    text = LOOP.replace("          i1: o1\n          k: {valueFrom: $(inputs.k + 1), default: 2}\n",
                        "          - {id: i1, loopSource: [o1], pickValue: first_non_null}\n")
    loop = check(_wf(tmp_path, text)).process.steps[0].loop  # type: ignore[union-attr]
    assert loop is not None and loop.inputs[0].sources == ("o1",) and loop.inputs[0].pick_value == "first_non_null"
    assert loop.output_method == "all"


def _messages(path: str) -> list[str]:
    return [d.message for d in check(path).diagnostics]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("    scatter: i1\n", "The `loop` clause is not compatible with the `scatter` directive."),
        ("    when: $(true)\n", "The `cwltool:Loop` clause is not compatible with the `when` directive."),
    ],
)
def test_cwltool_refuses_a_loop_with_scatter_or_when(tmp_path: Path, extra: str, message: str) -> None:
    assert message in _messages(_wf(tmp_path, LOOP + extra))


def test_a_loop_without_loop_when(tmp_path: Path) -> None:
    path = _wf(tmp_path, LOOP.replace("        loopWhen: $(inputs.i1 < 10)\n", ""), out_type="int")
    assert _messages(path) == [
        "missing required field 'loopWhen'"
    ]


@pytest.mark.parametrize("version", ["v1.0", "v1.1"])
def test_a_loop_needs_v1_2(tmp_path: Path, version: str) -> None:
    assert f"cwltool:Loop needs cwlVersion v1.2 (this document is {version})" in _messages(
        _wf(tmp_path, LOOP, version))


def test_a_loop_in_hints(tmp_path: Path) -> None:
    # cwltool means to say this (update.py) but crashes with "unhashable type: 'CommentedMap'"
    path = _wf(tmp_path, LOOP, where="hints", out_type="int")
    assert _messages(path) == ["cwltool:Loop is valid only under requirements"]


def test_a_loop_on_a_process_is_an_unsupported_requirement(tmp_path: Path) -> None:
    path = tmp_path / "t.cwl"
    path.write_text(textwrap.dedent("""\
        cwlVersion: v1.2
        class: ExpressionTool
        $namespaces: {cwltool: "http://commonwl.org/cwltool#"}
        requirements:
          cwltool:Loop: {loopWhen: $(true), loop: {}, outputMethod: last}
        inputs: []
        outputs: []
        expression: "$({})"
        """))
    assert _messages(str(path)) == ["Unsupported requirement http://commonwl.org/cwltool#Loop."]


def test_a_loop_source_must_be_an_output_of_the_step(tmp_path: Path) -> None:
    assert _messages(_wf(tmp_path, LOOP.replace("i1: o1", "i1: nosuch"))) == [
        "loop 'i1': loopSource 'nosuch' is not an output of the step"
    ]


def test_an_all_output_is_an_array_for_its_readers(tmp_path: Path) -> None:
    # o1 is `int`; outputMethod all gives every iteration's, an array (cwltool's checker wraps the type)
    assert _messages(_wf(tmp_path, LOOP)) == []
    assert _messages(_wf(tmp_path, LOOP, out_type="int")) == [
        "output 'o1': type mismatch: 's/o1' is int?[], the output is int"
    ]
    last = LOOP.replace("outputMethod: all", "outputMethod: last")
    assert _messages(_wf(tmp_path, last, out_type="int")) == []  # int? into int: a warning for cwltool
    assert _messages(_wf(tmp_path, last)) == ["output 'o1': type mismatch: 's/o1' is int?, the output is int[]"]
