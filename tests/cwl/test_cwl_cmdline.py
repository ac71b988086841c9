"""Tests for cwlpilot.cwl.cmdline: CWL command-line binding rules on plain data."""

from __future__ import annotations

import pytest

from cwlpilot.semantics.cwl.cmdline import command_line
from cwlpilot.semantics.cwl.params import NotStatic

TOOL = {
    "baseCommand": ["tool", "run"],
    "arguments": [
        {"valueFrom": "-v", "position": 5},
        {"valueFrom": "$(runtime.cores)", "position": 0, "prefix": "-j"},
    ],
    "inputs": {
        "flag": {"type": "boolean", "inputBinding": {"prefix": "--flag", "position": 1}},
        "off": {"type": "boolean", "inputBinding": {"prefix": "--off", "position": 1}},
        "items": {"type": "int[]", "inputBinding": {"prefix": "-i", "itemSeparator": ",", "position": 2}},
        "name": {"type": "string", "inputBinding": {"prefix": "--name=", "separate": False, "position": 3}},
        "file": {"type": "File", "inputBinding": {"position": 4}},
        "unbound": {"type": "string", "inputBinding": None},
        "absent": {"type": "string?", "inputBinding": {"prefix": "-a", "position": 1}},
    },
    "stdout": "out $(inputs.name).txt",
}
JOB = {
    "flag": True,
    "off": False,
    "items": [1, 2, 3],
    "name": "two words",
    "file": {"class": "File", "path": "/data/in.txt"},
    "unbound": "x",
    "absent": None,
}


def test_bindings_in_position_order_with_quoting() -> None:
    assert command_line(TOOL, JOB, {"cores": 4}) == (
        "tool run -j 4 --flag -i 1,2,3 '--name=two words' /data/in.txt -v > 'out two words.txt'"
    )


def test_shell_command_requirement_leaves_unquoted_words() -> None:
    tool = {
        "baseCommand": [],
        "arguments": [{"valueFrom": "echo a | wc -c", "shellQuote": False}],
        "shellCommand": True,
    }
    assert command_line(tool, {}, {}) == "echo a | wc -c"


def test_values_from_upstream_are_not_static() -> None:
    with pytest.raises(NotStatic):
        command_line(TOOL, {**JOB, "file": {"$ref": "s/out"}}, {"cores": 1})


def test_record_fields_without_a_parameter_binding_interleave_with_arguments() -> None:
    tool = {
        "baseCommand": [],
        "arguments": [{"valueFrom": "cat", "position": 1}, {"valueFrom": "&&", "position": 4}],
        "inputs": {
            "rec": {
                "type": "record",
                "inputBinding": None,
                "schema": {
                    "type": "record",
                    "fields": [
                        {"name": "a", "type": "File", "inputBinding": {"position": 2}},
                        {"name": "b", "type": "File", "inputBinding": {"position": 6}},
                    ],
                },
            }
        },
    }
    job = {"rec": {"a": {"class": "File", "path": "/a"}, "b": {"class": "File", "path": "/b"}}}
    assert command_line(tool, job, {}) == "cat /a '&&' /b"


def test_array_items_with_their_own_binding_each_get_the_prefix() -> None:
    tool = {
        "baseCommand": ["echo"],
        "inputs": {
            "xs": {
                "type": "string[]",
                "inputBinding": {"position": 1},
                "schema": {"type": "array", "items": "string", "inputBinding": {"prefix": "-x"}},
            }
        },
    }
    assert command_line(tool, {"xs": ["a", "b"]}, {}) == "echo -x a -x b"


def test_floats_are_decimals_and_nested_arrays_are_flattened() -> None:
    tool = {
        "baseCommand": ["echo"],
        "inputs": {
            "f": {"type": "float", "inputBinding": {"position": 1}},
            "g": {"type": "float", "inputBinding": {"position": 2}},
            "n": {"type": "string[][]", "inputBinding": {"position": 3}},
        },
    }
    assert command_line(tool, {"f": 1.23e-05, "g": 1.23e5, "n": [["a"], ["b"]]}, {}) == "echo 0.0000123 123000 a b"


def test_a_file_literal_is_left_for_run_time() -> None:
    tool = {"baseCommand": ["cat"], "inputs": {"f": {"type": "File", "inputBinding": {}}}}
    with pytest.raises(NotStatic):
        command_line(tool, {"f": {"class": "File", "contents": "hi"}}, {})


@pytest.mark.parametrize("position", ["zzzz", float("nan"), float("inf"), True, [1]])
def test_a_position_that_is_no_number_is_a_cwl_error(position: object) -> None:
    # regression (fuzz): `position: zzzz` was "ValueError: invalid literal for int()", a traceback
    from cwlpilot.semantics.cwl.errors import CwlError

    tool = {"baseCommand": ["echo"], "inputs": {"x": {"type": "string", "inputBinding": {"position": position}}}}
    with pytest.raises(CwlError, match="a binding's `position` must be a number"):
        command_line(tool, {"x": "a"}, {})
    assert command_line({**tool, "inputs": {"x": {"inputBinding": {"position": 2.0}}}}, {"x": "a"}, {}) == "echo a"
