"""Tests for cwlpilot.semantics.cwl.template: stage templates instantiated per instance or iteration."""

from __future__ import annotations

from typing import Any

from cwlpilot.semantics.cwl.template import input_ref, instantiate, instantiate_value, mark_expansions, marker

MARK = marker("outer.sub")  # "outer.sub@"


def _templates() -> list[dict]:
    return [
        {
            "name": f"{MARK}.a", "cwd": f"{MARK}.a", "kind": "cwl_tool", "cmd": "echo ...",
            "needs": [f"{MARK}in"],
            "data": {"inputs": {"x": input_ref(MARK, "x"), "lit": "outer.sub@.a is text, not a name?"}},
        },
        {
            "name": f"{MARK}.b", "cwd": f"{MARK}.b", "kind": "cwl_tool", "cmd": "cat ...",
            "needs": [f"{MARK}.a"],
            "data": {"inputs": {"f": {"$ref": f"{MARK}.a/out"}, "y": {"$merge": [input_ref(MARK, "y")],
                                                                      "default": 3}}},
        },
    ]


def test_the_marker_becomes_the_prefix_and_the_inputs_become_values() -> None:
    a, b = instantiate(_templates(), MARK, "outer.sub[2]", {"x": [1, 2], "y": None})
    assert (a["name"], a["cwd"], a["needs"]) == ("outer.sub[2].a", "outer.sub[2].a", [])
    assert a["data"]["inputs"]["x"] == [1, 2]
    assert b["needs"] == ["outer.sub[2].a"]
    assert b["data"]["inputs"] == {"f": {"$ref": "outer.sub[2].a/out"}, "y": {"$merge": [None], "default": 3}}


def test_only_names_that_start_with_the_marker_change() -> None:
    a, _ = instantiate(_templates(), MARK, "outer.sub[0]", {"x": 1, "y": 2})
    assert a["data"]["inputs"]["lit"] == "outer.sub[0].a is text, not a name?"  # a string starting with it does
    other = instantiate([{"name": "outer.subway", "needs": ["outer.sub"]}], MARK, "P", {})
    assert other == [{"name": "outer.subway", "needs": ["outer.sub"]}]


def test_values_substituted_are_copies_and_are_not_renamed() -> None:
    value = {"path": "outer.sub@.a"}
    a, _ = instantiate(_templates(), MARK, "outer.sub[0]", {"x": value, "y": 1})
    assert a["data"]["inputs"]["x"] == {"path": "outer.sub@.a"} and a["data"]["inputs"]["x"] is not value


def test_nested_templates_keep_their_own_marker_under_the_new_prefix() -> None:
    inner = marker(f"{MARK}.loop")
    nested = [{"name": f"{MARK}.loop", "needs": [f"{MARK}in"], "kind": "cwl_loop",
               "data": {"marker": inner, "templates": [{"name": f"{inner}.s", "needs": [f"{inner}in"]}]}}]
    (stage,) = instantiate(nested, MARK, "outer.sub#3", {})
    assert stage["name"] == "outer.sub#3.loop" and stage["needs"] == []
    assert stage["data"]["marker"] == "outer.sub#3.loop@"
    assert stage["data"]["templates"] == [{"name": "outer.sub#3.loop@.s", "needs": ["outer.sub#3.loop@in"]}]


def test_output_values_of_an_instance() -> None:
    outputs = {"o": {"$ref": f"{MARK}.b/out"}, "passed": input_ref(MARK, "x")}
    assert instantiate_value(outputs, MARK, "outer.sub[1]", {"x": 5}) == {"o": {"$ref": "outer.sub[1].b/out"},
                                                                           "passed": 5}


def test_readers_of_an_expanding_stage_are_its_dependents() -> None:
    stages: list[dict[str, Any]] = [
        {"name": "sc", "kind": "cwl_tool", "needs": [], "data": {"step": {"scatter": ["x"]}}},
        {"name": "sub", "kind": "cwl_subworkflow", "needs": [], "data": {"dependents": ["old"]}},
        {"name": "plain", "kind": "cwl_tool", "needs": ["sc"], "data": {}},
        {"name": "gather", "kind": "cwl_gather", "needs": ["sc", "sub"], "data": {}},
    ]
    mark_expansions(stages)
    assert stages[0]["data"]["dependents"] == ["plain", "gather"]
    assert stages[1]["data"]["dependents"] == ["old", "gather"]
    assert "dependents" not in stages[2]["data"]
