"""Loop iterations from templates: the body's stages with `@ITER@` where the loop count goes.

The compiler writes one iteration's stages as templates (kept in the junction's data); the junction's
kind instantiates the next iteration from them at run time. Both sides use this one function, so an
iteration made at run time is exactly what the compiler would have written.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

MARK = "@ITER@"
FIRST = 1  # the first iteration's count, as iDDS counts a loop's runs (Workflow.num_run starts at 1)
# user text is never rewritten: a command may contain anything
_VERBATIM = ("exec", "args", "params", "loop", "param_values")


def instantiate(template: Mapping[str, Any], iteration: int, params: Mapping[str, Any]) -> dict[str, Any]:
    """The stage of `template` for loop count `iteration`, with the loop dictionary `params`."""
    stage = _walk(copy.deepcopy(dict(template)), str(iteration))
    data = stage.setdefault("data", {})
    panda = data.setdefault("panda", {})
    panda["iteration"] = iteration
    panda["params"] = copy.deepcopy(dict(params))
    return stage


def _walk(value: Any, it: str) -> Any:
    if isinstance(value, str):
        return value.replace(MARK, it)
    if isinstance(value, list):
        return [_walk(v, it) for v in value]
    if isinstance(value, dict):
        return {k: (v if k in _VERBATIM else _walk(v, it)) for k, v in value.items()}
    return value
