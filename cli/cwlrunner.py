"""`cwl-runner` and `cwlpilot cwl-runner`: the standard CWL runner interface, with cwltool's options.

Compiles the document, runs the plan in a folder of its own (a temporary one, removed at the end unless
--leave-tmpdir; --workdir DIR; or one under --cachedir), delivers the output files into --outdir laid out
as cwltool does, and prints the output object on stdout as cwltool prints it (`json_dump(out, indent=4,
ensure_ascii=False)` after `loc_to_path`: no trailing newline; File and Directory objects without
`nameroot`, `nameext`, `dirname`, their `path` last). Progress and the final table go to stderr. Exit
codes as cwltool's: 0 success, 1 invalid document or job or failed run, 2 usage, 33 unsupported feature.
Options are in cli/cwlrunner_options.py, the job from stdin or flags in cli/toolflags.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from cwlpilot.argparsing import UsageError
from cwlpilot.cwlrunner_options import notes, parse

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
CWL_VERSIONS = ("v1.0", "v1.1", "v1.2")


class Compiled(NamedTuple):
    plan: dict[str, Any]
    job: dict[str, Any]  # the job object, for --cachedir's key
    base: str  # the folder its relative paths are relative to


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None, stdin: TextIO | None = None) -> int:
    """`argv[0]` is the command name; the exit code as cwltool's."""
    out, err = out or sys.stdout, err or sys.stderr
    prog = "cwl-runner" if os.path.basename(sys.argv[0]) == "cwl-runner" else "cwlpilot cwl-runner"
    try:
        args = parse(prog, argv[1:])
        if args.version or args.print_supported_versions:
            return _version(args, out)
        if args.workflow is None:
            raise UsageError(f"{prog}: give the CWL document: {prog} [OPTIONS] TOOL.cwl [JOB.yml | - | --INPUT "
                             "VALUE ...]")
        _check_paths(args, prog)
    except UsageError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    err.writelines(f"{note}\n" for note in notes(args))
    from cwlpilot.check_cmd import no_cyclic_gc

    with no_cyclic_gc():
        compiled = _compile(args, prog, out, err, stdin)
    if isinstance(compiled, int):
        return compiled
    from cwlpilot.cwlrunner_run import run

    return run(compiled.plan, compiled.job, compiled.base, args, prog, out, err)


def _version(args: argparse.Namespace, out: TextIO) -> int:
    from cwlpilot import __version__

    out.write(f"{sys.argv[0]} {__version__}\n" if args.version else "\n".join(CWL_VERSIONS) + "\n")
    return EXIT_OK


def _check_paths(args: argparse.Namespace, prog: str) -> None:
    """Folders and files that cannot be used are usage errors, before anything is compiled."""
    from cwlpilot.cwlrunner_run import split_prefix
    from cwlpilot.run_cmd import path_problem

    problems = [path_problem("--workdir", Path(args.workdir) if args.workdir else None),
                path_problem("--outdir", Path(args.outdir)),
                path_problem("--cachedir", Path(args.cachedir) if args.cachedir else None),
                path_problem("--write-summary", Path(args.write_summary) if args.write_summary else None, True)]
    for option in ("--tmpdir-prefix", "--tmp-outdir-prefix"):
        prefix = getattr(args, option[2:].replace("-", "_"))
        folder = split_prefix(prefix)[0] if prefix else None
        if folder is not None and not os.path.isdir(folder):
            problems.append(f"{option} {prefix}: no such directory {folder}")
    problem = next((p for p in problems if p), None)
    if problem:
        raise UsageError(f"{prog}: {problem}")


