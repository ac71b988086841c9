"""`cwlpilot run WF.cwl [INPUTS]` and `cwlpilot cwl-runner [--outdir DIR] TOOL.cwl [JOB]`: compile, run, report.

The one module that uses both the compiler and the executor: it compiles the document into
`<workdir>/plan.json`, runs that plan with `executor.runner.run`, then resolves the plan's `outputs`
from the stages' output files into the workflow's CWL output object. `run` writes that object to
`<workdir>/outputs.json`; `cwl-runner` copies the output files into --outdir and prints the object on
stdout (progress and reports go to stderr), as cwltest and other CWL tooling expect.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, TextIO

from cwlpilot.argparsing import RaisingParser, UsageError
from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl.outdir import deliver
from cwlpilot.semantics.cwl.values import PickValueError, reader, resolve

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _parser(command: str) -> argparse.ArgumentParser:
    p = RaisingParser(prog=f"cwlpilot {command}", description="Compile a CWL document and run it.")
    p.add_argument("workflow", help="the CWL document (FILE or FILE#ID for a $graph entry)")
    p.add_argument("inputs", nargs="?", help="the inputs (job) file, YAML or JSON")
    if command == "cwl-runner":
        p.add_argument("--outdir", default=".", help="where the output files go (default: .)")
        p.add_argument("--quiet", action="store_true", help="no progress on stderr")
        p.add_argument("--workdir", help="where stages run (default: a new temporary directory)")
        p.add_argument("-j", "--max-jobs", type=int, default=100, help="at most this many stages at once")
        p.add_argument("--cpu-limit", type=float, help="CPU cores to book (default: this machine's)")
        p.add_argument("--mem-limit", type=float, help="memory to book, MB (default: 90%% of this machine's)")
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


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    command = argv[0]
    try:
        args = _parser(command).parse_args(argv[1:])
    except UsageError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    from cwlpilot.check_cmd import build_plan, plan_json

    prog = f"cwlpilot {command}"
    panda = {} if command == "cwl-runner" else {
        "out_ds": args.out_ds, "datasets": args.dataset, "dataset_map": args.datasets,
        "max_loop_iterations": args.max_loop_iterations}
    plan, code = build_plan(args.workflow, args.inputs, err, prog, panda=panda)
    if plan is None:
        return code
    runner = command == "cwl-runner"
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="cwlpilot-")).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    plan_path = workdir / "plan.json"
    plan_path.write_text(plan_json(plan), encoding="utf-8")
    code = _execute(plan_path, workdir, args, err, runner)
    if not runner and (args.dry_run or args.list_tasks or args.produce_script):
        return code  # nothing ran, so there are no outputs to collect
    if code != 0:
        err.write(f"{prog}: the run failed (plan and logs in {workdir})\n")
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
