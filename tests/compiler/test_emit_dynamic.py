"""Tests for compiler.emit_dynamic: sub-workflows over upstream values and loops become stages whose kinds
add the body's stages at run time, the body compiled once as templates."""

from __future__ import annotations

from pathlib import Path

import pytest

from cwlpilot.compiler.emit import compile_plan
from cwlpilot.compiler.loader import load_strict
from cwlpilot.semantics.cwl.template import instantiate

E2E = Path(__file__).resolve().parents[1] / "e2e" / "cwl"


def _plan(name: str, job: dict) -> dict:
    return compile_plan(load_strict(str(E2E / name)), job, str(E2E))


def test_a_sub_workflow_scattered_over_an_upstream_array_is_one_expanding_stage() -> None:
    plan = _plan("samples.cwl", {"reads": {"class": "Directory", "location": "reads"}, "prefix": "p"})
    listing, per_sample = plan["stages"]
    assert (listing["name"], per_sample["name"], per_sample["kind"]) == ("list", "per_sample", "cwl_subworkflow")
    data = per_sample["data"]
    assert per_sample["needs"] == ["list"]
    assert data["step"]["scatter"] == ["fq"] and data["step"]["in"]["fq"] == {"$ref": "list/fq"}
    assert data["step"]["valueFrom"] == {"label": "$(self + '-run')"}
    assert data["marker"] == "per_sample@" and data["inputDefaults"] == {"label": "sample"}
    names = [t["name"] for t in data["templates"]]
    assert names == ["per_sample@.count", "per_sample@.split", "per_sample@.measure", "per_sample@.total"]
    measure = data["templates"][2]
    assert measure["data"]["dependents"] == ["per_sample@.total"]  # an inner run-time scatter, marked
    assert data["outputs"] == {"reads": {"$ref": "per_sample@.count/n"}, "chunks": {"$ref": "per_sample@.total/n"},
                               "name": {"$ref": "per_sample@.count/name"}}
    assert plan["outputs"]["reads"]["value"] == {"$ref": "per_sample/reads"}


def test_templates_instantiated_read_the_instance_values() -> None:
    plan = _plan("samples.cwl", {"reads": {"class": "Directory", "location": "reads"}, "prefix": "p"})
    data = plan["stages"][1]["data"]
    fq = {"class": "File", "path": "/x/a.fq"}
    count, split, *_ = instantiate(data["templates"], data["marker"], "per_sample[0]", {"fq": fq, "label": "L"})
    assert count["name"] == "per_sample[0].count" and count["needs"] == []
    assert count["data"]["inputs"] == {"fq": fq, "label": "L"}
    assert split["data"]["inputs"] == {"fq": fq}


def test_a_loop_step_and_its_body() -> None:
    plan = _plan("rounds.cwl", {"clients": [1, 2], "rounds": 2})
    init, loop, history = plan["stages"]
    assert (loop["kind"], loop["needs"]) == ("cwl_loop", ["init"])
    data = loop["data"]
    assert data["loop"]["when"] == "$(inputs.round < inputs.rounds)"
    assert data["loop"]["outputMethod"] == "last" and history["data"]["loop"]["outputMethod"] == "all"
    assert data["loop"]["entries"] == [
        {"id": "round", "sources": [], "linkMerge": None, "pickValue": None, "valueFrom": "$(inputs.round + 1)"},
        {"id": "model", "sources": ["model"], "linkMerge": None, "pickValue": None, "valueFrom": None},
    ]
    assert data["loop"]["stepInputExpression"] and data["loop"]["max"] == 1000
    assert data["inIds"] == ["model", "clients", "round", "rounds"]
    assert data["step"]["defaults"] == {"round": 0}
    assert [t["name"] for t in data["templates"]] == ["loop@.train", "loop@.aggregate"]
    assert data["templates"][0]["data"]["dependents"] == ["loop@.aggregate"]


def test_the_max_iteration_guard_comes_from_the_options() -> None:
    from cwlpilot.compiler.emit import Options

    load = load_strict(str(E2E / "rounds.cwl"))
    plan = compile_plan(load, {"clients": [1], "rounds": 1}, str(E2E), Options(max_loop_iterations=7))
    assert plan["stages"][1]["data"]["loop"]["max"] == 7


def test_a_sub_workflow_over_known_values_is_still_flattened(tmp_path: Path) -> None:
    wf = tmp_path / "wf.cwl"
    wf.write_text(f"""\
cwlVersion: v1.2
class: Workflow
requirements: {{ScatterFeatureRequirement: {{}}, SubworkflowFeatureRequirement: {{}}}}
inputs: {{xs: "int[]", y: string}}
outputs: {{s: {{type: "string[]", outputSource: pairs/s}}}}
steps:
  pairs: {{run: {E2E / "pair.cwl"}, scatter: x, in: {{x: xs, y: y}}, out: [s]}}
""")
    plan = compile_plan(load_strict(str(wf)), {"xs": [1, 2], "y": "a"}, str(tmp_path))
    assert [(s["name"], s["kind"]) for s in plan["stages"]] == [("pairs[0].join", "cwl_tool"),
                                                                  ("pairs[1].join", "cwl_tool")]
    assert plan["stages"][1]["cmd"] == "echo -n a2 > s.txt"


def test_templates_count_against_the_plans_stage_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    # the templates are written in the plan (in their stage's data), so they take from compiler.limits too:
    # here 2 stages and 4 templates
    from cwlpilot.compiler import limits
    from cwlpilot.compiler.errors import CompilerError

    job = {"reads": {"class": "Directory", "location": "reads"}, "prefix": "p"}
    monkeypatch.setattr(limits, "MAX_STAGES", 6)
    assert len(_plan("samples.cwl", job)["stages"]) == 2
    monkeypatch.setattr(limits, "MAX_STAGES", 5)
    with pytest.raises(CompilerError, match="the plan has more than 5 stages by this step"):
        _plan("samples.cwl", job)
