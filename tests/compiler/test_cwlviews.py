"""compiler.cwlviews: --make-template, --print-dot and --print-targets as cwltool 3.3 shows them. The expected
texts are cwltool's own output for the same documents (its full URIs for types and enum symbols shortened
to the names the documents use); with a cwltool at hand (tests/e2e/helpers.reference_cwltool) each is also
compared with what that cwltool prints now."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from cwlpilot.compiler import ir
from cwlpilot.compiler.cwlviews import make_template, print_dot, print_targets
from cwlpilot.compiler.loader import load_strict

from ..e2e.helpers import reference_cwltool

ECHO = """\
cwlVersion: v1.2
class: CommandLineTool
label: say it
baseCommand: echo
inputs: {msg: {type: string, inputBinding: {}}}
outputs: {out: stdout}
"""
WF2 = """\
cwlVersion: v1.2
class: Workflow
inputs:
  msg: string
  n: {type: int, default: 2}
  inf: File
  opt: "string?"
  rec:
    type: {type: record, name: R, fields: [{name: a, type: int}, {name: f, type: File}]}
  arr: "string[]"
  mode: {type: {type: enum, symbols: [fast, slow]}}
outputs:
  o1: {type: File, outputSource: s1/out}
  o2: {type: File, outputSource: s2/out}
steps:
  s1:
    run: echo.cwl
    in: {msg: msg}
    out: [out]
  s2:
    run: echo.cwl
    in: {msg: {source: msg, valueFrom: "x"}}
    out: [out]
requirements: {StepInputExpressionRequirement: {}}
"""
WF2_TEMPLATE = """\
rec:  # "R" record type.
    f:  # type 'File'
        class: File
        path: a/file/path
    a: 0  # type 'int'
opt: a_string  # type 'string' (optional)
n: 2  # default value of type 'int'.
msg: a_string  # type 'string'
mode: valid_enum_value  # enum; valid values: "fast", "slow"
inf:  # type 'File'
    class: File
    path: a/file/path
arr:  # array of type 'string'
  - a_string
"""
TOOL = """\
cwlVersion: v1.2
class: ExpressionTool
requirements: {InlineJavascriptRequirement: {}}
inputs:
  - {id: message, type: string}
  - {id: m, type: "int?"}
  - {id: flag, type: boolean}
  - {id: defflag, type: boolean, default: true}
  - {id: nums, type: "int[]?"}
  - id: words
    type: "string[]"
    default:
      - x
      - y
  - {id: f, type: "File?"}
  - {id: d, type: "Directory?"}
  - {id: mode, type: {type: enum, symbols: [fast, slow]}, default: fast}
  - id: rec
    type: {type: record, fields: [{name: a, type: int}, {name: b, type: "string?"}]}
  - {id: anyv, type: "Any?"}
  - {id: union, type: ["null", int, string]}
outputs: {json: string}
expression: "$({json: ''})"
"""
# cwltool's order: the list-form inputs in reverse, each inserted at the top
TOOL_TEMPLATE = """\
union: 0  # one of type 'int', type 'string' (optional)
anyv: 'null'  # type 'Any' (optional)
rec:  # Anonymous record type.
    b: a_string  # type 'string' (optional)
    a: 0  # type 'int'
mode: fast  # enum; valid values: "fast", "slow"
d:  # type 'Directory' (optional)
    class: Directory
    path: a/directory/path
f:  # type 'File' (optional)
    class: File
    path: a/file/path
words:  # array of type 'string'
  - x
  - y
nums:  # array of type 'int' (optional)
  - 0
defflag: true  # default value of type 'boolean'.
flag: false  # type 'boolean'
m: 0  # type 'int' (optional)
message: a_string  # type 'string'
"""
SUB = """\
cwlVersion: v1.2
class: Workflow
requirements: {SubworkflowFeatureRequirement: {}}
inputs: {names: string}
outputs:
  said: {type: File, outputSource: inner/o}
  echoed: {type: string, outputSource: names}
