"""Large plans come out whole and in order: a 2,000-way scatter and a 300-step workflow (not timed;
bench/bench_compiler.py measures speed)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from cwlpilot.check_cmd import main

ECHO = """cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  msg:
    type: string
    inputBinding: {position: 1}
outputs:
  out:
    type: stdout
stdout: out.txt
"""
SCATTER = """cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  msgs: string[]
outputs:
  outs:
    type: File[]
    outputSource: say/out
steps:
  say:
    run: echo.cwl
    scatter: msg
    in:
      msg: msgs
    out: [out]
"""
CAT = ECHO.replace("baseCommand: echo", "baseCommand: cat").replace("msg:\n    type: string", "prev:\n    type: File")


def compile_text(workflow: Path, inputs: Path) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(["compile", str(workflow), str(inputs)], out, err) == 0, err.getvalue()
    return out.getvalue()


def test_a_2000_way_scatter_gives_one_stage_per_item_in_order(tmp_path: Path) -> None:
    (tmp_path / "echo.cwl").write_text(ECHO)
    (tmp_path / "wf.cwl").write_text(SCATTER)
    (tmp_path / "job.yml").write_text("msgs:\n" + "".join(f"- item{i}\n" for i in range(2000)))
    text = compile_text(tmp_path / "wf.cwl", tmp_path / "job.yml")
    plan = json.loads(text)
    stages = plan["stages"]
    assert len(stages) == 2000
    assert [s["name"] for s in stages] == [f"say[{i}]" for i in range(2000)]
    assert all(s["needs"] == [] and s["kind"] == "cwl_tool" for s in stages)
    assert stages[1234]["cmd"].startswith("echo item1234")
    assert plan["outputs"]["outs"]["value"][1999] == {"$ref": "say[1999]/out"}
    assert compile_text(tmp_path / "wf.cwl", tmp_path / "job.yml") == text  # byte-identical


def _steps_workflow(steps: int, parent: Callable[[int], int]) -> str:
    lines = [
        "cwlVersion: v1.2",
        "class: Workflow",
        "inputs:",
        "  seed: File",
        "outputs:",
        "  last:",
        "    type: File",
        f"    outputSource: s{steps - 1}/out",
        "steps:",
    ]
    for i in reversed(range(steps)):  # written last step first: the plan must still be in dependency order
        source = "seed" if i == 0 else f"s{parent(i)}/out"
        lines += [f"  s{i}:", "    run: cat.cwl", "    in:", f"      prev: {source}", "    out: [out]"]
    return "\n".join(lines) + "\n"


def _previous(i: int) -> int:
    return i - 1


def _tree_parent(i: int) -> int:
    return (i - 1) // 2


@pytest.mark.parametrize("parent", [_previous, _tree_parent], ids=["linear", "branching"])
def test_a_300_step_workflow_is_in_dependency_order(tmp_path: Path, parent: Callable[[int], int]) -> None:
    """Regression: ordering the steps rescanned every pending step each round (cubic in a chain)."""
    (tmp_path / "cat.cwl").write_text(CAT)
    (tmp_path / "seed.txt").write_text("seed\n")
    (tmp_path / "job.yml").write_text("seed:\n  class: File\n  path: seed.txt\n")
    (tmp_path / "wf.cwl").write_text(_steps_workflow(300, parent))
    stages = json.loads(compile_text(tmp_path / "wf.cwl", tmp_path / "job.yml"))["stages"]
    depth = {0: 0}
    for i in range(1, 300):
        depth[i] = depth[parent(i)] + 1
    # steps come round by round (a round: every step whose needs came earlier), in document order within one
    expected = sorted(range(300), key=lambda i: (depth[i], -i))
    assert [s["name"] for s in stages] == [f"s{i}" for i in expected]
    assert all(s["needs"] == ([f"s{parent(i)}"] if i else []) for i, s in zip(expected, stages, strict=True))
