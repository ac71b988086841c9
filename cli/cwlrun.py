"""`cwlpilot run WF.cwl [INPUTS]`: compile a CWL (or PanDA-style) document, run the plan, write its outputs.

cli/runfile.py has told the file is a CWL document and parsed the options (`run_cmd.run_parser`: every
option of running a plan, and the PanDA ones). The plan goes to `WORKDIR/plan.json`, the run's store,
logs and the stages' files under WORKDIR, and the workflow's output object to `WORKDIR/outputs.json`;
nothing is written outside WORKDIR (but what an option names: --produce-script, --store, the O2DPG logs).

Without --workdir, WORKDIR is a new folder `NAME-run-N` in the working directory (NAME the document's,
N the first number free), named on stderr, so a run never writes over the user's files; giving that
folder as --workdir runs there again, which resumes the run. An existing WORKDIR is used only when what
it holds can be replaced: no `plan.json` or `outputs.json` but those a cwlpilot run of a CWL document
wrote (cli/cwlexec.py). --dry-run, --list-tasks and --produce-script write nothing in WORKDIR and make
no folder.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any, TextIO

from cwlpilot.argparsing import UsageError
from cwlpilot.cwlexec import (
    OUTPUTS_FILE,
    PLAN_FILE,
    clobber_problem,
    collect,
    failure_tails,
    marked,
    run_compiled,
    show_compiled,
)
from cwlpilot.docpath import file_part
from cwlpilot.semantics.cwl import files

PROG = "cwlpilot run"
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MOST_FOLDERS = 10_000  # NAME-run-1 ... NAME-run-10000: beyond, --workdir must be given


def run_cwl(args: argparse.Namespace, document: str, out: TextIO, err: TextIO) -> int:
    """Compile `document` on `args.inputs` and run it with the `run` options `args`; the exit code."""
    from cwlpilot.check_cmd import build_plan
    from cwlpilot.run_cmd import no_effect_notes, path_problem

    showing = bool(args.dry_run or args.list_tasks or args.produce_script)
    problem = path_problem("--workdir", args.workdir) or \
        path_problem("--produce-script", args.produce_script, is_file=True) or \
        (clobber_problem(args.workdir) if args.workdir is not None and not showing else None)
    if problem:
        raise UsageError(f"{PROG}: {problem}")
    panda = {"out_ds": args.out_ds, "datasets": args.dataset, "dataset_map": args.datasets,
             "max_loop_iterations": args.max_loop_iterations}
    plan, code = build_plan(document, args.inputs, err, PROG, panda=panda)
    if plan is None:
        return code
    plan = marked(plan, document)
    workdir = args.workdir if args.workdir is not None else _fresh_folder(document, make=not showing)
    if args.workdir is None and not showing:
        err.write(f"{PROG}: running in {workdir}, a new folder (`--workdir {workdir}` runs there again, "
                  f"resuming)\n")
    cfg = _config(args, workdir.resolve())
    err.writelines(f"{note}\n" for note in no_effect_notes(args))
    if showing:
        return show_compiled(plan, cfg, out, err)
    code = run_compiled(plan, cfg, err, err)  # the final table on stderr: stdout is for what a mode shows
    return write_outputs(plan, cfg.workdir, cfg.store_url, code, err)


def _fresh_folder(document: str, make: bool) -> Path:
    """`NAME-run-N` in the working directory, the first N not taken (made, with `make`)."""
    stem = Path(file_part(document)).stem or "run"
    for n in range(1, MOST_FOLDERS + 1):
        folder = Path(f"{stem}-run-{n}")
        if not make and not os.path.lexists(folder):
            return folder
        if make:
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                continue
    raise UsageError(f"{PROG}: {stem}-run-1 to {stem}-run-{MOST_FOLDERS} are all taken: give --workdir")


def _config(args: argparse.Namespace, workdir: Path) -> Any:
    """The run's settings: every option of running a plan; bookings larger than the limits are clamped, as
    cwltool runs a tool asking for more cores than the machine has."""
    from cwlpilot.run_cmd import run_config

    return run_config(args, workdir / PLAN_FILE, workdir, optimistic=True)


def write_outputs(plan: dict[str, Any], workdir: Path, store_url: str | None, code: int, err: TextIO,
                  prog: str = PROG) -> int:
    """Write the output object of a run that ended with `code` to WORKDIR/outputs.json (nulls for what a
    failed run did not make); say what failed, with the end of its log. The exit code."""
    from cwlpilot.semantics.cwl.values import PickValueError

    try:
        result = files.walk(collect(plan, workdir, lenient=code != 0), _with_checksum)
    except (PickValueError, OSError, ValueError) as exc:
        err.write(f"{prog}: the workflow's outputs cannot be collected: {exc}\n")
        return EXIT_FAILED
    (workdir / OUTPUTS_FILE).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    if code != 0:
        err.writelines(f"{line}\n" for line in failure_tails(workdir, store_url))
        err.write(f"{prog}: the run failed (plan and logs in {workdir}; outputs it did not make are null in "
                  f"{OUTPUTS_FILE})\n")
        return code
    err.write(f"{prog}: outputs in {workdir / OUTPUTS_FILE}\n")
    return EXIT_OK


def _with_checksum(obj: dict[str, Any]) -> dict[str, Any]:
    path = files.path_of(obj)
    if obj.get("class") == "File" and path and os.path.isfile(path):
        return {**obj, "checksum": files.checksum(path), "size": os.path.getsize(path)}
    return obj
