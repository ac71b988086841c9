"""Tests for executor.kinds.cwl: prepare resolves upstream outputs and expands steps; finish collects.

The prepared command is run with bash, as the pilot would, so these exercise real processes and files.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from cwlpilot.executor.kinds import StageContext
from cwlpilot.executor.kinds.cwl import CwlExpression, CwlGather, CwlTool
from cwlpilot.executor.plan import Stage

ECHO = {
    "baseCommand": ["echo"],
    "arguments": [],
    "inputs": {"word": {"type": "string", "inputBinding": {"position": 1}}},
    "stdout": "o.txt",
}
OUTPUTS = {"line": {"type": "string", "glob": ["o.txt"], "loadContents": True, "outputEval": "$(self[0].contents)"}}


def _stage(name: str, kind: str, data: dict, when: dict | None = None) -> Stage:
    extra = {"data": data, **({"when": when} if when else {})}
    return Stage(name=name, cmd="echo ...", kind=kind, cwd=name, extra=json.dumps(extra, sort_keys=True))


def _upstream(workdir: Path, name: str, outputs: dict) -> None:
    meta = workdir / name / ".cwlpilot"
    meta.mkdir(parents=True)
    (meta / "outputs.json").write_text(json.dumps(outputs))


def _run(kind: CwlTool | CwlExpression, stage: Stage, workdir: Path) -> dict:
    ctx = StageContext(workdir, workdir / stage.cwd, 1)
    ctx.cwd.mkdir(parents=True, exist_ok=True)
    prepared = kind.prepare(stage, ctx)
    subprocess.run(["/bin/bash", "-c", prepared.cmd], cwd=ctx.cwd, check=True)
    assert kind.finish(stage, ctx) is None
    return json.loads((ctx.cwd / ".cwlpilot" / "outputs.json").read_text())


def test_scatter_over_an_upstream_array_runs_every_instance_and_gathers_in_order(tmp_path: Path) -> None:
    _upstream(tmp_path, "make", {"words": ["x", "y", "z"]})
    data = {
        "command": ECHO,
        "outputs": OUTPUTS,
        "step": {"in": {"word": {"$ref": "make/words"}}, "scatter": ["word"], "declared": ["word"]},
    }
    assert _run(CwlTool(), _stage("show", "cwl_tool", data), tmp_path) == {"line": ["x\n", "y\n", "z\n"]}
    assert (tmp_path / "show" / "out-1" / "o.txt").read_text() == "y\n"


def test_a_false_guard_skips_the_command_and_writes_null_outputs(tmp_path: Path) -> None:
    _upstream(tmp_path, "flag", {"on": False})
    when = {"guards": [{"expression": "$(inputs.on)", "inputs": {"on": {"$ref": "flag/on"}}, "js": None}]}
    data = {"command": ECHO, "outputs": OUTPUTS, "inputs": {"word": "hi"}}
    stage = _stage("maybe", "cwl_tool", data, when)
    ctx = StageContext(tmp_path, tmp_path / "maybe", 1)
    ctx.cwd.mkdir()
    assert CwlTool().prepare(stage, ctx).cmd == "true"
    assert CwlTool().finish(stage, ctx) is None
    assert json.loads((ctx.cwd / ".cwlpilot" / "outputs.json").read_text()) == {"line": None}


def test_success_codes_count_as_success_and_runtime_exit_code_is_seen(tmp_path: Path) -> None:
    data = {
        "command": {"baseCommand": ["bash", "-c", "exit 7"], "arguments": [], "inputs": {}},
        "outputs": {"code": {"type": "int", "glob": [], "outputEval": "$(runtime.exitCode)"}},
        "codes": {"success": [7], "temporaryFail": [], "permanentFail": []},
        "inputs": {},
    }
    assert _run(CwlTool(), _stage("code", "cwl_tool", data), tmp_path) == {"code": 7}


def test_an_expression_tool_is_evaluated_in_process_with_javascript(tmp_path: Path) -> None:
    _upstream(tmp_path, "a", {"n": 4})
    data = {
        "expression": "${ return {'double': inputs.n * 2}; }",
        "outputs": {"double": {"type": "int"}},
        "inputs": {"n": {"$ref": "a/n"}},
        "js": [],
    }
    assert _run(CwlExpression(), _stage("twice", "cwl_expression", data), tmp_path) == {"double": 8}


def test_a_scatter_with_dependents_becomes_instance_stages_and_a_gather(tmp_path: Path) -> None:
    _upstream(tmp_path, "make", {"words": ["x", "y"]})
    data = {
        "command": ECHO,
        "outputs": OUTPUTS,
        "dependents": ["after"],
        "step": {"in": {"word": {"$ref": "make/words"}}, "scatter": ["word"], "declared": ["word"]},
    }
    stage = _stage("show", "cwl_tool", data)
    ctx = StageContext(tmp_path, tmp_path / "show", 1)
    ctx.cwd.mkdir()
    kind = CwlTool()
    assert kind.prepare(stage, ctx).cmd == "true"
    assert kind.finish(stage, ctx) is None
    expansion = kind.expand(stage, ctx)
    assert expansion is not None
    names = [s["name"] for s in expansion.stages]
    assert names == ["show[0]", "show[1]", "show.gather"]
    assert expansion.needs == (("after", "show.gather"),)
    assert expansion.stages[0]["data"]["inputs"] == {"word": "x"}
    for spec in expansion.stages[:2]:  # run the instances as the pilot would, then the gather
        instance = Stage(
            name=spec["name"],
            cmd=spec["cmd"],
            kind="cwl_tool",
            cwd=spec["cwd"],
            extra=json.dumps({"data": spec["data"]}),
        )
        _run(CwlTool(), instance, tmp_path)
    gather = expansion.stages[2]
    gather_stage = Stage(
        name=gather["name"],
        cmd="true",
        kind="cwl_gather",
        cwd=gather["cwd"],
        extra=json.dumps({"data": gather["data"]}),
    )
    CwlGather().prepare(gather_stage, StageContext(tmp_path, tmp_path / "show", 1))
    assert json.loads((tmp_path / "show" / ".cwlpilot" / "outputs.json").read_text()) == {"line": ["x\n", "y\n"]}
