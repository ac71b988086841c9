"""`cwlpilot submit PLAN.json|WF.cwl [INPUTS] --slurm ...`: load a run into its store and start pilots for it
as ONE Slurm job array (never a job per stage); `--wait` follows the run to its end.

The plan is checked and loaded exactly as `cwlpilot run` loads it (resuming what the store already holds),
the sbatch script is written into the workdir (kept: it is what was submitted, and can be submitted again),
and `sbatch` starts N pilots, each booking the cores and memory of its allocation.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from pathlib import Path
from typing import TextIO

from cwlpilot.argparsing import RaisingParser, UsageError
from cwlpilot.executor.booking import Limits
from cwlpilot.executor.config import PilotConfig, RunConfig
from cwlpilot.executor.errors import ExecutorError, PlanError
from cwlpilot.executor.store.base import Store

POLL = 2.0  # s between looks at the run while following it


def parser() -> argparse.ArgumentParser:
    p = RaisingParser(prog="cwlpilot submit", description="Load a run into its store and start its pilots on a "
                      "batch system, as one job array. Submitting again resumes the run.")
    p.add_argument("plan", help="the plan JSON, or a CWL workflow (compiled into WORKDIR/plan.json)")
    p.add_argument("inputs", nargs="?", help="the CWL workflow's inputs file")
    p.add_argument("--store", required=True, help="the run's store: postgresql://user@host:port/db[?run=NAME] "
                   "(or an SQLite file on a local disk, for pilots on this host only)")
    p.add_argument("--workdir", required=True, type=Path, help="where stages run, on a file system every node "
                   "sees; the sbatch script and the pilots' logs go there too")
    p.add_argument("--slurm", action="store_true", required=True, help="start the pilots with Slurm's sbatch")
    p.add_argument("--pilots", type=int, required=True, metavar="N", help="pilots to start (array tasks)")
    p.add_argument("--cpus-per-pilot", type=int, required=True, metavar="C", help="cores of each allocation")
    p.add_argument("--mem-per-pilot", type=int, required=True, metavar="MB", help="memory of each allocation")
    p.add_argument("--time", metavar="T", help="each pilot's time limit (sbatch --time)")
    p.add_argument("--drain-before", type=int, metavar="SECONDS", help="this long before the time limit, pilots "
                   "stop claiming stages and leave once their running ones ended (sbatch --signal=B:USR1@SECONDS; "
                   "Slurm may send it up to a minute earlier); needs --time")
    p.add_argument("--partition", metavar="P", help="the Slurm partition")
    p.add_argument("--sbatch-arg", action="append", default=[], metavar="ARG",
                   help="one more sbatch option, e.g. --sbatch-arg=--qos=long (repeatable)")
    p.add_argument("--wait", action="store_true", help="follow the run until it ends; exit 0 only if every "
                   "targeted stage succeeded")
    p.add_argument("-j", "--max-jobs", type=int, default=100, help="stages at once per pilot (default 100)")
    p.add_argument("-k", "--keep-going", action="store_true", help="carry on with independent stages after a failure")
    p.add_argument("-tt", "--target-tasks", nargs="+", default=[], metavar="REGEX")
    p.add_argument("--target-labels", nargs="+", default=[], metavar="LABEL")
    p.add_argument("--rerun-from", metavar="REGEX", help="run the matching stages and everything downstream again")
    p.add_argument("--retry-rules", type=Path, metavar="FILE")
    p.add_argument("--retry-on-failure", type=int, default=0, metavar="N")
    p.add_argument("--heartbeat-timeout", type=float, default=60.0,
                   help="seconds without heartbeat before a pilot's stages are taken over (default 60)")
    p.add_argument("--heartbeat-interval", type=float, default=5.0)
    p.add_argument("--optimistic-resources", action="store_true",
                   help="clamp bookings larger than a pilot's allocation instead of refusing the plan")
    return p


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    try:
        a = parser().parse_args(argv[1:])
        return _submit(a, out, err)
    except UsageError as exc:
        err.write(f"{exc}\n")
        return 2
    except PlanError as exc:
        err.writelines(f"{p}\n" for p in exc.problems)
        err.write(f"cwlpilot: {len(exc.problems)} problem(s) found; nothing was submitted\n")
        return 1
    except ExecutorError as exc:
        err.write(f"cwlpilot submit: {exc}\n")
        return 1


def _plan_file(a: argparse.Namespace, workdir: Path, err: TextIO) -> Path | None:
    """The plan to load: the JSON given, or the CWL workflow compiled into the workdir."""
    if a.plan.endswith(".json"):
        return Path(a.plan)
    from cwlpilot.check_cmd import build_plan, plan_json
    from cwlpilot.cwlexec import PLAN_FILE, clobber_problem, marked

    problem = clobber_problem(workdir)  # as `cwlpilot run` would, which may take the run up again from here
    if problem:
        raise UsageError(f"cwlpilot submit: {problem}")
    plan, _ = build_plan(a.plan, a.inputs, err, "cwlpilot submit")
    if plan is None:
        return None
    path = workdir / PLAN_FILE
    path.write_text(plan_json(marked(plan, a.plan)), encoding="utf-8")
    return path


def _config(a: argparse.Namespace, plan: Path, workdir: Path) -> RunConfig:
    for name in ("pilots", "cpus_per_pilot", "mem_per_pilot", "max_jobs"):
        if getattr(a, name) <= 0:
            raise UsageError(f"cwlpilot submit: --{name.replace('_', '-')} must be positive")
    if a.drain_before is not None and (a.drain_before <= 0 or not a.time):
        raise UsageError("cwlpilot submit: --drain-before needs --time, and a positive number of seconds")
    limits = Limits(cpu=float(a.cpus_per_pilot), mem=float(a.mem_per_pilot), max_jobs=a.max_jobs,
                    optimistic=a.optimistic_resources or not a.plan.endswith(".json"))
    pilot = PilotConfig(limits=limits, keep_going=a.keep_going, retry_on_failure=a.retry_on_failure,
                        heartbeat_timeout=a.heartbeat_timeout, heartbeat_interval=a.heartbeat_interval)
    return RunConfig(plan=plan, workdir=workdir, store_url=a.store, pilot=pilot, target_tasks=tuple(a.target_tasks),
                     target_labels=tuple(a.target_labels), rerun_from=a.rerun_from, retry_rules_file=a.retry_rules)


def _check_store(url: str, err: TextIO) -> None:
    """Refuse an SQLite store that pilots on several nodes would share through a network file system."""
    from cwlpilot.executor.slurm import sqlite_refusal
    from cwlpilot.executor.store import is_postgres, sqlite_path

    if is_postgres(url):
        return
    path = sqlite_path(url)
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the store may not be made yet
        folder = folder.parent
    with open("/proc/mounts", encoding="utf-8") as fh:
        refusal = sqlite_refusal(folder.resolve() / path.relative_to(folder), fh.read())
    if refusal:
        raise UsageError(f"cwlpilot submit: --store {url}: {refusal}")
    err.write(f"note: {path} is an SQLite store on a local disk: only pilots on this host "
              f"({socket.gethostname()}) can use it\n")


def _submit(a: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from cwlpilot.executor import slurm
    from cwlpilot.executor.runner import load_run, prepare
    from cwlpilot.executor.store import open_store

    t0 = time.time()
    _check_store(a.store, err)
    workdir = a.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    plan = _plan_file(a, workdir, err)
    if plan is None:
        return 1
    prepared = prepare(_config(a, plan, workdir), out, err)
    if prepared is None:
        return 0  # the targets select nothing
    cfg = prepared.cfg
    store = open_store(cfg.store_url, lease=cfg.pilot.heartbeat_timeout)
    try:
        if not load_run(store, prepared, err):
            return 1
        job = slurm.PilotJob(store_url=cfg.store_url, workdir=workdir, pilots=a.pilots, cpus=a.cpus_per_pilot,
                             mem_mb=a.mem_per_pilot, time=a.time, drain_before=a.drain_before,
                             partition=a.partition, sbatch_args=tuple(a.sbatch_arg),
                             job_name=f"cwlpilot-{workdir.name}"[:60], pilot_args=_pilot_args(a), python=sys.executable)
        script = slurm.write_script(job)
        job_id = slurm.submit(script)
        progress = store.progress()
        out.write(f"submitted Slurm job array {job_id}: {a.pilots} pilot(s) of {a.cpus_per_pilot} core(s) and "
                  f"{a.mem_per_pilot} MB for {progress.active} stage(s) to run (script {script}, pilot logs in "
                  f"{workdir / 'pilots'})\nfollow it: cwlpilot status --store {cfg.store_url}\n")
        out.flush()
        if not a.wait:
            return 0
        code = follow(store, job_id, workdir, t0, out, err)
        if a.plan.endswith(".json") or store.progress().active:  # not a CWL workflow, or the run goes on
            return code
        # a CWL workflow's run is over: its output object, as `cwlpilot run` writes it
        from cwlpilot.cwlrun import write_outputs

        compiled = json.loads(plan.read_text(encoding="utf-8"))
        return write_outputs(compiled, workdir, cfg.store_url, code, err, prog="cwlpilot submit")
    finally:
        store.close()


def _pilot_args(a: argparse.Namespace) -> tuple[str, ...]:
    args = ("-j", str(a.max_jobs), "--heartbeat-timeout", f"{a.heartbeat_timeout:g}",
            "--heartbeat-interval", f"{a.heartbeat_interval:g}")
    return (*args, "--optimistic-resources") if a.optimistic_resources or not a.plan.endswith(".json") else args


def follow(store: Store, job_id: str, workdir: Path, t0: float, out: TextIO, err: TextIO) -> int:
    """Show the run's progress until it ends or its pilots are all gone; the final table, and the exit code."""
    from cwlpilot.executor import slurm
    from cwlpilot.executor.runner import final_report, succeeded
    from cwlpilot.executor.store.base import State

    last = ""
    try:
        while True:
            progress = store.progress()
            c = progress.counts
            line = (f"{c.get(State.DONE, 0)}/{progress.total} done, {c.get(State.RUNNING, 0)} running, "
                    f"{c.get(State.READY, 0) + c.get(State.PENDING, 0)} waiting, {c.get(State.FAILED, 0)} failed, "
                    f"{c.get(State.SKIPPED, 0)} skipped")
            if line != last:
                err.write(f"[{time.time() - t0:7.1f}s] {line}\n")
                err.flush()
                last = line
            running = c.get(State.RUNNING, 0)
            if progress.active == 0 or (progress.stop_reason and running == 0):
                break
            active = slurm.active_tasks(job_id)
            if active == 0 and store.progress().active:
                err.write(f"all pilots of job {job_id} have ended with {progress.active} stage(s) not done; "
                          "submit again to go on (see the pilots' logs)\n")
                break
            store.idle_wait(POLL, POLL)
    except KeyboardInterrupt:
        err.write(f"stopped following; the pilots go on (cwlpilot status --store ..., scancel {job_id})\n")
        return 1
    statuses = final_report(store, workdir, t0, out)
    if progress.stop_reason:
        err.write(f"stopped: {progress.stop_reason}\n")
    return 0 if succeeded(statuses) else 1
