"""Tests for cwlpilot.cwl.values: linkMerge, pickValue and `$ref`/`$merge` resolution."""

from __future__ import annotations

import pytest

from cwlpilot.semantics.cwl.values import PickValueError, merge, refs, resolve


def test_one_source_is_not_wrapped_unless_merged() -> None:
    assert merge([1], None, None) == 1
    assert merge([1], "merge_nested", None, many=True) == [1]


def test_merge_flattened_joins_lists_and_scalars() -> None:
    assert merge([[1, 2], 3], "merge_flattened", None) == [1, 2, 3]


@pytest.mark.parametrize(
    ("pick", "values", "expected"),
    [
        ("first_non_null", [None, 2, 3], 2),
        ("the_only_non_null", [None, 2, None], 2),
        ("all_non_null", [None, None], []),
        ("all_non_null", [1, None, 3], [1, 3]),
    ],
)
def test_pick_value(pick: str, values: list, expected: object) -> None:
    assert merge(values, None, pick) == expected


@pytest.mark.parametrize(("pick", "values"), [("first_non_null", [None, None]), ("the_only_non_null", [1, 2])])
def test_pick_value_errors(pick: str, values: list) -> None:
    with pytest.raises(PickValueError):
        merge(values, None, pick)


def test_a_pick_over_upstream_values_waits_for_run_time() -> None:
    pending = merge([{"$ref": "a/out"}, {"$ref": "b/out"}], None, "first_non_null")
    assert "$merge" in pending
    outputs = {"a": {"out": None}, "b": {"out": "x"}}
    assert resolve(pending, lambda stage: outputs[stage]) == "x"
    assert refs(pending) == ["a", "b"]


def test_resolve_reads_each_port_of_nested_values() -> None:
    outputs = {"s[0]": {"o": 1}, "s[1]": {"o": 2}}
    value = {"xs": [{"$ref": "s[0]/o"}, {"$ref": "s[1]/o"}], "k": 3}
    assert resolve(value, lambda stage: outputs[stage]) == {"xs": [1, 2], "k": 3}
