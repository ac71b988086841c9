"""Collecting a CommandLineTool's outputs from its output directory: glob, loadContents, outputEval,
secondaryFiles, format and `cwl.output.json`, as CWL defines them.
"""

from __future__ import annotations

import glob as globmod
import json
import os
from collections.abc import Mapping
from typing import Any

from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import Evaluator


class OutputError(CwlError):
    """A declared output is missing or has the wrong shape."""


def collect(
    ports: Mapping[str, Any],
    outdir: str,
    job: Mapping[str, Any],
    runtime: Mapping[str, Any],
    ev: Evaluator,
    staged: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The tool's CWL output object. `staged`: real paths the runner linked into `outdir` itself."""
    custom = os.path.join(outdir, "cwl.output.json")
    if os.path.exists(custom):
        with open(custom, encoding="utf-8") as handle:
            given = json.load(handle)
        return {port: _located(given.get(port), outdir) for port in ports}
    context = {"inputs": job, "runtime": runtime, "self": None}
    allowed = _input_paths(job) | set(staged)
    out = {}
    for port, spec in sorted(ports.items()):
        value = _port(spec, outdir, context, ev, allowed)
        if value is None and not optional(spec.get("type")):
            raise OutputError(f"output '{port}': nothing was produced (glob {spec.get('glob')})")
        out[port] = value
    return out


def optional(type_text: Any) -> bool:
    text = str(type_text or "")
    return text.endswith("?") or "null" in text or text in ("Any", "")


def _port(spec: Mapping[str, Any], outdir: str, context: Mapping[str, Any], ev: Evaluator, allowed: set[str]) -> Any:
    if spec.get("fields"):  # a record whose fields are collected one by one
        return {name: _port(f, outdir, context, ev, allowed) for name, f in sorted(spec["fields"].items())}
    globs = spec.get("glob") or []
    found: list[dict[str, Any]] = []
    if globs:
        # cwltool gives globbed Files their checksum; read them only when outputEval could look at it
        checksum = "checksum" in str(spec.get("outputEval") or "")
        for path in _matches(globs, outdir, context, ev):
            _check_link(path, outdir, allowed)
            obj = files.describe(path, with_checksum=checksum)
            if spec.get("loadContents") and obj["class"] == "File":
                obj["contents"] = files.contents(path)
            found.append(obj)
    kind = str(spec.get("type", "")).rstrip("?").removesuffix("[]")
    wrong = [f["basename"] for f in found if kind in ("File", "Directory") and f["class"] != kind]
    if wrong and not spec.get("outputEval"):
        raise OutputError(f"output of type {spec.get('type')}: glob matched {', '.join(wrong)}, not a {kind}")
    if spec.get("outputEval"):
        value = ev(spec["outputEval"], {**context, "self": found})
    elif not globs:
        return None
    elif str(spec.get("type", "")).rstrip("?") in ("File", "Directory"):
        value = found[0] if found else None
    else:
        value = found
    value = files.walk(value, lambda obj: _located(obj, outdir))
    if spec.get("loadListing"):
        value = files.walk_top(value, lambda obj: files.listed({**obj, "$listed": True}, spec["loadListing"]))
    if spec.get("secondaryFiles"):
        value = files.walk_top(value, lambda obj: with_secondary(obj, spec["secondaryFiles"], context, ev))
    if spec.get("format"):
        value = files.walk_top(value, lambda obj: {**obj, "format": ev(spec["format"], {**context, "self": obj})})
    return value


def _input_paths(job: Any) -> set[str]:
    """Real paths of every File and Directory in the job: outputs may be links to these."""
    found: set[str] = set()

    def add(obj: dict[str, Any]) -> dict[str, Any]:
        path = files.path_of(obj)
        if path:
            found.add(os.path.realpath(path))
        return obj

    files.walk(job, add)
    return found


def _check_link(path: str, outdir: str, allowed: set[str]) -> None:
    """A link out of the output directory to anything but an input is refused (it could point anywhere)."""
    if not os.path.islink(path):
        return
    real = os.path.realpath(path)
    inside = real.startswith(os.path.realpath(outdir) + os.sep)
    if not inside and not any(real == a or real.startswith(a + os.sep) for a in allowed):
        raise OutputError(f"{os.path.basename(path)} links to {real}, outside the output directory")


def _matches(globs: list[Any], outdir: str, context: Mapping[str, Any], ev: Evaluator) -> list[str]:
    patterns: list[str] = []
    for g in globs:
        value = ev(g, context)
        patterns.extend(value if isinstance(value, list) else [value])
    seen: dict[str, None] = {}
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        full = pattern if os.path.isabs(pattern) else os.path.join(globmod.escape(outdir), pattern)
        for path in sorted(globmod.glob(full)):
            seen[os.path.normpath(path)] = None
    return list(seen)


def _located(value: Any, outdir: str) -> Any:
    """File objects whose location or path is relative to the output directory made absolute."""

    def fix(obj: dict[str, Any]) -> dict[str, Any]:
        path = files.path_of(obj, outdir)
        if path is None:
            return obj
        fixed = files.named(obj, path)
        if fixed["class"] == "File" and "size" not in fixed and os.path.isfile(path):
            fixed["size"] = os.path.getsize(path)
        if fixed["class"] == "Directory" and "listing" not in fixed and os.path.isdir(path):
            fixed["listing"] = files.listing(path, with_checksum=False)
        return fixed

    return files.walk(value, fix)


def with_secondary(
    obj: dict[str, Any],
    patterns: Any,
    context: Mapping[str, Any],
    ev: Evaluator,
    required_default: bool = False,
    discover: bool = True,
) -> dict[str, Any]:
    """`obj` with the secondary files its patterns name that exist next to it (required ones must:
    CWL's default is required for inputs, optional for outputs). Without `discover`, only those `obj`
    already lists count: a step's inputs carry what the workflow's inputs or upstream outputs found.
    A secondary file is known by its basename, as the tool will see it beside the primary file."""
    if obj.get("class") != "File" or not obj.get("path"):
        return obj
    found = list(obj.get("secondaryFiles") or [])
    names = {str(f.get("basename") or os.path.basename(str(files.path_of(f)))) for f in found}
    for entry in patterns if isinstance(patterns, list) else [patterns]:
        pattern, required = _pattern(entry, obj, context, ev, required_default)
        computed = "$(" in str(pattern) or "${" in str(pattern)
        wanted = ev(pattern, {**context, "self": obj}) if computed else pattern
        for name in wanted if isinstance(wanted, list) else [wanted]:
            candidate = _candidate(obj, name, computed)
            if candidate is None or candidate["basename"] in names:
                continue
            if discover and os.path.exists(candidate["path"]):
                found.append(candidate)
                names.add(candidate["basename"])
            elif required:
                raise OutputError(f"the secondary file {candidate['basename']} of {obj['path']} is missing")
    return {**obj, "secondaryFiles": found} if found else obj


def _pattern(
    entry: Any, obj: Mapping[str, Any], context: Mapping[str, Any], ev: Evaluator, default: bool
) -> tuple[Any, bool]:
    pattern, required = (entry.get("pattern"), entry.get("required")) if isinstance(entry, Mapping) else (entry, None)
    if isinstance(pattern, str) and pattern.endswith("?"):  # `.bai?`: an optional secondary file
        pattern, required = pattern[:-1], False
    if isinstance(required, str):
        required = bool(ev(required, {**context, "self": obj}))
    return pattern, default if required is None else bool(required)


def _candidate(obj: Mapping[str, Any], name: Any, computed: bool) -> dict[str, Any] | None:
    """The secondary file a pattern's result names (None for nothing), with the basename it will have."""
    home = str(obj["dirname"])
    if isinstance(name, Mapping):
        path = files.path_of(name, home)
        if path is None:
            return None
        described = files.describe(path, with_checksum=False) if os.path.exists(path) else files.named(dict(name), path)
        return {**described, "basename": str(name.get("basename") or os.path.basename(path))}
    if not name:
        return None
    # an expression gives the file name itself; a plain pattern is applied to the primary's name
    base = str(name) if computed else files.secondary_name(str(obj["basename"]), str(name))
    path = os.path.join(home, base)
    return files.describe(path, with_checksum=False) if os.path.exists(path) else {"path": path, "basename": base}
