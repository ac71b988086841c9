"""Tests for compiler.loader_convert: every input binding shape cwl-utils returns, for v1.0, v1.1 and v1.2.

cwl-utils 0.45 gives a v1.0 ExpressionTool's or Workflow's input a `CommandLineBinding` (position, prefix,
... set to None), a v1.1/v1.2 one an `InputBinding` whose only attribute is `loadContents` (reading
`position` raised AttributeError: issue 12's traceback), and a CommandLineTool's input a
`CommandLineBinding` in every version. Record fields have `format` from v1.1 on.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from cwlpilot.compiler import ir
from cwlpilot.compiler.loader import load_strict

VERSIONS = ["v1.0", "v1.1", "v1.2"]


def _doc(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.mark.parametrize("version", VERSIONS)
def test_an_expression_tool_input_binding_with_load_contents(tmp_path: Path, version: str) -> None:
    et = load_strict(_doc(tmp_path, "et.cwl", f"""\
        cwlVersion: {version}
        class: ExpressionTool
        requirements: {{InlineJavascriptRequirement: {{}}}}
        inputs:
          infile: {{type: File, inputBinding: {{loadContents: true}}}}
        outputs: {{n: int}}
        expression: "$({{'n': inputs.infile.contents.length}})"
        """))
    param = et.input("infile")
    assert param.binding == ir.InputBinding(load_contents=True)
    assert param.load_contents  # what the stage reads before evaluating


@pytest.mark.parametrize("version", VERSIONS)
def test_a_workflow_input_binding_with_load_contents(tmp_path: Path, version: str) -> None:
    _doc(tmp_path, "et.cwl", f"""\
        cwlVersion: {version}
        class: ExpressionTool
        inputs: {{infile: File}}
        outputs: {{n: int}}
        expression: "$({{'n': 1}})"
        """)
    wf = load_strict(_doc(tmp_path, "wf.cwl", f"""\
        cwlVersion: {version}
        class: Workflow
        inputs:
          infile: {{type: File, inputBinding: {{loadContents: true}}}}
        outputs: {{n: {{type: int, outputSource: s/n}}}}
        steps:
          s: {{run: et.cwl, in: {{infile: infile}}, out: [n]}}
        """))
    assert wf.input("infile").binding == ir.InputBinding(load_contents=True) and wf.input("infile").load_contents


def test_v1_0_expression_tool_binding_fields_other_than_load_contents_are_ignored(tmp_path: Path) -> None:
    # cwltool's update.v1_0to1_1.fix_inputBinding drops them (with a warning); NCI-GDC's json_file_to_string
    et = load_strict(_doc(tmp_path, "et.cwl", """\
        cwlVersion: v1.0
        class: ExpressionTool
        inputs:
          - id: input
            type: File
            inputBinding: {loadContents: true, valueFrom: $(null), position: 3}
        outputs: [{id: output, type: string}]
        expression: "${ return {'output': inputs.input.contents}; }"
        """))
    assert et.input("input").binding == ir.InputBinding(load_contents=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_command_line_tool_binding_keeps_every_field(tmp_path: Path, version: str) -> None:
    tool = load_strict(_doc(tmp_path, "t.cwl", f"""\
        cwlVersion: {version}
        class: CommandLineTool
        baseCommand: echo
        inputs:
          infile: {{type: File, inputBinding: {{loadContents: true, position: 2, prefix: "-f", separate: false}}}}
          words:
            type: {{type: array, items: string, inputBinding: {{prefix: "-w"}}}}
            inputBinding: {{itemSeparator: ",", shellQuote: false}}
        outputs: []
        """))
    assert tool.input("infile").binding == ir.InputBinding(position=2, prefix="-f", separate=False, load_contents=True)
    words = tool.input("words")
    assert words.binding == ir.InputBinding(item_separator=",", shell_quote=False)
    assert isinstance(words.type, ir.ArrayType) and words.type.binding == ir.InputBinding(prefix="-w")


@pytest.mark.parametrize("version", ["v1.1", "v1.2"])
def test_record_fields_keep_their_format(tmp_path: Path, version: str) -> None:
    tool = load_strict(_doc(tmp_path, "t.cwl", f"""\
        cwlVersion: {version}
        class: CommandLineTool
        baseCommand: "true"
        inputs:
          rec:
            type:
              type: record
              fields:
                f1: {{type: File, format: "http://example.com/f1", inputBinding: {{position: 1}}}}
                f2: {{type: "File[]", format: "http://example.com/f2"}}
        outputs: []
        """))
    rec = tool.input("rec").type
    assert isinstance(rec, ir.RecordType)
    f1, f2 = rec.fields
    assert f1.bindings is not None and f1.bindings.format == "http://example.com/f1"
    assert f1.bindings.binding == ir.InputBinding(position=1)
    assert f2.bindings is not None and f2.bindings.format == "http://example.com/f2" and f2.bindings.binding is None


def test_schemas_are_resolved_against_the_document(tmp_path: Path) -> None:
    tool = load_strict(_doc(tmp_path, "t.cwl", """\
        cwlVersion: v1.2
        class: CommandLineTool
        $namespaces: {edam: "http://edamontology.org/"}
        $schemas: [onto.ttl]
        baseCommand: "true"
        inputs:
          f: {type: File, format: "edam:format_2330"}
        outputs: []
        """))
    assert tool.schemas == ((tmp_path / "onto.ttl").as_uri(),)
    assert tool.input("f").format == "http://edamontology.org/format_2330"
