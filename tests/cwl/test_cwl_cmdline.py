"""Tests for cwlpilot.cwl.cmdline: CWL command-line binding rules on plain data."""

from __future__ import annotations

import pytest

from cwlpilot.cwl.cmdline import command_line
from cwlpilot.cwl.params import NotStatic

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
