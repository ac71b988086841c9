"""Tests for compiler.graph: sub-workflows flattened into namespaced nodes, references mapped exactly."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cwlpilot.compiler.graph import GraphInput, build_graph
from cwlpilot.compiler.loader import load_strict

REPO = Path(__file__).resolve().parents[2]
# the suite beside the clone, or where CWL_CONFORMANCE_DIR says (as for .ci/conformance.sh)
CONFORMANCE = Path(os.environ.get("CWL_CONFORMANCE_DIR") or REPO.parent / "shared" / "cwl-conformance") / "tests"
needs_conformance = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason="the CWL conformance suite is not at ../shared/cwl-conformance"
)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_nested_workflow_is_flattened() -> None:
    graph = build_graph(load_strict("examples/cwl/nested.cwl"), "nested")
    assert [(n.name, n.needs) for n in graph.nodes] == [
        ("greet.say", ()),
        ("greet.join", ("greet.say",)),
        ("count_lines", ("greet.join",)),
    ]
    count = graph.nodes[2]
    assert count.inputs == (GraphInput("enabled", ("count",)), GraphInput("file", ("greet.join/all",)))
    assert count.conditions == ("$(inputs.enabled)",)
    assert {p.id: p.sources for p in graph.outputs} == {
        "greetings": ("greet.join/all",),
        "lines": ("count_lines/lines",),
    }


def test_a_lone_tool_is_one_node() -> None:
    graph = build_graph(load_strict("examples/cwl/tools/echo.cwl"), "echo")
    assert [(n.name, n.process_class) for n in graph.nodes] == [("echo", "CommandLineTool")]
    assert graph.outputs[0].sources == ("echo/out",)


@needs_conformance
def test_output_source_maps_to_the_named_inner_step_only() -> None:
    # count-lines10: the sub-workflow's output comes from its last step; the outer output must
    # point at exactly that step, not at every step of the sub-workflow
    wf = load_strict(str(CONFORMANCE / "count-lines10-wf.cwl"))
    graph = build_graph(wf, "count-lines10")
    assert [n.name for n in graph.nodes] == ["step0.step1", "step0.step2"]
    assert graph.outputs[0].sources == ("step0.step2/output",)
    assert graph.nodes[1].needs == ("step0.step1",)