def _compile(args: argparse.Namespace, prog: str, out: TextIO, err: TextIO, stdin: TextIO | None) -> Compiled | int:
    """The plan of the document on its job, or the exit code once a mode (--validate, --print-dot, ...) is done
    or after saying why there is no plan."""
    from cwlpilot.check_cmd import _is_panda, _missing_file, compile_checked
    from cwlpilot.compiler.check import check

    document, job_file = args.workflow, _job_file(args.job_order)
    missing = _missing_file(document, job_file)
    if missing:
        err.write(f"{prog}: no such file: {missing}\n")
        return EXIT_USAGE
    if _is_panda([document]):
        return _panda(args, job_file, prog, err)
    result = check(document, job_file if args.validate else None, targets=tuple(args.target))
    if args.validate:
        return _validate(args, result, stdin, out)
    if not result.ok or result.process is None:
        err.writelines(f"{d}\n" for d in result.diagnostics)
        return EXIT_FAILED
    shown = _show(args, result.process, out, err)
    if shown is not None:
        return shown
    job = _job(args, result.process, prog, stdin, err)
    if isinstance(job, int):
        return job
    plan, code = compile_checked(result.process, job[0], job[1], err, prog, shown=document)
    return code if plan is None else Compiled(plan, job[0], job[1])


def _show(args: argparse.Namespace, process: Any, out: TextIO, err: TextIO) -> int | None:
    """--print-dot, --make-template, --print-targets and --tool-help: print, and the exit code; else None."""
    from cwlpilot.compiler import cwlviews

    if args.print_dot:
        try:
            out.write(cwlviews.print_dot(process))
        except ValueError as exc:
            err.write(f"{exc}\n")
            return EXIT_FAILED
    elif args.make_template:
        out.write(cwlviews.make_template(process))
    elif args.print_targets:
        for heading, text in cwlviews.print_targets(process):
            (err if heading else out).write(f"{text}\n")
    elif args.tool_help:
        from cwlpilot.toolflags import tool_parser

        out.write(tool_parser(process, args.workflow)[0].format_help())
    else:
        return None
    return EXIT_OK


def _validate(args: argparse.Namespace, result: Any, stdin: TextIO | None, out: TextIO) -> int:
    """cwltool's --validate: `DOC is valid CWL.` on stdout, or the problems there too (cwltool logs to stdout
    under --validate, main.py's `stdout_handler`); with a job, the job is checked as well."""
    problems = [str(d) for d in result.diagnostics]  # the inputs file's too, when the job is one
    if not problems and result.process is not None and args.job_order and _job_file(args.job_order) is None:
        job = _job(args, result.process, args.workflow, stdin, out)
        if isinstance(job, int):
            return job
    if problems:
        out.writelines(f"{p}\n" for p in problems)
        return EXIT_FAILED
    inputs = " No errors detected in the inputs." if args.job_order else ""
    out.write(f"{args.workflow} is valid CWL.{inputs}\n")
    return EXIT_OK


def _job(args: argparse.Namespace, process: Any, prog: str, stdin: TextIO | None,
         err: TextIO) -> tuple[dict[str, Any], str] | int:
    """The job object and the folder its relative paths are relative to, or the exit code after saying why
    not (2 for flags that do not parse, 1 for a job that does not fit the inputs)."""
    from cwlpilot.check_cmd import _read_job
    from cwlpilot.compiler.jobcheck import check_job
    from cwlpilot.compiler.yamlsrc import YamlCache
    from cwlpilot.toolflags import flags_job, stdin_job

    order, cwd = args.job_order, os.getcwd()
    try:
        if order == ["-"]:
            job, problems = stdin_job(process, stdin)
        elif _job_file(order) is not None:
            problems = check_job(process, order[0], YamlCache(cwd))
            job, cwd = _read_job(order[0]) if not problems else ({}, cwd)
        else:
            job, problems = flags_job(process, order, args.workflow)
    except UsageError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    if problems:
        err.writelines(f"{p}\n" for p in problems)
        return EXIT_FAILED
    return job, cwd


def _job_file(order: list[str]) -> str | None:
    """The inputs file, when the job is one (cwltool: one argument not starting with `-`)."""
    return order[0] if len(order) == 1 and not order[0].startswith("-") else None


def _panda(args: argparse.Namespace, job_file: str | None, prog: str, err: TextIO) -> Compiled | int:
    """A PanDA-style document: its own compiler, with an inputs file only."""
    from cwlpilot.panda_cmd import build_plan

    if len(args.job_order) > 1 or args.job_order == ["-"] or args.target:
        err.write(f"{prog}: a PanDA-style document takes an inputs file only (no -, flags or --target)\n")
        return EXIT_USAGE
    plan, code = build_plan(args.workflow, job_file, err, prog)
    return code if plan is None else Compiled(plan, {}, os.getcwd())
