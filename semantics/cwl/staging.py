"""Preparing a tool's job on disk before it runs: File fields, literal files, secondaryFiles, loadContents,
and the InitialWorkDirRequirement listing staged into the output directory.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import stat
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl.collect import with_secondary
from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import Evaluator


class StagingError(CwlError):
    """An input or InitialWorkDir entry cannot be put in place."""


def prepare_job(
    job: Mapping[str, Any],
    inputs: Mapping[str, Any],
    scratch: Path,
    ev: Evaluator,
    discover: bool = False,
    listing: str = "deep_listing",
) -> dict[str, Any]:
    """`job` with File/Directory fields filled in, literal files written under `scratch`, and each
    input's secondaryFiles (checked; looked for on disk with `discover`, for a run's own inputs),
    loadContents and loadListing (`listing` unless the input says) applied as `inputs` declares them."""
    ready = {k: files.walk(v, _filler(scratch)) for k, v in job.items()}
    for name, value in ready.items():
        depth = str((inputs.get(name) or {}).get("loadListing") or listing)
        value = files.walk_top(value, functools.partial(files.listed, depth=depth))
        ready[name] = files.walk(value, _unmark)
    return _declared(ready, inputs, ev, discover)


def _unmark(obj: dict[str, Any]) -> dict[str, Any]:
    obj.pop("$listed", None)
    return obj


def _filler(scratch: Path) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def fill(obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("class") == "File" and "contents" in obj and not (obj.get("path") or obj.get("location")):
            return files.write_literal(obj, scratch / f"literal{len(list(scratch.glob('literal*')))}")
        path = files.path_of(obj)
        if path is None:
            if obj.get("class") == "Directory" and "listing" in obj:
                return _literal_dir(obj, scratch)
            return obj
        wanted = obj.get("basename")
        if wanted and wanted != os.path.basename(path) and os.path.exists(path):
            # renamed upstream (e.g. by an ExpressionTool): the tool must see the new name
            target = scratch / f"renamed{len(list(scratch.glob('renamed*')))}" / str(wanted)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.symlink(path, target)
            path = str(target)
        out = files.named(obj, path)
        if out["class"] == "File" and "size" not in out and os.path.isfile(path):
            out["size"] = os.path.getsize(path)
        if out["class"] == "Directory" and os.path.isdir(path):
            # listed now, not when it was produced: an in-place update may have changed it since
            out["listing"] = files.listing(path, with_checksum=False)
            out["$listed"] = True  # from disk, so loadListing decides how much of it the tool sees
        return _beside(out, scratch) if out.get("secondaryFiles") else out

    return fill


def _beside(obj: dict[str, Any], scratch: Path) -> dict[str, Any]:
    """A File whose secondary files are not all next to it under their basenames is linked, with them,
    into a directory of its own: CWL promises the tool finds them beside the primary file."""
    home = obj["dirname"]
    secondary = obj["secondaryFiles"]
    if all(s.get("path") == os.path.join(home, str(s.get("basename"))) for s in secondary if s.get("path")):
        return obj
    group = scratch / f"group{len(list(scratch.glob('group*'))) if scratch.exists() else 0}"
    group.mkdir(parents=True)
    moved = []
    for item in secondary:
        if item.get("path"):
            target = group / str(item.get("basename") or os.path.basename(item["path"]))
            os.symlink(item["path"], target)
            item = files.named(item, str(target))
        moved.append(item)
    os.symlink(obj["path"], group / obj["basename"])
    return {**files.named(obj, str(group / obj["basename"])), "secondaryFiles": moved}


def _declared(ready: dict[str, Any], inputs: Mapping[str, Any], ev: Evaluator, discover: bool) -> dict[str, Any]:
    for name, spec in inputs.items():
        value = ready.get(name)
        if value is None:
            continue
        context: dict[str, Any] = {"inputs": ready, "self": None, "runtime": {}}
        if spec.get("secondaryFiles"):
            value = _secondary(value, spec["secondaryFiles"], context, ev, discover)
        if isinstance(spec.get("schema"), Mapping) and spec["schema"].get("type") == "record":
            value = record_secondary(value, spec["schema"], context, ev, discover)
        if spec.get("loadContents"):
            value = files.with_contents(value)
        ready[name] = value
    return ready


def record_secondary(
    value: Any, schema: Mapping[str, Any], context: Mapping[str, Any], ev: Evaluator, discover: bool
) -> Any:
    if not isinstance(value, Mapping):
        return value
    out = dict(value)
    for field in schema.get("fields", []):
        patterns = field.get("secondaryFiles")
        if patterns and out.get(field["name"]) is not None:
            out[field["name"]] = _secondary(out[field["name"]], patterns, context, ev, discover)
    return out


def _secondary(value: Any, patterns: Any, context: Mapping[str, Any], ev: Evaluator, discover: bool) -> Any:
    def one(obj: dict[str, Any]) -> dict[str, Any]:
        return with_secondary(obj, patterns, context, ev, True, discover)

    return files.walk_top(value, one)


def _literal_dir(obj: dict[str, Any], scratch: Path) -> dict[str, Any]:
    target = scratch / str(obj.get("basename") or "dir")
    target.mkdir(parents=True, exist_ok=True)
    for item in obj.get("listing") or []:
        path = files.path_of(item)
        if path:
            _place(path, str(target / str(item.get("basename") or os.path.basename(path))), True)
        elif "contents" in item:
            (target / str(item.get("basename"))).write_text(str(item["contents"]), encoding="utf-8")
    return files.describe(str(target), with_checksum=False)


def stage_initial_workdir(
    listing: Any, job: dict[str, Any], outdir: Path, context: Mapping[str, Any], ev: Evaluator, inplace: bool = False
) -> dict[str, Any]:
    """Put the listing's entries in `outdir`; return `job` with staged inputs pointing at their copies.

    With `inplace` (InplaceUpdateRequirement) writable entries are links, so the tool changes the originals."""
    moved: dict[str, str] = {}
    context = {**context, "inplace": inplace}
    entries = ev(listing, context) if isinstance(listing, str) else listing
    for entry in _flat(entries):
        if isinstance(entry, str):
            entry = ev(entry, context)
        for item in _flat(entry):
            _stage_entry(item, outdir, context, ev, moved)
    if not moved:
        return job

    def repoint(obj: dict[str, Any]) -> dict[str, Any]:
        path = obj.get("path")
        return files.named(obj, moved[path]) if path in moved else obj

    return {k: files.walk(v, repoint) for k, v in job.items()}


def _flat(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return [x for v in value for x in _flat(v)]
    return [value]


def _stage_entry(item: Any, outdir: Path, context: Mapping[str, Any], ev: Evaluator, moved: dict[str, str]) -> None:
    if not isinstance(item, Mapping):
        raise StagingError(f"InitialWorkDir entry {item!r} is not a File, Directory or Dirent")
    if files.is_file(item):
        _stage_object(
            item,
            outdir / str(item.get("basename") or ""),
            bool(item.get("writable")) and not context.get("inplace"),
            moved,
        )
        return
    name = ev(item.get("entryname"), context) if item.get("entryname") else None
    value = ev(item.get("entry"), context, strip=False)
    if value is None or value == []:
        return  # CWL 1.2: an entry that evaluates to null (or nothing) stages nothing
    writable = bool(item.get("writable")) and not context.get("inplace")
    if (
        isinstance(value, Mapping)
        and files.is_file(value)
        or isinstance(value, list)
        and value
        and all(isinstance(v, Mapping) and files.is_file(v) for v in value)
    ):
        for obj in _flat(value):
            target = _inside(outdir, str(name or obj.get("basename")))
            _stage_object(obj, target, writable, moved)
        return
    if name is None:
        raise StagingError("InitialWorkDir entry without `entryname` must be a File or Directory")
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    target = _inside(outdir, str(name))
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8")


def _inside(outdir: Path, name: str) -> Path:
    """Where an entry named `name` goes; outside the output directory only a container could put it."""
    target = Path(os.path.normpath(outdir / name))
    if not str(target).startswith(str(outdir) + os.sep):
        raise StagingError(f"InitialWorkDir entryname '{name}' is outside the output directory")
    return target


def _stage_object(obj: Mapping[str, Any], target: Path, writable: bool, moved: dict[str, str]) -> None:
    path = files.path_of(obj)
    target.parent.mkdir(parents=True, exist_ok=True)
    if path is None:
        if "contents" in obj:
            target.write_text(str(obj["contents"]), encoding="utf-8")
        elif obj.get("class") == "Directory":
            target.mkdir(parents=True, exist_ok=True)
            for child in obj.get("listing") or []:
                _stage_object(child, target / str(child.get("basename")), writable, moved)
        return
    _place(path, str(target), writable)
    moved[path] = str(target)
    for sec in obj.get("secondaryFiles") or []:
        sec_path = files.path_of(sec)
        if sec_path:
            _place(sec_path, str(target.parent / os.path.basename(sec_path)), writable)
            moved[sec_path] = str(target.parent / os.path.basename(sec_path))


def _place(source: str, target: str, writable: bool) -> None:
    if os.path.lexists(target):
        if os.path.realpath(target) == os.path.realpath(source):
            return
        if os.path.isdir(target) and not os.path.islink(target):
            shutil.rmtree(target)
        else:
            os.unlink(target)
    if not writable:
        os.symlink(source, target)
        return
    if os.path.isdir(source):
        shutil.copytree(source, target, symlinks=False)
    else:
        shutil.copy2(source, target)
    _make_writable(target)


def _make_writable(path: str) -> None:
    """A writable copy of read-only inputs must be writable itself (copies keep the source's modes)."""
    os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    for root, dirs, names in os.walk(path):
        for name in dirs + names:
            child = os.path.join(root, name)
            if not os.path.islink(child):
                os.chmod(child, os.stat(child).st_mode | stat.S_IWUSR)
