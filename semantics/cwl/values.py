"""Values flowing between steps: `$ref`s to upstream outputs, merges of several sources, pickValue.

A value in a plan is plain JSON, except for two objects resolved once upstream stages have run:
`{"$ref": "STAGE/PORT"}` (the PORT of STAGE's output object) and
`{"$merge": [v, ...], "linkMerge": M, "pickValue": P}` (several sources joined as CWL says; with
`"default": D`, D replaces a null result).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cwlpilot.semantics.cwl.errors import CwlError

Reader = Callable[[str], Mapping[str, Any]]  # stage name -> its CWL output object


META = ".cwlpilot"  # inside a stage's cwd: the files the CWL kinds keep for it


def outputs_file(workdir: Path, stage: str) -> Path:
    """Where a stage's CWL output object is kept; `$ref`s to the stage are read from there."""
    return workdir / stage / META / "outputs.json"


def reader(workdir: Path) -> Reader:
    """Reads stages' output objects from `workdir` (raises OSError when a stage wrote none)."""

    def read(stage: str) -> Mapping[str, Any]:
        data: Mapping[str, Any] = json.loads(outputs_file(workdir, stage).read_text(encoding="utf-8"))
        return data

    return read


def write_outputs(stage_dir: Path, outputs: Mapping[str, Any]) -> None:
    """Writes the output object of the stage whose cwd is `stage_dir`; atomically, as its readers may be
    other processes (other pilots)."""
    path = stage_dir / META / "outputs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(outputs, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


class PickValueError(CwlError):
    """pickValue found no value, or several where exactly one is allowed."""


def is_pending(value: Any) -> bool:
    """True when `value` holds a `$ref` or `$merge` anywhere (so it is not known yet)."""
    if isinstance(value, Mapping):
        return "$ref" in value or "$merge" in value or any(is_pending(v) for v in value.values())
    if isinstance(value, list):
        return any(is_pending(v) for v in value)
    return False


def merge(
    values: list[Any], link_merge: str | None, pick_value: str | None, many: bool | None = None, name: str = ""
) -> Any:
    """Sources joined by linkMerge then filtered by pickValue, as cwltool's `object_from_state` does
    (workflow_job.py); a `$merge` object when some are pending. `name` is the sink, for messages.

    `many` says whether there were several sources: then the default linkMerge is merge_nested. A single
    source is not wrapped unless a linkMerge is given. pickValue applies only when the merged value is a
    list: on one source whose value is null or a scalar it changes nothing."""
    many = len(values) > 1 if many is None else many
    link = link_merge or ("merge_nested" if many else None)
    if any(is_pending(v) for v in values) and (pick_value or link == "merge_flattened"):
        pending = {"$merge": values, "linkMerge": link_merge, "pickValue": pick_value, "many": many}
        return {**pending, "name": name} if name else pending
    if link is None:
        merged: Any = values[0] if values else None
    elif link == "merge_flattened":
        merged = [x for v in values for x in (v if isinstance(v, list) else [v])]
    else:
        merged = list(values)
    return pick(merged, pick_value, name) if pick_value else merged


def pick(merged: Any, pick_value: str, name: str = "") -> Any:
    if not isinstance(merged, list):
        return merged
    present = [v for v in merged if v is not None]
    if pick_value == "all_non_null":
        return present
    if not present:
        raise PickValueError(f"All sources for '{name}' are null")
    if pick_value == "the_only_non_null" and len(present) > 1:
        raise PickValueError(f"Expected only one source for '{name}' to be non-null, got {merged!r}")
    return present[0]


def with_default(value: Any, default: Any) -> Any:
    """`value`, or `default` when it is null; when `value` is still pending, an object that decides once it
    is known (`{"$merge": [value], ..., "default": default}`)."""
    if is_pending(value):
        return {"$merge": [value], "linkMerge": None, "pickValue": None, "many": False, "default": default}
    return default if value is None else value


def resolve(value: Any, read: Reader) -> Any:
    """`value` with every `$ref` and `$merge` replaced by what upstream stages produced."""
    if isinstance(value, list):
        return [resolve(v, read) for v in value]
    if not isinstance(value, Mapping):
        return value
    if "$ref" in value and len(value) == 1:
        stage, _, port = str(value["$ref"]).rpartition("/")
        return read(stage).get(port)
    if "$merge" in value:
        parts = [resolve(v, read) for v in value["$merge"]]
        merged = merge(parts, value.get("linkMerge"), value.get("pickValue"), value.get("many"), value.get("name", ""))
        return value.get("default") if merged is None and "default" in value else merged
    return {k: resolve(v, read) for k, v in value.items()}


def refs(value: Any) -> list[str]:
    """The stages whose outputs `value` refers to, in first-seen order."""
    found: dict[str, None] = {}

    def walk(v: Any) -> None:
        if isinstance(v, Mapping):
            if "$ref" in v:
                found[str(v["$ref"]).rpartition("/")[0]] = None
            for item in v.values():
                walk(item)
        elif isinstance(v, list):
            for item in v:
                walk(item)

    walk(value)
    return list(found)
