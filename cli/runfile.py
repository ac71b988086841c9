"""`cwlpilot run FILE`: a stages plan or a CWL document, told apart by what the file holds, not by its name.

A JSON object whose first telling top-level key is `stages` is a plan; one whose first telling key is
`cwlVersion`, `class` or `$graph` is a CWL document, as is YAML with one of those keys at the top level
(or a `#!/usr/bin/env cwl-runner` first line). Only when the content tells nothing (a file that cannot be
read, a binary, a broken or empty document) does the name decide: `.json` is a plan, anything else CWL,
so that each side gives its own error at the file's line and column.

Reading the start of the file is enough for an O2DPG file (`stages` comes first) and for most CWL; a
compiled plan, whose sorted keys put `outputs` first, is read further. Nothing here imports the compiler:
`run PLAN.json` must start fast (tests/e2e/test_run_basics.py).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Literal, NamedTuple, TextIO

from cwlpilot.docpath import file_part

Kind = Literal["plan", "cwl"]
HEAD_BYTES = 64 * 1024
MOST_BYTES = 256 * 2**20  # the largest plan the executor reads (executor/planfile.py MAX_BYTES)
CWL_KEYS = frozenset({"cwlVersion", "class", "$graph"})
# a JSON string (with what follows it up to a colon, when it is a key) or a bracket: enough to follow depth
_JSON_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"(\s*:)?|[{}\[\]]')
_YAML_KEY = re.compile(r'^["\']?(cwlVersion|class|\$graph)["\']?\s*:\s*["\']?([A-Za-z]*)', re.MULTILINE)
_FLOW_KEY = re.compile(r'(?:^|[{,\s])["\']?(cwlVersion|class|\$graph)["\']?\s*:')


class Sniffed(NamedTuple):
    kind: Kind
    process_class: str | None  # the top-level `class` when the start of the file names it


def sniff(path: str) -> Sniffed:
    """What the file at `path` (or `FILE#ID`) holds; never raises."""
    file = file_part(path)
    by_name: Kind = "plan" if file.endswith(".json") else "cwl"
    try:
        with open(file, "rb") as handle:
            head = handle.read(HEAD_BYTES)
    except OSError:  # missing, a folder, unreadable: the side the name picks says so
        return Sniffed(by_name, None)
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if text.startswith("{"):
        found = _json_keys(text)
        if found is None and len(head) == HEAD_BYTES:
            found = _json_keys(_whole(file))
        if found is not None:
            return found
        if _FLOW_KEY.search(text[:HEAD_BYTES]):  # a YAML flow mapping: `{cwlVersion: v1.2, ...}`
            return Sniffed("cwl", None)
        return Sniffed(by_name, None)
    keys = _YAML_KEY.findall(text)
    if keys or re.match(r"#!.*\bcwl-runner\b", text):
        return Sniffed("cwl", next((value for key, value in keys if key == "class" and value), None))
    return Sniffed(by_name, None)


def _whole(file: str) -> str:
    try:
        with open(file, "rb") as handle:
            return handle.read(MOST_BYTES).decode("utf-8", "replace")
    except OSError:
        return ""


def _json_keys(text: str) -> Sniffed | None:
    """The kind the first telling top-level key of the JSON object in `text` gives (and its `class`), else None."""
    depth = 0
    kind: Kind | None = None
    for match in _JSON_TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{", "["):
            depth += 1
        elif token in ("}", "]"):
            depth -= 1
            if depth <= 0:
                break
        elif depth == 1 and match.group(2):
            key = match.group(1)
            if kind is None and key == "stages":
                return Sniffed("plan", None)
            if key == "class":
                return Sniffed("cwl", _string_after(text, match.end()))
            if kind is None and key in CWL_KEYS:
                kind = "cwl"
    return Sniffed(kind, None) if kind else None


def _string_after(text: str, at: int) -> str | None:
    value = re.match(r'\s*"([A-Za-z]+)"', text[at:at + 200])
    return value.group(1) if value else None


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """`cwlpilot run ...`: parse the options (before or after the file, in any order), then run the plan or
    compile and run the CWL document."""
    from cwlpilot.argparsing import UsageError

    out, err = out or sys.stdout, err or sys.stderr
    try:
        return _route(argv[1:], out, err)
    except UsageError as exc:
        err.write(f"{exc}\n")
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)


def _route(argv: list[str], out: TextIO, err: TextIO) -> int:
    from cwlpilot.run_cmd import CWL_ONLY, run_parser, run_plan

    parser = run_parser()
    args = parser.parse_intermixed_args(argv)
    if args.file is not None and args.plan_file is not None:
        parser.error(f"give the file once: {args.file} or -f {args.plan_file}")
    path = args.file if args.file is not None else args.plan_file
    if path is None:
        parser.error("give the plan or the CWL document: cwlpilot run PLAN.json | WF.cwl [INPUTS]")
    if sniff(path).kind == "cwl":
        from cwlpilot.cwlrun import run_cwl

        return run_cwl(args, path, out, err)
    if args.inputs is not None:
        parser.error(f"{path} is a stages plan: it takes no inputs file ({args.inputs}); inputs are for CWL documents")
    given = [option for option, dest in CWL_ONLY.items() if getattr(args, dest) not in (None, [], False)]
    if given:
        parser.error(f"{path} is a stages plan: {', '.join(given)} apply to CWL and PanDA-style documents only")
    return run_plan(parser, args, Path(path))
