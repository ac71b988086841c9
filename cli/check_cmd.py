"""Command line of the compiler's subcommands (`check`, `graph`, `compile`); `build_plan` for `cwlpilot.cwlrun`.

`main(argv)` is called by `cwlpilot.main` with argv[0] the subcommand and returns the exit code:
0 valid / done, 1 the workflow or its inputs have mistakes, 2 usage error (33 for a feature the
cwl-runner interface does not support). A user's mistake is printed as diagnostics, never a traceback.
`check` of many files is `cwlpilot.check_run`.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TextIO

from cwlpilot.argparsing import RaisingParser, UsageError, loop_limit
from cwlpilot.check_run import run_check
from cwlpilot.compiler import fastyaml
from cwlpilot.compiler.check import check
from cwlpilot.compiler.cwltypes import accepts_null
from cwlpilot.compiler.emit import Options, compile_plan
from cwlpilot.compiler.errors import CompilerError, UnsupportedError
from cwlpilot.compiler.graph import build_graph
from cwlpilot.compiler.ir import Process, type_str
from cwlpilot.compiler.limits import MAX_STAGES
from cwlpilot.compiler.render import graph_dot, plan_dot
from cwlpilot.compiler.sourcefile import read_text
from cwlpilot.compiler.yamlsrc import display_path
from cwlpilot.semantics.cwl.errors import CwlError

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_UNSUPPORTED = 0, 1, 2, 33


def _compile_parser() -> argparse.ArgumentParser:
    parser = RaisingParser(prog="cwlpilot compile", description="Compile a CWL workflow into a stages plan.")
    parser.add_argument("workflow", help="the CWL document (FILE or FILE#ID for a $graph entry)")
    parser.add_argument("inputs", nargs="?", help="the inputs file (YAML or JSON)")
    parser.add_argument("-o", "--output", help="write the plan here instead of standard output")
    return parser


def _graph_parser() -> argparse.ArgumentParser:
    parser = RaisingParser(prog="cwlpilot graph", description="Write the step graph as Graphviz DOT.")
    parser.add_argument("workflow", help="a CWL document or a stages plan (.json)")
    parser.add_argument("-o", "--output", help="write to this file instead of standard output")
    return parser


def _missing_file(workflow: str, *others: str | None) -> str | None:
    """The first named file that does not exist (`FILE#ID` names FILE), else None."""
    if not os.path.exists(workflow) and not os.path.exists(workflow.rsplit("#", 1)[0]):
        return workflow
    return next((p for p in others if p is not None and not os.path.exists(p)), None)


def run_graph(argv: list[str], out: TextIO, err: TextIO) -> int:
    args = _graph_parser().parse_args(argv)
    missing = _missing_file(args.workflow)
    if missing:
        err.write(f"cwlpilot graph: no such file: {missing}\n")
        return EXIT_USAGE
    if args.workflow.endswith(".json"):
        text = _plan_dot(args.workflow, err)
        if text is None:
            return EXIT_INVALID
    else:
        result = check(args.workflow)
        if not result.ok or result.process is None:
            for diag in result.diagnostics:
                err.write(f"{diag}\n")
            return EXIT_INVALID
        text = graph_dot(build_graph(result.process, display_path(args.workflow)))
    return _emit(text, args.output, out, err)


def run_compile(argv: list[str], out: TextIO, err: TextIO, checked_cwl: str | None = None) -> int:
    args = _compile_parser().parse_args(argv)
    plan, code = build_plan(args.workflow, args.inputs, err, "cwlpilot compile", checked_cwl)
    if plan is None:
        return code
    return _emit(plan_json(plan), args.output, out, err)


def _emit(text: str, output: str | None, out: TextIO, err: TextIO | None = None) -> int:
    """Write `text` to the -o file, or to standard output; a file that cannot be written is a usage error."""
    if not output:
        out.write(text)
        return EXIT_OK
    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        (err or sys.stderr).write(f"cwlpilot: -o {output}: cannot write it: {exc.strerror or exc}\n")
        return EXIT_USAGE
    return EXIT_OK


def build_plan(
    workflow: str, inputs: str | None, err: TextIO, prog: str, checked_cwl: str | None = None,
    panda: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any] | None, int]:
    """The checked plan of `workflow` on `inputs`, or None and the exit code after writing why to `err`.

    `panda` holds the PanDA options (out_ds, datasets, dataset_map, max_loop_iterations).
    `checked_cwl` names a file already found not to be a PanDA document: finding that out parses the
    document and every file its steps run, a good part of compiling a large workflow, so it is done once.
    """
    if _panda_candidate([workflow]) != checked_cwl and _is_panda([workflow]):
        from cwlpilot.panda_cmd import build_plan as panda_build_plan

        return panda_build_plan(workflow, inputs, err, prog, **(panda or {}))
    try:
        options = _options(panda)
    except UsageError as exc:
        err.write(f"{prog}: {exc}\n")
        return None, EXIT_USAGE
    with no_cyclic_gc():
        return _cwl_plan(workflow, inputs, err, prog, options)


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """No full collections of Python's cyclic garbage collector while a plan is built: the documents, the IR
    and the plan are trees that stay alive until the end, and each full collection walks all of them again,
    which made a compile grow faster than the workflow (10,000 steps took 3.6x as long as 3,200, and 1.4x
    the time it takes without collections). Young objects are still collected: cwl-utils leaves cyclic
    garbage (an exception per type it tries on an `Any` value), which with no collection at all made a
    tool with a 99,000-value default take 920 MB instead of 210 MB. What is alive at the end is frozen
    (`gc.freeze`) before full collections resume: else the first of them walks it all at once (a second
    for 10,000 steps); reference counting still frees it when it is dropped."""
    threshold = gc.get_threshold()
    gc.set_threshold(threshold[0], threshold[1], 2**30)  # the oldest generation's: never reached
    try:
        yield
    finally:
        gc.freeze()
        gc.set_threshold(*threshold)


def _options(panda: Mapping[str, Any] | None) -> Options:
    """The compile options: the max-iteration guard of CWL loops is the one of PanDA loops (--max-loop-iterations
    of `run`, else CWLPILOT_MAX_LOOP_ITERATIONS), with a default of its own; raises UsageError beyond
    compiler.limits.MAX_STAGES."""
    limit = loop_limit((panda or {}).get("max_loop_iterations"), Options().max_loop_iterations, MAX_STAGES)
    return Options(max_loop_iterations=limit)


def _cwl_plan(
    workflow: str, inputs: str | None, err: TextIO, prog: str, options: Options
) -> tuple[dict[str, Any] | None, int]:
    missing = _missing_file(workflow, inputs)
    if missing:
        err.write(f"{prog}: no such file: {missing}\n")
        return None, EXIT_USAGE
    result = check(workflow, inputs)
    if not result.ok or result.process is None:
        for diag in result.diagnostics:
            err.write(f"{diag}\n")
        return None, EXIT_INVALID
    job, job_dir = _read_job(inputs)
    return compile_checked(result.process, job, job_dir, err, prog, options, workflow)


def compile_checked(
    process: Process, job: Mapping[str, Any], job_dir: str, err: TextIO, prog: str, options: Options | None = None,
    shown: str | None = None,
) -> tuple[dict[str, Any] | None, int]:
    """The plan of the checked `process` on the job object `job` (relative paths relative to `job_dir`), or
    None and the exit code after writing why to `err`; `shown` names the document in messages. Run it (and
    the check before it) inside `no_cyclic_gc()`."""
    missing_inputs = [
        f"required input '{p.id}' ({type_str(p.type)}) has no value: give an inputs file"
        for p in process.inputs
        if p.id not in job and not p.has_default and not accepts_null(p.type)
    ]
    if missing_inputs:
        err.writelines(f"{shown or process.pos.file}: {m}\n" for m in missing_inputs)
        return None, EXIT_INVALID
    try:
        plan = compile_plan(process, dict(job), job_dir, options or _options(None))
    except UnsupportedError as exc:
        err.write(f"{prog}: unsupported: {exc}\n")
        return None, EXIT_UNSUPPORTED
    except (CompilerError, CwlError) as exc:
        err.write(f"{prog}: {exc}\n")
        return None, EXIT_INVALID
    problems = plan_problems(plan)
    if problems:  # a compiler bug, not the user's: say so plainly
        err.write(f"{prog}: internal error, the plan does not match the schema:\n")
        err.writelines(f"  {p}\n" for p in problems)
        return None, EXIT_INVALID
    return plan, EXIT_OK


def _is_panda(args: list[str]) -> bool:
    """True when the first existing file in `args` is a PanDA-style workflow (`run: prun`, ...): those go
    to `compiler.panda`, since cwl-utils cannot load them."""
    from cwlpilot.compiler.panda.detect import is_panda_document

    path = _panda_candidate(args)
    return path is not None and is_panda_document(path)


def _panda_candidate(args: list[str]) -> str | None:
    """The argument `_is_panda` decides on: the first that names an existing file."""
    return next((a for a in args if not a.startswith("-") and os.path.isfile(a.split("#")[0])), None)


def _read_job(path: str | None) -> tuple[dict[str, object], str]:
    if path is None:
        return {}, os.getcwd()
    job = fastyaml.load(read_text(path), "safe")  # already read and parsed once by check: it is valid YAML
    return (job if isinstance(job, dict) else {}), os.path.dirname(os.path.abspath(path))


def plan_json(plan: object) -> str:
    """The plan as written to disk: sorted keys, one-space indent, so equal plans are equal bytes."""
    return json.dumps(plan, sort_keys=True, indent=1) + "\n"


def plan_problems(plan: object) -> list[str]:
    """Schema violations of `plan` against schemas/stages.schema.json (empty when valid)."""
    if _fast_valid(plan):
        return []
    import jsonschema  # 50 ms to import: only when there is something to say

    from cwlpilot import schemas

    validator = jsonschema.Draft202012Validator(schemas.load("stages"))
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(plan))


def _fast_valid(plan: object) -> bool:
    """True when jsonschema-rs finds the plan valid: Python's jsonschema takes about 100 us per stage (a
    second for a 10,000-way scatter, a third of the whole compile), jsonschema-rs under 1 us. The Python
    library still writes the messages when a plan is invalid, so they read the same either way."""
    try:
        import jsonschema_rs
    except ImportError:
        return False
    from cwlpilot import schemas

    try:
        return bool(jsonschema_rs.Draft202012Validator(schemas.load("stages")).is_valid(plan))
    except ValueError:  # a number of ruamel.yaml's own types (ScalarInt, from `1_000`): the Python library decides
        return False


def _plan_dot(path: str, err: TextIO) -> str | None:
    """The graph of the plan in `path`, read as `run` reads a plan (bounded, any file: a binary, a deep or
    huge-numbered JSON is an error at its line and column); None after writing why not."""
    from pathlib import Path

    from cwlpilot.executor.errors import PlanError
    from cwlpilot.executor.planfile import parse_json, read_text

    try:
        plan = parse_json(read_text(Path(path)), path)
    except PlanError as exc:
        err.writelines(f"{problem}\n" for problem in exc.problems)
        return None
    if not isinstance(plan, dict):
        err.write(f"{path}:1:1: a plan is a JSON object with `stages`\n")
        return None
    return plan_dot(plan)


HANDLERS: dict[str, Callable[[list[str], TextIO, TextIO], int]] = {
    "check": run_check,
    "graph": run_graph,
    "compile": run_compile,
}


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run the compiler subcommand `argv[0]` with the options `argv[1:]`; return the exit code."""
    out, err = out or sys.stdout, err or sys.stderr
    if argv and argv[0] == "compile" and _is_panda(argv[1:]):
        from cwlpilot.panda_cmd import main as panda_main

        return panda_main(argv, out, err)
    if not argv or argv[0] not in HANDLERS:
        err.write(f"cwlpilot: the compiler has no command {argv[0] if argv else ''!r}\n")
        return EXIT_USAGE
    try:
        if argv[0] == "compile":
            return run_compile(argv[1:], out, err, _panda_candidate(argv[1:]))
        return HANDLERS[argv[0]](argv[1:], out, err)
    except UsageError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help exits through argparse
        return int(exc.code or 0)
    except CompilerError as exc:
        err.write(f"{exc}\n")
        return EXIT_INVALID
