"""compiler.subgraph: cwltool's --target (`subgraph.get_subgraph`): upstream of an output, downstream of a step
or an input, step outputs outside the selection rewired to new inputs; and `check(..., targets=...)` checking
the job against the selected part only."""

from __future__ import annotations

from pathlib import Path

import pytest

from cwlpilot.compiler import ir
from cwlpilot.compiler.check import check
from cwlpilot.compiler.loader import load_strict
from cwlpilot.compiler.subgraph import TargetError, extract

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs: {msg: {type: string, inputBinding: {}}}
outputs: {out: stdout}
"""
CHAIN = """\
cwlVersion: v1.2
class: Workflow
inputs: {a: string, b: string, unused: File}
outputs:
  first: {type: File, outputSource: s1/out}
  last: {type: File, outputSource: s3/out}
  side: {type: File, outputSource: other/out}
steps:
  s1: {run: tool.cwl, in: {msg: a}, out: [out]}
  s2: {run: cat.cwl, in: {f: s1/out}, out: [out]}
  s3: {run: cat.cwl, in: {f: s2/out}, out: [out]}
  other: {run: tool.cwl, in: {msg: b}, out: [out]}
"""
CAT = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs: {f: {type: File, inputBinding: {}}}
outputs: {out: stdout}
"""


@pytest.fixture
def chain(tmp_path: Path) -> ir.Workflow:
    (tmp_path / "tool.cwl").write_text(TOOL)
    (tmp_path / "cat.cwl").write_text(CAT)
    (tmp_path / "wf.cwl").write_text(CHAIN)
    process = load_strict(str(tmp_path / "wf.cwl"))
    assert isinstance(process, ir.Workflow)
    return process


def _shape(wf: ir.Workflow) -> tuple[list[str], list[str], list[str]]:
    return [p.id for p in wf.inputs], [s.id for s in wf.steps], [o.id for o in wf.outputs]


def test_an_output_target_keeps_everything_upstream_of_it(chain: ir.Workflow) -> None:
    assert _shape(extract(chain, ["last"])) == (["a"], ["s1", "s2", "s3"], ["last"])
    assert _shape(extract(chain, ["first", "side"])) == (["a", "b"], ["s1", "other"], ["first", "side"])


def test_a_step_target_keeps_what_follows_and_reads_what_it_needs_as_a_new_input(chain: ir.Workflow) -> None:
    sub = extract(chain, ["s2"])
    assert _shape(sub) == (["s1_out"], ["s2", "s3"], ["last"])
    assert sub.inputs[0].type == "File"  # the type of the step input it feeds (cat.cwl's `f`)
    s2 = sub.step("s2")
    assert s2 is not None and s2.inputs[0].sources == ("s1_out",)


def test_an_input_target_keeps_what_it_feeds(chain: ir.Workflow) -> None:
    assert _shape(extract(chain, ["b"])) == (["b"], ["other"], ["side"])


def test_a_rewired_scattered_input_is_an_array(tmp_path: Path) -> None:
    (tmp_path / "tool.cwl").write_text(TOOL)
    (tmp_path / "wf.cwl").write_text("""\
cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {words: "string[]"}
outputs: {o: {type: "File[]", outputSource: say/out}}
steps:
  make: {run: {class: ExpressionTool, inputs: {w: "string[]"}, outputs: {o: "string[]"},
                expression: "$({o: inputs.w})"}, in: {w: words}, out: [o]}
  say: {run: tool.cwl, scatter: msg, in: {msg: make/o}, out: [out]}
""")
    sub = extract(load_strict(str(tmp_path / "wf.cwl")), ["say"])
    assert [(p.id, p.type) for p in sub.inputs] == [("make_o", ir.ArrayType("string"))]


def test_unknown_targets_and_tools_are_refused(chain: ir.Workflow, tmp_path: Path) -> None:
    with pytest.raises(TargetError, match=r"--target nosuch: no workflow output, step or input of that name "
                                          r"\(known: a, b, first, last, other, s1, s2, s3, side, unused\)"):
        extract(chain, ["nosuch"])
    with pytest.raises(TargetError, match="can only select steps of a workflow"):
        extract(load_strict(str(tmp_path / "tool.cwl")), ["out"])
    with pytest.raises(TargetError):  # a step output is no target in cwltool either
        extract(chain, ["s1/out"])


def test_check_with_targets_checks_the_job_against_the_selected_part(chain: ir.Workflow, tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text("a: hello\n")  # neither b nor the File `unused`: the whole workflow needs both
    assert not check(str(tmp_path / "wf.cwl"), str(job)).ok
    result = check(str(tmp_path / "wf.cwl"), str(job), targets=("first",))
    assert result.ok, result.diagnostics
    assert result.process is not None and [s.id for s in result.process.steps] == ["s1"]
    bad = check(str(tmp_path / "wf.cwl"), str(job), targets=("nosuch",))
    assert [d.message.split(":")[0] for d in bad.diagnostics] == ["--target nosuch"]
