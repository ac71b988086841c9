"""Tests for cwlpilot.cwl.step: defaults, scatter, valueFrom and `when` applied in CWL's order."""

from __future__ import annotations

import pytest

from cwlpilot.semantics.cwl.expr import PYTHON_ONLY
from cwlpilot.semantics.cwl.step import WhenError, instances, tool_job
from cwlpilot.semantics.cwl.values import resolve


def test_value_from_sees_the_scattered_element_and_the_other_inputs_before_value_from() -> None:
    spec = {"scatter": ["x"], "valueFrom": {"x": "$(self)-$(inputs.y)", "y": "changed"}}
    found, shape = instances(spec, {"x": ["a", "b"], "y": "k"}, PYTHON_ONLY)
    assert [i.values for i in found] == [{"x": "a-k", "y": "changed"}, {"x": "b-k", "y": "changed"}]
    assert shape == [2]


def test_when_false_marks_the_instance_skipped() -> None:
    spec = {"scatter": ["x"], "when": "$(inputs.x)"}
    found, _ = instances(spec, {"x": [True, False]}, PYTHON_ONLY)
    assert [i.runs for i in found] == [True, False]


def test_when_must_be_a_boolean() -> None:
    with pytest.raises(WhenError):
        instances({"when": "$(inputs.x)"}, {"x": 3}, PYTHON_ONLY)


def test_a_step_default_replaces_null_but_waits_for_an_upstream_value() -> None:
    found, _ = instances({"defaults": {"x": 5}}, {"x": None}, PYTHON_ONLY)
    assert found[0].values == {"x": 5}
    found, _ = instances({"defaults": {"x": 5}}, {"x": {"$ref": "a/o"}}, PYTHON_ONLY)
    waiting = found[0].values["x"]  # decided once a/o is known: 5 if it is null
    assert resolve(waiting, lambda stage: {"o": None}) == 5
    assert resolve(waiting, lambda stage: {"o": 7}) == 7


def test_tool_job_keeps_declared_inputs_and_tool_defaults() -> None:
    job = tool_job({"declared": ["a", "b"]}, {"a": None, "b": 1, "extra": 2}, {"a": "d"})
    assert job == {"a": "d", "b": 1}
