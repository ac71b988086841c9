"""Tests for executor.kinds.cwl_dynamic: the stages a sub-workflow instance or a loop iteration adds, and
how a loop is fed back (cwltool 3.3's `WorkflowJobLoopStep`), on real files in a work directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cwlpilot.executor.kinds import KindError, StageContext
from cwlpilot.executor.kinds.cwl import CwlGather
from cwlpilot.executor.kinds.cwl_dynamic import CwlLoop, CwlLoopNext, CwlSkipped, CwlSubworkflow
from cwlpilot.executor.plan import Stage

MARK = "L@"
BODY = [{"name": MARK, "cwd": MARK, "kind": "cwl_expression", "cmd": "", "needs": [f"{MARK}in"],
         "data": {"expression": "$({o: inputs.i + inputs.k})", "inputs": {"i": {"$ref": f"{MARK}in/i"},
                                                                         "k": {"$ref": f"{MARK}in/k"}}}}]


def _stage(name: str, kind: str, data: dict) -> Stage:
    return Stage(name=name, cmd="true", kind=kind, cwd=name, extra=json.dumps({"data": data}))


def _ctx(workdir: Path, stage: Stage) -> StageContext:
    ctx = StageContext(workdir, workdir / stage.cwd, 1)
    ctx.cwd.mkdir(parents=True, exist_ok=True)
    return ctx


def _outputs(workdir: Path, name: str) -> dict:
    return json.loads((workdir / name / ".cwlpilot" / "outputs.json").read_text())


def _write(workdir: Path, name: str, outputs: dict) -> None:
    meta = workdir / name / ".cwlpilot"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / "outputs.json").write_text(json.dumps(outputs))


def _loop_data(**loop: object) -> dict:
    return {
        "step": {"in": {"i": {"$ref": "up/i"}, "k": 2}, "declared": ["i", "k"]},
        "js": [], "jsFirst": [], "inIds": ["i", "k"], "marker": MARK, "templates": BODY,
        "outputs": {"o": {"$ref": f"{MARK}/o"}}, "ports": ["o"], "inputDefaults": {}, "dependents": ["after"],
        "loop": {"when": "$(inputs.i < 5)", "outputMethod": "all", "max": 10, "stepInputExpression": True,
                 "multipleInput": False, "entries": [{"id": "i", "sources": ["o"]}], **loop},
    }


def test_a_loop_whose_loop_when_is_false_at_once_is_skipped_with_empty_outputs(tmp_path: Path) -> None:
    _write(tmp_path, "up", {"i": 7})
    stage = _stage("L", "cwl_loop", _loop_data())
    prepared = CwlLoop().prepare(stage, _ctx(tmp_path, stage))
    assert prepared.skip == "its loopWhen is false before the first iteration"
    assert _outputs(tmp_path, "L") == {"o": []}


def test_the_first_iteration_and_its_junction(tmp_path: Path) -> None:
    _write(tmp_path, "up", {"i": 1})
    stage = _stage("L", "cwl_loop", _loop_data())
    ctx = _ctx(tmp_path, stage)
    CwlLoop().prepare(stage, ctx)
    added = CwlLoop().expand(stage, ctx)
    assert added is not None
    body, junction = added.stages
    assert (body["name"], body["needs"], body["data"]["inputs"]) == ("L#0", [], {"i": 1, "k": 2})
    assert (junction["name"], junction["kind"], junction["needs"]) == ("L#0#next", "cwl_loop_next", ["L#0"])
    assert junction["data"]["joborder"] == {"i": 1, "k": 2} and junction["data"]["current"] == {"o": {"$ref": "L#0/o"}}
    assert added.needs == (("after", "L#0#next"),)


def _next(tmp_path: Path, data: dict, n: int, joborder: dict, produced: dict, buffer: dict | None = None):
    _write(tmp_path, f"L#{n}", produced)
    data = {**data, "into": "L", "iteration": n, "joborder": joborder, "buffer": buffer or {},
            "current": {"o": {"$ref": f"L#{n}/o"}}}
    stage = _stage(f"L#{n}#next", "cwl_loop_next", data)
    ctx = _ctx(tmp_path, stage)
    CwlLoopNext().prepare(stage, ctx)
    return CwlLoopNext().expand(stage, ctx)


def test_a_junction_feeds_the_loop_back_and_adds_the_next_iteration(tmp_path: Path) -> None:
    added = _next(tmp_path, _loop_data(), 0, {"i": 1, "k": 2}, {"o": 3})
    assert added is not None
    body, junction = added.stages
    assert body["name"] == "L#1" and body["data"]["inputs"] == {"i": 3, "k": 2}
    assert junction["data"]["buffer"] == {"o": [3]} and junction["data"]["iteration"] == 1


def test_the_last_junction_writes_the_loop_outputs(tmp_path: Path) -> None:
    assert _next(tmp_path, _loop_data(), 1, {"i": 3, "k": 2}, {"o": 5}, {"o": [3]}) is None
    assert _outputs(tmp_path, "L") == {"o": [3, 5]}
    assert _next(tmp_path, _loop_data(outputMethod="last"), 1, {"i": 3, "k": 2}, {"o": 5}, {"o": 3}) is None
    assert _outputs(tmp_path, "L") == {"o": 5}


def test_value_from_sees_the_merged_value_as_self_and_the_previous_inputs() -> None:
    from cwlpilot.executor.kinds.cwl_dynamic import _fed_back
    from cwlpilot.semantics.cwl.expr import Evaluator

    ev = Evaluator((), allow_js=True)
    loop = {"stepInputExpression": True, "entries": [
        {"id": "i", "sources": ["o"], "valueFrom": "$(self + inputs.k)"},
        {"id": "k", "sources": [], "valueFrom": "$(self === null ? inputs.k * 2 : -1)"},
        {"id": "d", "sources": ["missing"], "default": 4},
    ]}
    # cwltool e2_valuefrom: (i, k) = (0, 1) -> (2, 2): i's valueFrom reads the old k
    assert _fed_back(loop, {"i": 0, "k": 1, "d": 0}, {"o": 1}, ev) == {"i": 2, "k": 2, "d": 4}


def test_what_a_loop_cannot_do(tmp_path: Path) -> None:
    with pytest.raises(KindError, match="StepInputExpressionRequirement"):
        data = _loop_data(stepInputExpression=False, entries=[{"id": "i", "sources": ["o"], "valueFrom": "$(self)"}])
        _next(tmp_path, data, 0, {"i": 1, "k": 2}, {"o": 3})
    with pytest.raises(KindError, match="MultipleInputFeatureRequirement"):
        _next(tmp_path, _loop_data(entries=[{"id": "i", "sources": ["o", "o"]}]), 0, {"i": 1, "k": 2}, {"o": 3})
    with pytest.raises(KindError, match="Value for k not specified"):
        _next(tmp_path, _loop_data(entries=[{"id": "k", "sources": []}]), 0, {"i": 1, "k": 2}, {"o": 3})
    with pytest.raises(KindError, match="loopWhen still holds after 2 iterations"):
        _next(tmp_path, _loop_data(max=2), 1, {"i": 1, "k": 2}, {"o": 3}, {"o": [2]})
    with pytest.raises(KindError, match="`when` must give true or false"):
        _next(tmp_path, _loop_data(when="$(inputs.i)"), 0, {"i": 1, "k": 2}, {"o": 3})


def test_a_sub_workflow_scatter_adds_its_instances_a_skipped_one_and_a_gather(tmp_path: Path) -> None:
    _write(tmp_path, "up", {"xs": [1, 2, 3]})
    mark = "S@"
    data = {
        "step": {"in": {"x": {"$ref": "up/xs"}}, "scatter": ["x"], "when": "$(inputs.x != 2)", "declared": ["x"]},
        "js": [], "marker": mark, "ports": ["o"], "inputDefaults": {}, "dependents": ["after"],
        "templates": [{"name": f"{mark}.e", "cwd": f"{mark}.e", "kind": "cwl_expression", "cmd": "",
                       "needs": [f"{mark}in"], "data": {"expression": "$({o: inputs.x * 10})",
                                                        "inputs": {"x": {"$ref": f"{mark}in/x"}}}}],
        "outputs": {"o": {"$ref": f"{mark}.e/o"}},
    }
    stage = _stage("S", "cwl_subworkflow", data)
    ctx = _ctx(tmp_path, stage)
    CwlSubworkflow().prepare(stage, ctx)
    added = CwlSubworkflow().expand(stage, ctx)
    assert added is not None
    assert [(s["name"], s["kind"]) for s in added.stages] == [
        ("S[0].e", "cwl_expression"), ("S[1]", "cwl_skipped"), ("S[2].e", "cwl_expression"), ("S#gather", "cwl_gather")]
    gather = added.stages[-1]
    assert gather["needs"] == ["S[0].e", "S[2].e"] and added.needs == (("after", "S#gather"),)
    _write(tmp_path, "S[0].e", {"o": 10})
    _write(tmp_path, "S[2].e", {"o": 30})
    g = _stage("S#gather", "cwl_gather", gather["data"])
    CwlGather().prepare(g, StageContext(tmp_path, tmp_path / "S", 1))
    assert _outputs(tmp_path, "S") == {"o": [10, None, 30]}


def test_a_skipped_stage_writes_null_outputs(tmp_path: Path) -> None:
    stage = _stage("s", "cwl_skipped", {"ports": ["a", "b"]})
    assert CwlSkipped().prepare(stage, _ctx(tmp_path, stage)).skip == "its `when` is false"
    assert _outputs(tmp_path, "s") == {"a": None, "b": None}
