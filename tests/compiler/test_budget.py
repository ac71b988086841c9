"""compiler.budget: a plan's stages and estimated size are counted as they are made, and refused beyond the limits."""

from __future__ import annotations

import pytest

from cwlpilot.compiler import ir, limits
from cwlpilot.compiler.budget import Budget, json_size
from cwlpilot.compiler.errors import CompilerError, Pos

STEP = ir.Step(id="s", pos=Pos("wf.cwl", 7, 3), run=None)


def test_stages_beyond_the_limit() -> None:
    budget = Budget()
    budget.spend(limits.MAX_STAGES, 0, STEP)
    with pytest.raises(CompilerError, match=r"^wf.cwl:7:3: step 's': the plan has more than 20000 stages"):
        budget.spend(1, 0, STEP)


def test_size_beyond_the_limit() -> None:
    budget = Budget()
    budget.spend(1, limits.MAX_PLAN_BYTES, STEP)
    with pytest.raises(CompilerError, match=r"the plan is larger than 32 MB by this step"):
        budget.spend(1, 1, STEP)


def test_a_tools_data_is_measured_once() -> None:
    budget, tool = Budget(), object()
    assert budget.tool_size(tool, {"a": "x" * 10}) == json_size({"a": "x" * 10}) == 19  # type: ignore[arg-type]
    assert budget.tool_size(tool, {"a": "longer, but the same tool"}) == 19  # type: ignore[arg-type]


def test_values_are_sized_as_json_would_write_them() -> None:
    from cwlpilot.compiler.budget import values_size

    job = {"s": "text", "n": 12, "none": None, "ref": {"$ref": "a/out"}, "list": [1, 2, "three"]}
    written = json_size(job)
    assert written - 20 <= values_size(job) <= written + 40
    assert values_size({"big": "x" * 1_000_000}) > 1_000_000
