"""Tests for cwlpilot.cwl.values: linkMerge, pickValue and `$ref`/`$merge` resolution."""

from __future__ import annotations

import pytest

from cwlpilot.semantics.cwl.values import PickValueError, merge, refs, resolve, with_default


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


@pytest.mark.parametrize(
    ("pick", "values", "message"),
    [
        ("first_non_null", [None, None], "All sources for 'x' are null"),
        ("the_only_non_null", [None, None], "All sources for 'x' are null"),
        ("the_only_non_null", [1, [2, None]], "Expected only one source for 'x' to be non-null, got [1, [2, None]]"),
    ],
)
def test_pick_value_errors_say_what_cwltool_says(pick: str, values: list, message: str) -> None:
    with pytest.raises(PickValueError) as caught:
        merge(values, None, pick, name="x")
    assert str(caught.value) == message


@pytest.mark.parametrize("pick", ["first_non_null", "the_only_non_null", "all_non_null"])
def test_pick_value_on_one_source_passes_a_null_or_a_scalar_through(pick: str) -> None:
    # cwltool's object_from_state applies pickValue only to a list: a skipped step's null passes through
    assert merge([None], None, pick) is None
    assert merge([3], None, pick) == 3


def test_pick_value_on_one_source_whose_value_is_a_list() -> None:
    assert merge([[None, 5, None, 7]], None, "first_non_null") == 5
    assert merge([[None, 5, None, 7]], None, "all_non_null") == [5, 7]


def test_an_explicit_link_merge_wraps_one_source() -> None:
    assert merge([1], "merge_nested", None) == [1]
    assert merge([None], "merge_flattened", None) == [None]
    assert merge([1, [2, None]], "merge_flattened", "all_non_null") == [1, 2]
    assert merge([1, [2, None]], "merge_nested", "all_non_null") == [1, [2, None]]


def test_a_default_on_a_pending_value_is_decided_when_it_is_known() -> None:
    waiting = with_default({"$ref": "a/o"}, 9)
    assert resolve(waiting, lambda stage: {"o": None}) == 9
    assert resolve(waiting, lambda stage: {"o": 0}) == 0
    assert with_default(None, 9) == 9 and with_default(1, 9) == 1


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
