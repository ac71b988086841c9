"""Stage templates: the stages of a sub-workflow (or a loop's body) written once, instantiated at run time.

A sub-workflow scattered over values produced upstream, or a `cwltool:Loop` step, does not know at
compile time how many times its body runs. The compiler writes the body's stages once, as templates:
their names start with a marker (`step@`), and the body's inputs are `{"$ref": "step@in/PORT"}`. At run
time the step's kind instantiates them per scatter instance (`step[0]`, `step[1]`, ...) or per loop
iteration (`step#0`, `step#1`, ...): the marker becomes the instance's prefix wherever a stage name is
written (names, `cwd`, `needs`, `$ref`s, `dependents`, the templates of nested steps), and each input
reference becomes the instance's value of that input.

Pure: plain JSON in, plain JSON out.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

INPUTS = "in"  # `{"$ref": MARKER + "in/PORT"}` is the body's input PORT
_AFTER_MARKER = (".", "/", "#", "[")

# stage kinds that add stages when they run; the stages reading their outputs must wait for those
EXPANDING = frozenset({"cwl_subworkflow", "cwl_loop"})


def marker(name: str) -> str:
    """The marker of the templates of the step whose stage is `name`."""
    return name + "@"


def input_ref(mark: str, port: str) -> dict[str, str]:
    return {"$ref": f"{mark}{INPUTS}/{port}"}


def instantiate(
    templates: Sequence[Mapping[str, Any]], mark: str, prefix: str, values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The stages of one instance: `mark` replaced by `prefix`, the inputs by `values`."""
    inputs = f"{mark}{INPUTS}"
    return [_walk(t, mark, prefix, inputs, values) for t in templates]


def instantiate_value(value: Any, mark: str, prefix: str, values: Mapping[str, Any]) -> Any:
    """A value written in terms of the templates (the body's outputs, say) for one instance."""
    return _walk(value, mark, prefix, f"{mark}{INPUTS}", values)


def _walk(value: Any, mark: str, prefix: str, inputs: str | None, values: Mapping[str, Any]) -> Any:
    if isinstance(value, str):
        return _renamed(value, mark, prefix)
    if isinstance(value, list):
        return [_walk(v, mark, prefix, inputs, values) for v in value]
    if not isinstance(value, Mapping):
        return value
    ref = value.get("$ref")
    if inputs is not None and isinstance(ref, str) and len(value) == 1 and ref.startswith(inputs + "/"):
        return copy.deepcopy(values.get(ref[len(inputs) + 1 :]))
    out = {}
    for key, item in value.items():
        if key == "needs" and isinstance(item, list) and inputs is not None:
            item = [n for n in item if n != inputs]  # the inputs are values now, not a stage to wait for
        out[key] = _walk(item, mark, prefix, inputs, values)
    return out


def _renamed(text: str, mark: str, prefix: str) -> str:
    if text.startswith(mark) and (len(text) == len(mark) or text[len(mark)] in _AFTER_MARKER):
        return prefix + text[len(mark) :]
    return text


def expands(stage: Mapping[str, Any]) -> bool:
    """Does this stage add stages when it runs (so that its readers must wait for what it adds)?"""
    if stage.get("kind") in EXPANDING:
        return True
    step = (stage.get("data") or {}).get("step") or {}
    return stage.get("kind") == "cwl_tool" and bool(step.get("scatter"))


def mark_expansions(stages: Sequence[dict[str, Any]]) -> None:
    """Set `data.dependents` of each expanding stage: the stages of `stages` that need it (kept in order,
    added to those it already names)."""
    readers: dict[str, list[str]] = {}
    for stage in stages:
        for need in stage.get("needs") or ():
            readers.setdefault(need, []).append(stage["name"])
    for stage in stages:
        if expands(stage):
            data = stage.setdefault("data", {})
            known = list(data.get("dependents") or [])
            data["dependents"] = known + [r for r in readers.get(stage["name"], []) if r not in known]
