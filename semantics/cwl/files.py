"""CWL File and Directory objects on the local file system: derived fields, checksums, listings.

Objects are plain dicts with an absolute `path`; `location` is the matching `file://` URI.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from cwlpilot.semantics.cwl.errors import CwlError

CONTENTS_LIMIT = 64 * 1024  # CWL: loadContents reads at most 64 KiB


def is_file(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("class") in ("File", "Directory")


def uri(path: str) -> str:
    return "file://" + quote(path, safe="/")


def path_of(obj: Mapping[str, Any], base: str = "") -> str | None:
    """The local path of a File/Directory object: its `path`, else its `location` (a URI, so unquoted)."""
    if obj.get("path") and not str(obj["path"]).startswith("file://"):
        where = str(obj["path"])
    elif obj.get("path"):  # the loader may have made a relative `path` a URI
        where = unquote(str(obj["path"]).removeprefix("file://"))
    elif obj.get("location"):
        where = unquote(str(obj["location"]).removeprefix("file://"))
    else:
        return None
    return os.path.normpath(os.path.join(base, where))


def resolved(value: Any, base: str) -> Any:
    """File and Directory objects with absolute `path` and the derived name fields CWL defines."""
    if isinstance(value, list):
        return [resolved(v, base) for v in value]
    if not isinstance(value, Mapping):
        return value
    if value.get("class") not in ("File", "Directory") or not (value.get("path") or value.get("location")):
        return {k: resolved(v, base) for k, v in value.items()}
    path = path_of(value, base) or base
    # a given basename is kept: the file is then linked under that name when the tool runs
    out = {**value, "path": path, "basename": value.get("basename") or posixpath.basename(path)}
    out["dirname"] = posixpath.dirname(path)
    out["location"] = uri(path)  # expressions may read it (`inputs.f.location`)
    for key in ("secondaryFiles", "listing"):
        if isinstance(value.get(key), list):
            out[key] = resolved(value[key], base)
    if value["class"] == "File":
        root, ext = posixpath.splitext(out["basename"])
        out.update(nameroot=root, nameext=ext)
    return out


def named(obj: Mapping[str, Any], path: str) -> dict[str, Any]:
    """`obj` at `path`, with location, basename, dirname, nameroot and nameext set from it."""
    out = dict(obj)
    out.update(path=path, location=uri(path), basename=posixpath.basename(path), dirname=posixpath.dirname(path))
    if out.get("class") == "File":
        root, ext = posixpath.splitext(out["basename"])
        out.update(nameroot=root, nameext=ext)
    return out


def describe(path: str, with_checksum: bool = True) -> dict[str, Any]:
    """A File or Directory object for an existing path (a Directory with its full listing)."""
    if os.path.isdir(path):
        return named({"class": "Directory", "listing": listing(path, with_checksum)}, path)
    obj = named({"class": "File", "size": os.path.getsize(path)}, path)
    if with_checksum:
        obj["checksum"] = checksum(path)
    return obj


def listing(path: str, with_checksum: bool = True) -> list[dict[str, Any]]:
    return [describe(os.path.join(path, name), with_checksum) for name in sorted(os.listdir(path))]


def checksum(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return "sha1$" + digest.hexdigest()


def contents(path: str) -> str:
    """loadContents: the file's text; CWL 1.2 makes a file over 64 KiB an error rather than cut it."""
    with open(path, "rb") as handle:
        data = handle.read(CONTENTS_LIMIT + 1)
    if len(data) > CONTENTS_LIMIT:
        raise CwlError(f"{path}: loadContents reads at most 64 KiB and this file is larger")
    return data.decode("utf-8", errors="replace")


def with_contents(value: Any) -> Any:
    """Files with their text in `contents` (CWL's loadContents), read now."""

    def load(obj: dict[str, Any]) -> dict[str, Any]:
        if obj.get("class") == "File" and "contents" not in obj and obj.get("path"):
            return {**obj, "contents": contents(obj["path"])}
        return obj

    return walk(value, load)


def secondary_name(primary: str, pattern: str) -> str:
    """CWL's secondaryFiles pattern: each leading `^` strips one extension, the rest is appended."""
    while pattern.startswith("^"):
        root, ext = posixpath.splitext(primary)
        primary = root if ext else primary
        pattern = pattern[1:]
    return primary + pattern


def walk(value: Any, fn: Callable[[dict[str, Any]], Any]) -> Any:
    """`value` with every File/Directory object replaced by `fn(obj)` (objects nested in listings too)."""
    if isinstance(value, list):
        return [walk(v, fn) for v in value]
    if not isinstance(value, Mapping):
        return value
    if is_file(value):
        obj = dict(value)
        for key in ("secondaryFiles", "listing"):
            if isinstance(obj.get(key), list):
                obj[key] = [walk(v, fn) for v in obj[key]]
        return fn(obj)
    return {k: walk(v, fn) for k, v in value.items()}


def listed(obj: dict[str, Any], depth: str) -> dict[str, Any]:
    """A Directory read from disk with as much `listing` as loadListing asks for (others unchanged)."""
    if not obj.pop("$listed", False) or obj.get("class") != "Directory":
        return obj
    if depth == "no_listing":
        obj.pop("listing", None)
    elif depth == "shallow_listing":
        obj["listing"] = [{k: v for k, v in item.items() if k != "listing"} for item in obj.get("listing", [])]
    return obj


def walk_top(value: Any, fn: Callable[[dict[str, Any]], Any]) -> Any:
    """Like `walk`, but only the outermost File/Directory objects (not their secondaryFiles or listings)."""
    if isinstance(value, list):
        return [walk_top(v, fn) for v in value]
    if not isinstance(value, Mapping):
        return value
    if is_file(value):
        return fn(dict(value))
    return {k: walk_top(v, fn) for k, v in value.items()}


def write_literal(obj: Mapping[str, Any], where: Path) -> dict[str, Any]:
    """A File given by `contents` only, written under `where` so a command can read it."""
    where.mkdir(parents=True, exist_ok=True)
    name = str(obj.get("basename") or "file")
    target = where / name
    target.write_text(str(obj.get("contents", "")), encoding="utf-8")
    return named({**obj}, str(target))
