"""Telling a PanDA-style document (`run: prun`, ...) from a standard CWL one, cheaply.

Every `check`, `compile` and `run WF.cwl` asks this first, so it imports nothing of the PanDA compiler.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cwlpilot.compiler import fastyaml
from cwlpilot.compiler.sourcefile import read_text

# Step kinds PanDA knows, by `run:` name (also written `prun.cwl`, ...). Only the first two run locally.
KINDS = ("prun", "junction", "phpo", "reana", "gitlab")


def kind_of_run(run: str, base_dir: str | None = None) -> str | None:
    """The PanDA kind a `run:` value names (`prun`, `prun.cwl`, `path/junction.cwl`), else None.

    A `prun.cwl` that exists beside the document (`base_dir`) is a real CWL file, not a PanDA kind.
    """
    base = run.rsplit("/", 1)[-1]
    stem = base[:-4] if base.endswith(".cwl") else base
    if stem not in KINDS:
        return None
    if base.endswith(".cwl") and base_dir is not None and os.path.isfile(os.path.join(base_dir, run)):
        return None
    return stem


def is_panda_document(path: str) -> bool:
    """True when `path` (or a sub-workflow it runs) has a step whose `run` is a PanDA kind (prun, ...)."""
    return _has_panda_step(os.path.abspath(path.split("#")[0]), set())


def _has_panda_step(path: str, seen: set[str]) -> bool:
    if path in seen or not os.path.isfile(path):
        return False
    seen.add(path)
    try:
        tree = fastyaml.load(read_text(path), "safe")
    except Exception:  # noqa: BLE001 - anything unreadable is left to the CWL compiler to report
        return False
    steps = tree.get("steps") if isinstance(tree, Mapping) else None
    items = steps.values() if isinstance(steps, Mapping) else steps if isinstance(steps, list) else []
    for step in items:
        run = step.get("run") if isinstance(step, Mapping) else None
        if isinstance(run, str):
            if kind_of_run(run, os.path.dirname(path)):
                return True
            if _has_panda_step(os.path.join(os.path.dirname(path), run), seen):
                return True
    return False
