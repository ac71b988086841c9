"""Tests for cwlpilot.cwl.params: CWL parameter references evaluated without JavaScript."""

from __future__ import annotations

import pytest

from cwlpilot.semantics.cwl.params import NotStatic, UnknownInput, evaluate

CTX = {
    "inputs": {"x": {"path": "/d/a.txt", "basename": "a.txt"}, "n": 3, "xs": [1, 2], "up": {"$ref": "s/o"}},
    "self": [4, 5],
    "runtime": {"cores": 2},
}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("$(inputs.n)", 3),
        ("$(inputs.x.basename)", "a.txt"),
        ("$(inputs['x'][\"path\"])", "/d/a.txt"),
        ("$(self[1])", 5),
        ("$(inputs.xs.length)", 2),
        ("n=$(inputs.n) cores=$(runtime.cores)", "n=3 cores=2"),
        ("$(inputs.xs)-x", "[1, 2]-x"),
        ("\\$(inputs.n)", "$(inputs.n)"),
        ("plain", "plain"),
    ],
)
def test_references(text: str, value: object) -> None:
    assert evaluate(text, CTX) == value


@pytest.mark.parametrize(
    "text", ["$(inputs.n + 1)", "${ return 1; }", "$(inputs.up)", "$(inputs.up.path)", "$(foo)"]
)
def test_not_static(text: str) -> None:
    with pytest.raises(NotStatic):
        evaluate(text, CTX)


def test_a_reference_to_an_undeclared_input_is_an_error() -> None:
    with pytest.raises(UnknownInput, match="there is no input 'missing'"):
        evaluate("$(inputs.missing)", {"inputs": {"x": 1}})


def test_a_missing_record_field_is_null() -> None:
    assert evaluate("$(inputs.rec.missing)", {"inputs": {"rec": {"a": 1}}}) is None
