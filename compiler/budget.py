"""What a compiled plan may take of compiler.limits (stages, size), counted while its stages are made.

A stage's size is estimated as its command plus what it shares with the other instances of its step (the
tool's data, the inputs that are not scattered), measured once per step: shared objects cost nothing in
memory but are written out once per stage, so a 4 MB default scattered 20,000 ways is an 80 GB plan.
Counting while the stages are made stops such a plan before it is made.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cwlpilot.compiler import ir, limits
from cwlpilot.compiler.errors import CompilerError


@dataclass
class Budget:
    """What the plan has taken so far of limits.MAX_STAGES and limits.MAX_PLAN_BYTES."""

    stages: int = 0
    size: int = 0
    tools: dict[int, int] = field(default_factory=dict)  # id(tool) -> the JSON size of its data, measured once

    def tool_size(self, run: ir.Process, data: Mapping[str, Any]) -> int:
        """The size of a tool's data in a stage (the same in every step that runs it, within a few bytes)."""
        if id(run) not in self.tools:
            self.tools[id(run)] = json_size(data)
        return self.tools[id(run)]

    def spend(self, stages: int, size: int, step: ir.Step) -> None:
        self.stages += stages
        self.size += size
        if self.stages > limits.MAX_STAGES:
            raise CompilerError(f"{step.pos}: step '{step.id}': the plan has more than {limits.MAX_STAGES} "
                                "stages by this step, the most a compiled plan may have")
        if self.size > limits.MAX_PLAN_BYTES:
            raise CompilerError(f"{step.pos}: step '{step.id}': the plan is larger than "
                                f"{limits.MAX_PLAN_BYTES // 2**20} MB by this step, the most a compiled plan may be")


def values_size(values: Mapping[str, Any]) -> int:
    """About the JSON size of a job's values; the usual small ones (text, numbers, a `$ref` to an upstream
    output) are sized without writing them out, which costs 4 us a step."""
    size = 0
    for key, value in values.items():
        kind = type(value)
        if kind is str:
            size += len(key) + len(value) + 6
        elif value is None or kind in (int, float, bool):
            size += len(key) + 12
        elif kind is dict and len(value) == 1 and type(value.get("$ref")) is str:
            size += len(key) + len(value["$ref"]) + 14
        else:
            size += len(key) + 4 + json_size(value)
    return size


def json_size(value: Any) -> int:
    """The length of `value` written as JSON (what JSON cannot hold counts as its text)."""
    try:
        return len(json.dumps(value))  # without arguments json reuses one encoder: 5x faster on small values
    except (TypeError, ValueError):
        return len(json.dumps(value, default=str))
