"""`cwlpilot run WF.cwl [INPUTS]` and `cwlpilot cwl-runner [--outdir DIR] TOOL.cwl [JOB]`: compile, run, report.

The one module that uses both the compiler and the executor: it compiles the document into
`<workdir>/plan.json`, runs that plan with `executor.runner.run`, then resolves the plan's `outputs`
from the stages' output files into the workflow's CWL output object. `run` writes that object to
`<workdir>/outputs.json`; `cwl-runner` copies the output files into --outdir and prints the object on
stdout (progress and reports go to stderr), as cwltest and other CWL tooling expect.

`cwl-runner` without --workdir runs in a temporary folder (under --tmp-outdir-prefix, else
--tmpdir-prefix, else $TMPDIR, as cwltool's `create_tmp_dir` makes its folders) and removes it when it
ends, whether the run succeeded or not, unless --leave-tmpdir.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from cwlpilot.argparsing import RaisingParser, UsageError, number
from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl.outdir import deliver
from cwlpilot.semantics.cwl.values import PickValueError, reader, resolve

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser(command: str) -> argparse.ArgumentParser:
    p = RaisingParser(prog=f"cwlpilot {command}", description="Compile a CWL document and run it.")
    p.add_argument("workflow", help="the CWL document (FILE or FILE#ID for a $graph entry)")
    p.add_argument("inputs", nargs="?", help="the inputs (job) file, YAML or JSON")
    if command == "cwl-runner":
        _runner_options(p)
        return p
    from cwlpilot.run_cmd import add_run_options

    p.add_argument("--workdir", default=".", help="where the plan, the stages and outputs.json go")
    panda = p.add_argument_group("PanDA-style workflows")
    panda.add_argument("--outDS", dest="out_ds", help="base of the dataset names (default user.local.WORKFLOW)")
    panda.add_argument("--dataset", action="append", default=[], metavar="NAME=DIR",
                       help="the local folder of a dataset named in the inputs (repeatable)")
    panda.add_argument("--datasets", metavar="FILE", help="YAML mapping of dataset names to folders")
    panda.add_argument("--max-loop-iterations", type=int, metavar="N", help="every loop stops after N iterations")
    add_run_options(p)
    return p


def _runner_options(p: argparse.ArgumentParser) -> None:
    """The options of `cwl-runner`: what cwltest passes, and cwltool's options that mean something here,
    spelled and defaulted as cwltool does (one group per topic of cwltool's --help; add new ones there)."""
    p.add_argument("--outdir", default=".", help="where the output files go (default: .)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.add_argument("--workdir", help="where stages run, kept (default: a temporary folder, removed at the end)")
    limits = p.add_argument_group("resources")
    limits.add_argument("-j", "--max-jobs", type=number(int), default=100, help="at most this many stages at once")
    limits.add_argument("--cpu-limit", type=number(float), help="CPU cores to book (default: this machine's)")
    limits.add_argument("--mem-limit", type=number(float), help="memory to book, MB (default: 90%% of the RAM)")
    files = p.add_argument_group("intermediate, temporary, or final output files management")
    files.add_argument("--tmpdir-prefix", metavar="PREFIX", help="path prefix of the temporary folder "
                       "(default: $TMPDIR/); a folder PREFIX<random> is made")
    files.add_argument("--tmp-outdir-prefix", metavar="PREFIX", help="path prefix of the folder stages write "
                       "their outputs in (default: --tmpdir-prefix); here the same folder")
    keep = files.add_mutually_exclusive_group()
    keep.add_argument("--rm-tmpdir", dest="leave_tmpdir", action="store_false", default=False,
                      help="remove the temporary folder at the end, whatever the outcome (default)")
    keep.add_argument("--leave-tmpdir", dest="leave_tmpdir", action="store_true", default=False,
                      help="keep the temporary folder (its plan, logs and the stages' files)")


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    command = argv[0]
    try:
        args = _parser(command).parse_args(argv[1:])
        _check_paths(args, command == "cwl-runner")
    except UsageError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    from cwlpilot.check_cmd import build_plan

    prog = f"cwlpilot {command}"
    panda = {} if command == "cwl-runner" else {
        "out_ds": args.out_ds, "datasets": args.dataset, "dataset_map": args.datasets,
        "max_loop_iterations": args.max_loop_iterations}
    plan, code = build_plan(args.workflow, args.inputs, err, prog, panda=panda)
    if plan is None:
        return code
    if command == "cwl-runner" and not args.workdir:
        return _in_temporary_folder(plan, args, prog, out, err)
    return _run_plan(plan, Path(args.workdir).resolve(), args, prog, out, err)


def _check_paths(args: argparse.Namespace, runner: bool) -> None:
    """Refuse, as a usage error, folders and files that cannot be written, before anything is compiled."""
    from cwlpilot.run_cmd import path_problem

    workdir = Path(args.workdir) if args.workdir else None
    problems = [path_problem("--workdir", workdir)]
    if runner:
        problems.append(path_problem("--outdir", Path(args.outdir)))
        for option in ("--tmpdir-prefix", "--tmp-outdir-prefix"):
            prefix = getattr(args, option[2:].replace("-", "_"))
            folder = _split_prefix(prefix)[0] if prefix else None
            if folder is not None and not os.path.isdir(folder):
                problems.append(f"{option} {prefix}: no such directory {folder}")
    else:
        problems.append(path_problem("--produce-script", args.produce_script, is_file=True))
    problem = next((p for p in problems if p), None)
    if problem:
        raise UsageError(f"cwlpilot {'cwl-runner' if runner else 'run'}: {problem}")


def _in_temporary_folder(plan: dict[str, Any], args: argparse.Namespace, prog: str, out: TextIO,
                         err: TextIO) -> int:
    """Run `plan` in a new temporary folder, removed at the end (kept with --leave-tmpdir)."""
    folder, name = _split_prefix(args.tmp_outdir_prefix or args.tmpdir_prefix or
                                 os.path.join(tempfile.gettempdir(), "cwlpilot-"))
    workdir = Path(tempfile.mkdtemp(prefix=name, dir=folder)).resolve()
    try:
        return _run_plan(plan, workdir, args, prog, out, err, temporary=True)
    finally:
        if args.leave_tmpdir:
            err.write(f"{prog}: the run's folder is kept: {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _split_prefix(prefix: str) -> tuple[str, str]:
    """(folder, name prefix) of a cwltool path prefix: `/scratch/cwl-` or `/scratch/` (cwltool's
    `create_tmp_dir` splits it so, after making it absolute with its trailing `/` kept)."""
    return os.path.split(os.path.abspath(prefix) + ("/" if prefix.endswith("/") else ""))


def _run_plan(plan: dict[str, Any], workdir: Path, args: argparse.Namespace, prog: str, out: TextIO,
              err: TextIO, temporary: bool = False) -> int:
    """Run the compiled `plan` in `workdir`, then collect its outputs (and deliver them, for cwl-runner)."""
    from cwlpilot.check_cmd import plan_json

    runner = "leave_tmpdir" in args  # only cwl-runner has the option
    workdir.mkdir(parents=True, exist_ok=True)
    plan_path = workdir / "plan.json"
    plan_path.write_text(plan_json(plan), encoding="utf-8")
    code = _execute(plan_path, workdir, args, err, runner)
    if not runner and (args.dry_run or args.list_tasks or args.produce_script):
        return code  # nothing ran, so there are no outputs to collect
    if code != 0:
        kept = not temporary or args.leave_tmpdir
        where = f"plan and logs in {workdir}" if kept else "--leave-tmpdir keeps its plan and logs"
        err.write(f"{prog}: the run failed ({where})\n")
        return EXIT_FAILED
    try:
        outputs = plan.get("outputs") or {}
        result = {k: resolve(v.get("value"), reader(workdir)) for k, v in sorted(outputs.items())}
    except (PickValueError, OSError) as exc:
        err.write(f"{prog}: the workflow's outputs cannot be collected: {exc}\n")
        return EXIT_FAILED
    if runner:
        result = deliver(result, Path(args.outdir).resolve())
        out.write(json.dumps(result, indent=2, sort_keys=True) + "\n")
    else:
        result = files.walk(result, _with_checksum)
        (workdir / "outputs.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")
        err.write(f"{prog}: outputs in {workdir / 'outputs.json'}\n")
    return EXIT_OK


def _execute(plan_path: Path, workdir: Path, args: argparse.Namespace, err: TextIO, runner: bool) -> int:
    """Run the compiled plan. Bookings larger than the limits are clamped, as cwltool runs a tool asking
    for more cores than the machine has; `run` takes every option of `cwlpilot run PLAN.json`."""
    from cwlpilot.executor.config import RunConfig
    from cwlpilot.executor.errors import ExecutorError, PlanError
    from cwlpilot.executor.runner import run
    from cwlpilot.run_cmd import _pilot_config, run_config

    try:
        if runner:
            limits = argparse.Namespace(**vars(args), n_backfill=1, backfill_factor=1.5, optimistic_resources=True,
                                        mem_overuse_factor=None, mem_metric="pss", heartbeat_timeout=60.0,
                                        heartbeat_interval=5.0, sample_interval=0.5)
            cfg = RunConfig(plan=plan_path, workdir=workdir, store_url=f"sqlite:///{workdir / 'cwlpilot.db'}",
                            pilot=_pilot_config(limits), progress="quiet")
        else:
            cfg = run_config(args, plan_path, workdir, optimistic=True)
        return run(cfg, out=err, err=err)
    except PlanError as exc:
        err.writelines(f"{p}\n" for p in exc.problems)
    except ExecutorError as exc:
        err.write(f"cwlpilot: {exc}\n")
    return EXIT_FAILED


def _with_checksum(obj: dict[str, Any]) -> dict[str, Any]:
    path = files.path_of(obj)
    if obj.get("class") == "File" and path and os.path.isfile(path):
        return {**obj, "checksum": files.checksum(path), "size": os.path.getsize(path)}
    return obj
