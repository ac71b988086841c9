"""Telling a PanDA-style document (`run: prun`, ...) from a standard CWL one, cheaply.

Every `check`, `compile` and `run WF.cwl` asks this first, so it imports nothing of the PanDA compiler.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from cwlpilot.compiler import fastyaml
from cwlpilot.compiler.sourcefile import SourceError, read_text

# Step kinds PanDA knows, by `run:` name (pcwl_utils.WORKFLOW_NAMES). Only the first two run locally.
KINDS = ("prun", "junction", "phpo", "reana", "gitlab")
# `run:` file names the server reads as a kind without opening the file (pcwl_utils.parse_workflow_file)
_CWL_KINDS = {"prun.cwl": "prun", "phpo.cwl": "phpo"}


def kind_of_run(run: str, base_dir: str | None = None) -> str | None:
    """The PanDA kind a `run:` value names, else None (a sub-workflow, or a name PanDA does not know).

    As panda-server's `pcwl_utils.parse_workflow_file` reads it: the file name alone decides. `prun`,
    `junction`, `phpo`, `reana`, `gitlab` are kinds, and so are `prun.cwl` and `phpo.cwl`, whatever
    they hold; every other `X.cwl` (`junction.cwl` too) is a sub-workflow. `base_dir` is unused (the
    file's content never matters) and kept for callers.
    """
    base = run.rsplit("/", 1)[-1]
    if base in _CWL_KINDS:
        return _CWL_KINDS[base]
    return base if base in KINDS else None


def is_panda_document(path: str) -> bool:
    """True when `path` (or a sub-workflow it runs) has a step whose `run` is a PanDA kind (prun, ...)."""
    return _has_panda_step(os.path.abspath(path.split("#")[0]), set())


# a `run:` line naming a PanDA kind, for a document that is not valid YAML (a duplicate key, ...)
_RUN_LINE = re.compile(r"^\s*run:\s*['\"]?(prun|junction|phpo|reana|gitlab|prun\.cwl|phpo\.cwl)['\"]?\s*(#.*)?$", re.M)


def _has_panda_step(path: str, seen: set[str]) -> bool:
    if path in seen or not os.path.isfile(path):
        return False
    seen.add(path)
    try:
        text = read_text(path)
    except SourceError:
        return False  # left to the CWL compiler to report
    try:
        tree = fastyaml.load(text, "safe")
    except Exception:  # noqa: BLE001 - the PanDA checker reports what is wrong with it, if it is one
        return _RUN_LINE.search(text) is not None
    steps = tree.get("steps") if isinstance(tree, Mapping) else None
    items = steps.values() if isinstance(steps, Mapping) else steps if isinstance(steps, list) else []
    for step in items:
        run = step.get("run") if isinstance(step, Mapping) else None
        if isinstance(run, str):
            if kind_of_run(run):
                return True
            if _has_panda_step(os.path.join(os.path.dirname(path), run), seen):
                return True
    return False