steps:
  say: {run: echo.cwl, in: {msg: names}, out: [out]}
  inner:
    run:
      class: Workflow
      inputs: {f: File, g: File}
      outputs: {o: {type: File, outputSource: f}}
      steps: []
    in: {f: say/out, g: say/out}
    out: [o]
"""
SUB_DOT = """\
digraph G {
bgcolor="#eeeeee";
clusterrank=local;
labelloc=bottom;
labeljust=right;
"say" [fillcolor=lightgoldenrodyellow, style=filled, label="say it", shape=record];
"inner" [fillcolor="#F3CEA1", style=filled, label=inner, shape=record];
"say" -> "inner";
"say" [fillcolor=lightgoldenrodyellow, style=filled, label="say it", shape=record];
"inner" [fillcolor="#F3CEA1", style=filled, label=inner, shape=record];
"say" -> "inner";
subgraph cluster_inputs {
rank=same;
style=dashed;
label="Workflow Inputs";
"names" [fillcolor="#94DDF4", style=filled, label=names, shape=record];
}
"names" -> "say";
subgraph cluster_outputs {
rank=same;
style=dashed;
label="Workflow Outputs";
labelloc=b;
"said" [fillcolor="#94DDF4", style=filled, label=said, shape=record];
}
"inner" -> "said";
}
"""


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, text in (("echo.cwl", ECHO), ("wf2.cwl", WF2), ("tool.cwl", TOOL), ("sub.cwl", SUB)):
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _load(path: Path) -> ir.Process:
    return load_strict(str(path))


def _cwltool(*args: str) -> str | None:
    """What the reference cwltool prints (its URIs shortened as cwlpilot writes names), or None without it."""
    cwltool = reference_cwltool()
    if cwltool is None:
        return None
    proc = subprocess.run([cwltool, *args], capture_output=True, text=True, timeout=120, check=True)
    return re.sub(r'"file://[^"#]*#(?:[^"/]+/)*([^"/]+)"', r'"\1"', proc.stdout)


@pytest.mark.parametrize(("name", "expected"), [("wf2.cwl", WF2_TEMPLATE), ("tool.cwl", TOOL_TEMPLATE)])
def test_make_template_writes_what_cwltool_writes(docs: Path, name: str, expected: str) -> None:
    assert make_template(_load(docs / name)) == expected
    live = _cwltool("--make-template", name)
    if live is not None:
        assert make_template(_load(docs / name)) == live


def test_print_dot_draws_what_cwltool_draws(docs: Path) -> None:
    # one line per connection (two ports fed by `say` give two edges), sub-workflows in cwltool's colour,
    # a tool's label as its step's label; an output fed by an input is not drawn (cwltool's query needs a step)
    assert print_dot(_load(docs / "sub.cwl")) == SUB_DOT
    live = _cwltool("--print-dot", "sub.cwl")
    if live is not None:  # cwltool's rows come in the order of its RDF query results: compare them as sets
        assert sorted(print_dot(_load(docs / "sub.cwl")).splitlines()) == sorted(live.splitlines())
    with pytest.raises(ValueError, match="only Workflows can be visualized"):
        print_dot(_load(docs / "echo.cwl"))


def test_print_targets_names_every_target_as_cwltool(docs: Path) -> None:
    lines = print_targets(_load(docs / "wf2.cwl"))
    names = [text.strip() for heading, text in lines if not heading]
    assert names == ["o1", "o2", "arr", "inf", "mode", "msg", "n", "opt", "rec",  # map form: sorted, as cwltool
                     "s1", "s1/out", "s1/msg", "s2", "s2/out", "s2/msg"]
    assert [text for heading, text in lines if heading][:3] == [" Output targets:", " Input targets:",
                                                                " steps targets:"]
    live = _cwltool("--print-targets", "wf2.cwl")
    if live is not None:
        assert [line.strip() for line in live.splitlines()] == names
