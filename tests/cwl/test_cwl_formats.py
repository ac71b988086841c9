"""Tests for cwlpilot.semantics.cwl.formats: cwltool's File format checks on a process's inputs."""

from __future__ import annotations

import pytest

from cwlpilot.semantics.cwl.formats import FormatError, check

F1, F2 = "http://example.com/format1", "http://example.com/format2"


def _file(fmt: str | None = None) -> dict:
    return {"class": "File", "path": "/d/a.txt", "basename": "a.txt", **({"format": fmt} if fmt else {})}


def test_a_parameter_format_and_its_subclasses() -> None:
    spec = {"type": "File", "format": F1}
    check("f", _file(F1), spec, {})
    check("f", _file("http://example.com/sub"), spec, {F1: ["http://example.com/sub"]})
    with pytest.raises(FormatError, match="Expected value of 'f' to have format 'http://example.com/format1' "
                                          "but File has an incompatible format"):
        check("f", _file(F2), spec, {})
    with pytest.raises(FormatError, match="File has no 'format' defined"):
        check("f", _file(), spec, {})


def test_one_of_several_allowed_formats() -> None:
    check("f", _file(F2), {"type": "File", "format": [F1, F2]}, {})


def test_an_array_parameter_checks_each_item_and_a_null_passes() -> None:
    spec = {"type": "union", "format": F1,
            "options": [{"type": "null"}, {"type": "array", "items": {"type": "File"}}]}
    check("fs", None, spec, {})
    check("fs", [_file(F1), _file(F1)], spec, {})
    with pytest.raises(FormatError, match="'fs'"):
        check("fs", [_file(F1), _file(F2)], spec, {})


def test_record_fields_have_their_own_formats_the_record_none() -> None:
    spec = {"type": "record", "fields": {
        "f1": {"type": "File", "format": F1},
        "f2": {"type": "array", "items": {"type": "File"}, "format": F2},
        "plain": {"type": "File"},
    }}
    check("rec", {"f1": _file(F1), "f2": [_file(F2)], "plain": _file()}, spec, {})
    with pytest.raises(FormatError, match="Expected value of 'f2'"):
        check("rec", {"f1": _file(F1), "f2": [_file(F1)]}, spec, {})


def test_a_format_expression_is_evaluated_with_the_inputs() -> None:
    spec = {"type": "File", "format": "$(inputs.fmt)"}
    check("f", _file(F2), spec, {}, lambda expr: F2)
    with pytest.raises(FormatError, match="must give a string"):
        check("f", _file(F2), spec, {}, lambda expr: 3)
