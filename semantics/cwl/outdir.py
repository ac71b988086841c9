"""Delivering a workflow's output Files and Directories into an output directory, laid out as cwltool does.

cwltool (`process.relocateOutputs`, `PathMapper(..., separateDirs=False)`, `stage_files(fix_conflicts=True)`,
`utils.dedup`): every File or Directory of the output object, outermost first, goes to `OUTDIR/<basename>`;
a Directory is copied whole and what lies inside it is found inside the copy (a File output that is also
in a Directory output is not copied again at the top); the same source is copied once; a later different
source with a name already taken becomes `name_2`, `name_3`, ... while its `basename` stays the
original one. Secondary files go beside their primary file, by the same rule.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from cwlpilot.semantics.cwl import files


def deliver(result: Any, outdir: Path) -> Any:
    """The output object `result` with its Files and Directories copied into `outdir` (created)."""
    outdir.mkdir(parents=True, exist_ok=True)
    inside = _listed(result)
    placed: dict[str, Path] = {}  # real path of a source (or of what a Directory holds) -> where it went
    taken: set[Path] = set()
    for obj in _outermost(result):
        source = _real(obj)
        if source is None or source in placed or source in inside:
            continue
        placed[source] = _copy(source, outdir, str(obj.get("basename") or os.path.basename(source)), taken)
        if os.path.isdir(source):
            placed.update({real: placed[source] / rel for real, rel in _entries(source)})
    return _relocated(result, placed)


def _real(obj: Mapping[str, Any]) -> str | None:
    path = files.path_of(obj)
    return os.path.realpath(path) if path is not None and os.path.exists(path) else None


def _outermost(value: Any) -> Iterator[Mapping[str, Any]]:
    """Files and Directories in output order, each before its secondary files; not what Directories list."""
    if isinstance(value, list):
        for item in value:
            yield from _outermost(item)
    elif isinstance(value, Mapping):
        if files.is_file(value):
            yield value
            yield from _outermost(value.get("secondaryFiles") or [])
        else:
            for item in value.values():
                yield from _outermost(item)


def _listed(value: Any) -> set[str]:
    """Real paths of everything inside the Directories of the output object (`utils.dedup`'s marks)."""
    found: set[str] = set()
    for obj in _outermost(value):
        source = _real(obj)
        if obj.get("class") == "Directory" and source is not None:
            found.update(real for real, _ in _entries(source))
    return found


def _entries(directory: str) -> Iterator[tuple[str, str]]:
    """(real path, path relative to `directory`) of everything inside it; an entry that is a link (an
    ExpressionTool's Directory links the files it lists) stands for what it links to."""
    for root, dirs, names in os.walk(directory, followlinks=True):
        for name in (*dirs, *names):
            path = os.path.join(root, name)
            yield os.path.realpath(path), os.path.relpath(path, directory)


def _copy(source: str, outdir: Path, name: str, taken: set[Path]) -> Path:
    """Copy `source` to `outdir/name`, or `name_2`, `name_3`, ... when that name is taken already."""
    target, n = outdir / name, 2
    while target in taken or (target.exists() and os.path.realpath(target) != source):
        target, n = outdir / f"{name}_{n}", n + 1
    taken.add(target)
    if os.path.realpath(target) != source:
        if os.path.isdir(source):
            shutil.copytree(source, target, symlinks=False, dirs_exist_ok=True)
        else:
            shutil.copyfile(source, target)
    return target


def _relocated(value: Any, placed: Mapping[str, Path]) -> Any:
    """Every File and Directory object pointed at its copy (inside a copied Directory when it lies in one)."""

    def move(obj: dict[str, Any]) -> dict[str, Any]:
        source = _real(obj)
        target = _target(source, placed) if source is not None else None
        if target is None:
            return obj
        described = files.describe(str(target))
        keep = {k: v for k, v in obj.items() if k in ("format", "contents", "secondaryFiles")}
        out = {**described, **keep}
        basename = str(obj.get("basename") or os.path.basename(source or ""))
        if basename and out.get("class") == "File":  # `a.txt_2` is still the File `a.txt`
            root, ext = os.path.splitext(basename)
            out.update(basename=basename, nameroot=root, nameext=ext)
        return out

    return files.walk(value, move)


def _target(source: str, placed: Mapping[str, Path]) -> Path | None:
    return placed.get(source)
