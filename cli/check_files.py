"""Which files `cwlpilot check PATH...` checks: folders walked, documents and plans told apart by what they hold.

A folder is walked recursively (in name order; folders whose names start with `.` are left out, as
`.git`) for `*.cwl` and `*.json`. A file is checked as a CWL document when it has `class`, `cwlVersion`
or `$graph` at the top (or cannot be read or parsed at all, so that the reason is reported), as a stages
plan when it is a JSON object with a `stages` list of stages; a file named on the command line right after a
document is that document's inputs file, as `check WF.cwl INPUTS.yml` has always read. Anything else is
skipped with a note saying why.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ruamel.yaml.error import MarkedYAMLError

from cwlpilot.argparsing import UsageError
from cwlpilot.compiler import fastyaml
from cwlpilot.compiler.report import Skipped
from cwlpilot.compiler.sourcefile import SourceError, read_text
from cwlpilot.compiler.yamlsrc import display_path

PLAN_BYTES = 256 * 2**20  # the most a plan file may be (executor.planfile reads it so)
_TOP_KEY = re.compile(r"^(?:cwlVersion|class|\$graph|[\"'](?:cwlVersion|class|\$graph)[\"'])\s*:", re.M)
_NOT_A_DOCUMENT = "no `class`, `cwlVersion` or `$graph`: not a CWL document (a file others `$import`?)"
_NOT_A_PLAN = "a JSON file that is neither a stages plan (no `stages` list of stages) nor a CWL document"


@dataclass(frozen=True)
class Target:
    """A file to check: `kind` is `cwl` (a CWL or PanDA document, told apart when it is checked), `plan`,
    or `panda` (read as a PanDA document whatever it holds); `inputs` its inputs file."""

    path: str
    kind: str
    inputs: str | None = None


def discover(args: Sequence[str]) -> tuple[list[Target], list[Skipped]]:
    """The files to check in the order given, and those skipped; UsageError for a path that does not exist."""
    targets: list[Target] = []
    skipped: list[Skipped] = []
    waiting = False  # the last target is a document named on the command line, without an inputs file yet
    for arg in args:
        if os.path.isdir(arg):
            for path in _walk(arg):
                kind, reason = _in_folder(path)
                if kind is None:
                    skipped.append(Skipped(display_path(path), reason))
                else:
                    targets.append(Target(path, kind))
            waiting = False
            continue
        if not os.path.exists(arg) and not os.path.isfile(arg.rsplit("#", 1)[0]):
            raise UsageError(f"cwlpilot check: no such file: {arg}")
        kind, inputs_like = _named(arg) if os.path.exists(arg) else ("cwl", False)  # FILE#ID
        if waiting and inputs_like:
            targets[-1] = Target(targets[-1].path, "cwl", arg)
            waiting = False
        elif kind is None:
            skipped.append(Skipped(display_path(arg), _NOT_A_PLAN if arg.endswith(".json") else _NOT_A_DOCUMENT))
        else:
            targets.append(Target(arg, kind))
            waiting = kind == "cwl"
    return targets, skipped


def _walk(folder: str) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [os.path.join(root, f) for f in files if f.endswith((".cwl", ".json"))]
    return sorted(found, key=lambda path: path.split(os.sep))


def _named(path: str) -> tuple[str | None, bool]:
    """What a file named on the command line is checked as (None: nothing), and whether it may be the
    inputs file of the document before it. What cannot be read or parsed is checked, so that its reader
    says why, unless it is that inputs file."""
    if path.endswith(".cwl"):
        return "cwl", False
    if path.endswith(".json"):
        doc, ok = _json(path)
        if not ok:
            return "plan", True
        return _json_kind(doc), _json_kind(doc) is None
    tree, ok = _yaml(path)
    if not ok:
        return "cwl", True
    return ("cwl", False) if tree is _DOCUMENT or _is_document(tree) else (None, True)


def _in_folder(path: str) -> tuple[str | None, str]:
    """What a file found in a folder is checked as, or None and why it is skipped."""
    if path.endswith(".json"):
        doc, ok = _json(path)
        if not ok:  # a plan that does not parse is reported; any other JSON that does not is no workflow
            return ("plan", "") if doc == "stages" else (None, "not JSON: neither a stages plan nor a CWL document")
        kind = _json_kind(doc)
        return kind, "" if kind else _NOT_A_PLAN
    tree, ok = _yaml(path)
    if not ok or tree is _DOCUMENT or _is_document(tree):
        return "cwl", ""
    return None, _NOT_A_DOCUMENT


_DOCUMENT = object()  # what `_yaml` gives for a text that has a document's keys at its top


def _json(path: str) -> tuple[object, bool]:
    """The parsed JSON and True; else ("stages" when the text names them, None) and False."""
    try:
        text = read_text(path, limit=PLAN_BYTES)
    except SourceError:
        return None, False
    try:
        return json.loads(text), True
    except (ValueError, RecursionError):
        return ("stages" if '"stages"' in text else None), False


def _json_kind(doc: object) -> str | None:
    if _is_plan(doc):
        return "plan"
    return "cwl" if _is_document(doc) else None


def _is_plan(doc: object) -> bool:
    """A `stages` list of stages (objects with a `name` or a `cmd`), or a `schema_version`: an inputs file
    may have a `stages` input too (the conformance suite's tmap-job.json has)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), list):
        return False
    stages = doc["stages"]
    return "schema_version" in doc or not stages or any(isinstance(s, dict) and ("name" in s or "cmd" in s)
                                                          for s in stages)


def _yaml(path: str) -> tuple[object, bool]:
    try:
        text = read_text(path)
    except SourceError:
        return None, False
    if _TOP_KEY.search(text):
        return _DOCUMENT, True
    try:
        return fastyaml.load(text, "safe"), True
    except MarkedYAMLError:  # all fastyaml raises, a limit included
        return None, False


def _is_document(tree: object) -> bool:
    return isinstance(tree, dict) and any(k in tree for k in ("class", "cwlVersion", "$graph"))
