"""Tests for cwlpilot.cwl.scatter: instance enumeration and gathering for the three scatter methods."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cwlpilot.semantics.cwl import scatter as sc
from cwlpilot.semantics.cwl.params import NotStatic


def test_dotproduct_pairs_elements() -> None:
    got = sc.instances({"a": [1, 2], "b": ["x", "y"], "c": 0}, ["a", "b"], None)
    assert got == [((0,), {"a": 1, "b": "x", "c": 0}), ((1,), {"a": 2, "b": "y", "c": 0})]


def test_dotproduct_lengths_must_match() -> None:
    with pytest.raises(
        sc.ScatterError, match="dotproduct scatter needs arrays of one length: 'a' has 2, 'b' has 1"
    ):
        sc.instances({"a": [1, 2], "b": [1]}, ["a", "b"], "dotproduct")


def test_scatter_over_an_upstream_value_is_left_for_run_time() -> None:
    with pytest.raises(NotStatic):
        sc.instances({"a": {"$ref": "s/o"}}, ["a"], None)


def test_scatter_over_a_list_of_upstream_values_is_expanded_now() -> None:
    got = sc.instances({"a": [{"$ref": "s[0]/o"}, {"$ref": "s[1]/o"}]}, ["a"], None)
    assert [index for index, _ in got] == [(0,), (1,)]


def test_scatter_over_a_scalar_is_an_error() -> None:
    with pytest.raises(sc.ScatterError, match="scatter over 'a' needs an array"):
        sc.instances({"a": 3}, ["a"], None)


def test_crossproducts() -> None:
    values = {"a": [1, 2], "b": ["x", "y", "z"]}
    nested = sc.instances(values, ["a", "b"], "nested_crossproduct")
    assert [i for i, _ in nested] == [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    flat = sc.instances(values, ["a", "b"], "flat_crossproduct")
    assert [i for i, _ in flat] == [(n,) for n in range(6)]
    assert flat[4][1] == {"a": 2, "b": "y"}
    assert sc.gather(
        [(i, v["b"]) for i, v in nested], sc.shape(values, ["a", "b"], "nested_crossproduct")
    ) == [
        ["x", "y", "z"],
        ["x", "y", "z"],
    ]


@given(st.lists(st.integers(), max_size=4), st.lists(st.integers(), max_size=4))
def test_nested_gather_has_the_input_shape(a: list[int], b: list[int]) -> None:
    values = {"a": a, "b": b}
    nested = sc.instances(values, ["a", "b"], "nested_crossproduct")
    gathered = sc.gather(
        [(i, (v["a"], v["b"])) for i, v in nested], sc.shape(values, ["a", "b"], "nested_crossproduct")
    )
    assert gathered == [[(x, y) for y in b] for x in a]


def test_empty_scatter_gives_no_instances() -> None:
    assert sc.instances({"a": []}, ["a"], None) == []
    assert sc.gather([], [0]) == []
