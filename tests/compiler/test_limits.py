"""compiler.limits: YAML documents beyond a bound are errors at their position, through every reading path.

Each bound is tested on both paths of compiler.fastyaml: libyaml's nodes (plain documents) and ruamel.yaml
after `limits.scan` (a document with an explicit tag goes there), and in the three flavours.
"""

from __future__ import annotations

import time

import pytest
from ruamel.yaml.error import MarkedYAMLError

from cwlpilot.compiler import fastyaml, limits

FLAVOURS = ("rt", "salad", "safe")
TAGGED = "tagged: !!str x\n"  # sends the document to ruamel.yaml


def error_of(text: str, flavour: str) -> MarkedYAMLError:
    with pytest.raises(MarkedYAMLError) as info:
        fastyaml.load(text, flavour)  # type: ignore[arg-type]
    return info.value


def where(exc: MarkedYAMLError) -> tuple[int, int]:
    assert exc.problem_mark is not None
    return exc.problem_mark.line + 1, exc.problem_mark.column + 1


def nested(depth: int) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("prefix", ["", TAGGED])
def test_nesting_up_to_the_limit_is_read(flavour: str, prefix: str) -> None:
    tree = fastyaml.load(prefix + nested(limits.MAX_DEPTH - 1), flavour)  # type: ignore[arg-type]
    value, depth = tree["a"], 1
    while value:
        value, depth = value[0], depth + 1
    assert depth == limits.MAX_DEPTH - 1


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("prefix", ["", TAGGED])
@pytest.mark.parametrize("depth", [limits.MAX_DEPTH, 999, 1001, 100_000])
def test_nesting_beyond_the_limit_is_an_error(flavour: str, prefix: str, depth: int) -> None:
    # regression: 1,000-100,000 levels were a RecursionError after 5-22 s of CPU
    start = time.process_time()
    exc = error_of(prefix + nested(depth), flavour)
    assert isinstance(exc, limits.LimitError)
    assert f"nested more than {limits.MAX_DEPTH} levels" in str(exc.problem)
    assert where(exc)[0] == (2 if prefix else 1)
    assert time.process_time() - start < 2


def test_block_nesting_is_bounded_too() -> None:
    text = "".join(" " * i + f"k{i}:\n" for i in range(200)) + " " * 200 + "v\n"
    exc = error_of(text, "rt")
    assert isinstance(exc, limits.LimitError) and where(exc) == (limits.MAX_DEPTH + 1, limits.MAX_DEPTH + 1)


def bomb(levels: int, width: int = 9) -> str:
    lines = [f"x0: &x0 [{', '.join(['lol'] * width)}]"]
    lines += [f"x{k}: &x{k} [{', '.join([f'*x{k - 1}'] * width)}]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("prefix", ["", TAGGED])
def test_an_alias_bomb_is_refused_at_once(flavour: str, prefix: str) -> None:
    # regression: a 7-line bomb took 8-11 s of CPU in whatever walked the tree after the parser
    start = time.process_time()
    exc = error_of(prefix + bomb(9), flavour)
    assert isinstance(exc, limits.LimitError) and "aliases expanded" in str(exc.problem)
    assert time.process_time() - start < 1


def test_aliases_within_the_limit_are_shared_as_ruamel_shares_them() -> None:
    tree = fastyaml.load(bomb(3), "rt")
    assert tree["x2"][0] is tree["x1"] and len(tree["x2"]) == 9


@pytest.mark.parametrize("prefix", ["", TAGGED])
def test_a_long_string_repeated_by_aliases_counts_its_length(prefix: str) -> None:
    text = prefix + f"s: &s {'y' * 100_000}\nt: [{', '.join(['*s'] * 100)}]\n"
    exc = error_of(text, "salad")
    assert isinstance(exc, limits.LimitError) and where(exc)[0] == (3 if prefix else 2)


@pytest.mark.parametrize("prefix", ["", TAGGED])
def test_a_node_that_contains_its_own_alias(prefix: str) -> None:
    exc = error_of(prefix + "a: &a [1, *a]\n", "rt")
    assert isinstance(exc, limits.LimitError) and "contains it" in str(exc.problem)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize("prefix", ["", TAGGED])
@pytest.mark.parametrize("number", ["9" * 309, "-" + "9" * 5000, "0x" + "f" * 300, "1" + "_0" * 400])
def test_integers_beyond_a_double_are_errors(flavour: str, prefix: str, number: str) -> None:
    # regression: 5,000 digits were "ValueError: Exceeds the limit (4300 digits)"
    exc = error_of(f"{prefix}n: {number}\n", flavour)
    assert isinstance(exc, limits.LimitError) and "integer too large" in str(exc.problem)
    assert where(exc) == (2 if prefix else 1, 4)


@pytest.mark.parametrize("prefix", ["", TAGGED])
def test_integers_that_fit_a_double_are_read(prefix: str) -> None:
    assert fastyaml.load(f"{prefix}n: {'9' * 308}\n", "safe")["n"] == int("9" * 308)
    assert fastyaml.load(f"{prefix}n: -{'1' + '0' * 308}\n", "safe")["n"] == -(10**308)


def test_more_values_than_the_limit() -> None:
    text = "a: [" + ",".join(["1"] * (limits.MAX_VALUES + 1)) + "]\n"
    exc = error_of(text, "rt")
    assert isinstance(exc, limits.LimitError) and f"more than {limits.MAX_VALUES} values" in str(exc.problem)


@pytest.mark.parametrize("flavour", FLAVOURS)
@pytest.mark.parametrize(("text", "column", "code"), [("a: b\x01c\n", 5, "#x0001"), ("a: \x7f\n", 4, "#x007f")])
def test_a_control_character_is_a_positioned_yaml_error(flavour: str, text: str, column: int, code: str) -> None:
    # regression: ruamel.yaml's ReaderError is no MarkedYAMLError: it escaped every reader as a traceback
    exc = error_of(text, flavour)
    assert where(exc) == (1, column) and code in str(exc.problem)


@pytest.mark.parametrize("flavour", ["rt", "safe"])
def test_a_timestamp_that_is_no_date_is_a_yaml_error(flavour: str) -> None:
    # regression: ruamel.yaml's timestamp constructor raised ValueError ("month must be in 1..12")
    assert "month must be in 1..12" in str(error_of("a: 2001-13-45\n", flavour).problem)
    assert fastyaml.load("a: 2001-13-45\n", "salad")["a"] == "2001-13-45"  # schema-salad reads no timestamps
