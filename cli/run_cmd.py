"""Command line of `cwlpilot run PLAN.json` and `cwlpilot pilot`: argparse in, frozen config out.

Options that O2DPG's runner also has keep its meaning (and its short spellings: -f, -jmax, -k, -tt).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from cwlpilot.argparsing import BELOW, RaisingParser, number
from cwlpilot.executor.booking import Limits
from cwlpilot.executor.config import PilotConfig, RunConfig
from cwlpilot.executor.errors import ExecutorError, PlanError

# -j beyond this is no limit at all: the pilot asks its store for a few more ready stages than it has free
# slots (`free + 4` in executor/pilot.py), so the count it is handed must stay inside SQLite's 64 bits
NO_JOB_LIMIT = 2**62


def _limits_args(p: argparse.ArgumentParser) -> None:
    """The options of a pilot's limits and timing: every number finite, positive (counts: at least zero) and
    below 2**63 (`cli.argparsing.number`); anything else is a usage error before anything runs."""
    g = p.add_argument_group("resources")
    g.add_argument("--cpu-limit", type=number(float), help="CPU cores to book (default: the cores of this machine)")
    g.add_argument("--mem-limit", type=number(float), help="memory to book, MB (default: 90%% of this machine's RAM)")
    g.add_argument("-j", "-jmax", "--maxjobs", "--max-jobs", dest="max_jobs", type=number(int), default=100,
                   help="at most this many stages at once (default 100)")
    g.add_argument("--n-backfill", type=number(int, zero=True), default=1,
                   help="stages that may start beyond the CPU budget at nice 19 when nothing else fits (default 1)")
    g.add_argument("--backfill-factor", type=number(float), default=1.5,
                   help="backfill keeps booked CPU within this factor of --cpu-limit (default 1.5)")
    g.add_argument("--optimistic-resources", action="store_true",
                   help="clamp bookings larger than a limit instead of refusing the plan")
    g.add_argument("--mem-overuse-factor", type=number(float), default=None, metavar="F",
                   help="kill a stage whose memory exceeds F x its booking (default: off)")
    g.add_argument("--mem-metric", choices=("pss", "rss"), default="pss", help="how stage memory is measured")
    g.add_argument("--heartbeat-timeout", type=number(float), default=60.0,
                   help="seconds without heartbeat before a pilot's stages are taken over (default 60)")
    g.add_argument("--heartbeat-interval", type=number(float), default=5.0,
                   help="seconds between heartbeats and between looks for dead pilots (default 5)")
    g.add_argument("--sample-interval", type=number(float), default=0.5,
                   help="seconds between memory and CPU samples of running stages (default 0.5)")
    g.add_argument("--keep-stage-daemons", action="store_true",
                   help="leave running what an ended stage started in the background (default: ended with it)")


def _pilot_config(a: argparse.Namespace, keep_going: bool = False) -> PilotConfig:
    """The pilot's configuration from parsed options (`cwl-runner` builds `a` itself: its limits are checked
    again here)."""
    from cwlpilot.executor.monitor import cpu_count, total_memory_mb

    for name in ("cpu_limit", "mem_limit", "max_jobs"):
        value = getattr(a, name)
        if value is not None and not 0 < value < BELOW:  # NaN too
            raise ExecutorError(f"--{name.replace('_', '-')} must be a positive number below 2**63, not {value:g}")
    limits = Limits(
        cpu=a.cpu_limit if a.cpu_limit is not None else float(cpu_count()),
        mem=a.mem_limit if a.mem_limit is not None else 0.9 * total_memory_mb(),
        max_jobs=min(a.max_jobs, NO_JOB_LIMIT), n_backfill=a.n_backfill, backfill_factor=a.backfill_factor,
        optimistic=a.optimistic_resources,
    )
    return PilotConfig(limits=limits, keep_going=keep_going, retry_on_failure=getattr(a, "retry_on_failure", 0),
                       mem_metric=a.mem_metric, mem_overuse_factor=a.mem_overuse_factor,
                       heartbeat_timeout=a.heartbeat_timeout, heartbeat_interval=a.heartbeat_interval,
                       sample_interval=a.sample_interval,
                       stdout_on_failure=getattr(a, "stdout_on_failure", False),
                       keep_stage_daemons=getattr(a, "keep_stage_daemons", False),
                       dynamic_resources=getattr(a, "dynamic_resources", False), scouts=getattr(a, "scouts", 0))


def run_parser() -> argparse.ArgumentParser:
    """The options of `cwlpilot run FILE`, for a plan and a CWL document alike: cli/runfile.py tells which FILE
    is from its content, so that options may come before or after it, in any order."""
    p = RaisingParser(prog="cwlpilot run", description="Run a stages plan (O2DPG workflow JSON or a plan compiled "
                      "by cwlpilot), or compile a CWL document and run it. Running it again in the same workdir "
                      "resumes where it stopped.")
    p.add_argument("file", nargs="?", help="the plan JSON, or a CWL document (FILE or FILE#ID for a $graph entry)")
    p.add_argument("inputs", nargs="?", help="the inputs (job) file of a CWL document, YAML or JSON")
    p.add_argument("-f", "--workflowfile", "--workflow-file", dest="plan_file",
                   help="the plan JSON (O2DPG's spelling)")
    p.add_argument("--workdir", type=Path, default=None, help="where stages run (their cwd is relative to it) and "
                   "where logs, timeline.json and the store go (default for a plan: .; for a CWL document: a new "
                   "folder NAME-run-N here, named on stderr)")
    add_run_options(p)
    cwl = p.add_argument_group("CWL and PanDA-style documents")
    cwl.add_argument("--max-loop-iterations", type=int, metavar="N", help="every loop stops after N iterations")
    cwl.add_argument("--outDS", dest="out_ds", help="PanDA: base of the dataset names (default user.local.WORKFLOW)")
    cwl.add_argument("--dataset", action="append", default=[], metavar="NAME=DIR",
                     help="PanDA: the local folder of a dataset named in the inputs (repeatable)")
    cwl.add_argument("--datasets", metavar="FILE", help="PanDA: YAML mapping of dataset names to folders")
    return p


# The options of `run` that only a CWL document takes (option -> its dest).
CWL_ONLY = {"--max-loop-iterations": "max_loop_iterations", "--outDS": "out_ds", "--dataset": "dataset",
            "--datasets": "datasets"}


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of running a plan, shared by `run PLAN.json` and `run WF.cwl` (which compiles first)."""
    p.add_argument("--store", help="store URL (default: sqlite:///WORKDIR/cwlpilot.db)")
    p.add_argument("-k", "--keep-going", action="store_true", help="carry on with independent stages after a failure")
    p.add_argument("--dry-run", action="store_true", help="show what would run, in order, and stop")
    p.add_argument("--list-tasks", action="store_true", help="list the stages and stop")
    p.add_argument("--produce-script", type=Path, metavar="FILE", help="write a bash script running the plan")
    p.add_argument("-tt", "--target-tasks", nargs="+", default=[], metavar="REGEX",
                   help="run only stages matching these regular expressions and what they need")
    p.add_argument("--target-labels", nargs="+", default=[], metavar="LABEL",
                   help="run only stages with these labels and what they need")
    p.add_argument("--rerun-from", metavar="REGEX", help="run the matching stages and everything downstream again")
    p.add_argument("--retry-rules", type=Path, metavar="FILE", help="retry rules, YAML or JSON")
    p.add_argument("--retry-on-failure", type=number(int, zero=True), default=0, metavar="N",
                   help="retry budget of stages that set no retry_count (default 0)")
    p.add_argument("--stdout-on-failure", action="store_true", help="print the logs of failed stages at the end")
    p.add_argument("--progress", choices=("auto", "bar", "lines", "quiet"), default="auto")
    p.add_argument("-q", "--quiet", action="store_true", help="only failures and the final table")
    _limits_args(p)
    _o2dpg_args(p)


# O2DPG options cwlpilot accepts but cannot honour, and why (a one-line note when given).
NO_EFFECT = {
    "webhook": "--webhook: not called; cwlpilot posts nothing to the network (its progress is on the terminal "
               "and in timeline.json)",
    "checkpoint_on_failure": "--checkpoint-on-failure: no checkpoint is uploaded; it needs ALICE's alien.py and "
                             "a grid connection (the failed stages' folders are left as they are)",
}


def _o2dpg_args(p: argparse.ArgumentParser) -> None:
    """The rest of O2DPG's runner options (MC/bin/o2dpg_workflow_runner_legacy.py), under its spellings."""
    g = p.add_argument_group("O2DPG's runner options")
    g.add_argument("--visualize-workflow", action="store_true",
                   help="write the graph as Graphviz DOT (workflow.gv in the workdir; workflow.gv.pdf with `dot`)")
    g.add_argument("--action-logfile", type=Path, metavar="FILE",
                   help="write O2DPG's action log there")
    g.add_argument("--metric-logfile", type=Path, metavar="FILE", help="O2DPG's metric log of every sample")
    g.add_argument("--remove-files-early", type=Path, metavar="FILE", default=None,
                   help="delete a timeframe's files once no stage needs them (O2DPG's FileIOGraph report)")
    g.add_argument("--production-mode", action="store_true",
                   help="archive each finished stage's log files into pipeline_log_archive.log.tar")
    g.add_argument("--no-rootinit-speedup", action="store_true", help="do not set ROOT's system paths for stages")
    g.add_argument("--cgroup", metavar="TASKS_FILE",
                   help="join this cgroup (its tasks file) before starting anything, as O2DPG does")
    g.add_argument("--update-resources", type=Path, metavar="FILE",
                   help="book stages from a metrics file of O2DPG's o2dpg_sim_metrics.py json-stat (every run "
                        "writes one: WORKDIR/cwlpilot-resources.json)")
    g.add_argument("--dynamic-resources", action="store_true",
                   help="rebook a family's stages from what its ended members used, as O2DPG does")
    g.add_argument("--scouts", type=int, default=0, metavar="N",
                   help="book a family's stages from what its first N ended members used (default 0: off)")
    g.add_argument("--webhook", help=argparse.SUPPRESS)
    g.add_argument("--checkpoint-on-failure", help=argparse.SUPPRESS)


def no_effect_notes(a: argparse.Namespace) -> list[str]:
    """One note per O2DPG option given that cwlpilot accepts without effect."""
    return [f"note: {text}" for name, text in NO_EFFECT.items() if getattr(a, name, None) not in (None, False)]


def run_config(a: argparse.Namespace, plan: Path, workdir: Path, progress: str | None = None,
               optimistic: bool = False) -> RunConfig:
    """The RunConfig of parsed run options (`add_run_options`) for `plan` in `workdir`."""
    store = a.store or f"sqlite:///{(workdir / 'cwlpilot.db').resolve()}"
    pilot = _pilot_config(a, a.keep_going)
    if optimistic:
        pilot = replace(pilot, limits=replace(pilot.limits, optimistic=True))
    return RunConfig(plan=plan, workdir=workdir, store_url=store, pilot=pilot,
                     target_tasks=tuple(a.target_tasks), target_labels=tuple(a.target_labels),
                     rerun_from=a.rerun_from, retry_rules_file=a.retry_rules, dry_run=a.dry_run,
                     list_tasks=a.list_tasks, produce_script=a.produce_script,
                     progress=progress or ("quiet" if a.quiet else a.progress),
                     cpu_limit_given=a.cpu_limit is not None, rootinit_speedup=not a.no_rootinit_speedup,
                     action_logfile=a.action_logfile, metric_logfile=a.metric_logfile,
                     remove_files_early=a.remove_files_early, production_mode=a.production_mode,
                     visualize=a.visualize_workflow, cgroup=a.cgroup, update_resources=a.update_resources)


def pilot_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cwlpilot pilot", description="Join a run: pull ready stages from its "
                                "store and run them within this pilot's own limits, until the run is over.",
                                epilog="Signals: SIGTERM or SIGINT stop the running stages and give them back "
                                "to the run; SIGUSR1 drains the pilot (its running stages finish, it claims no "
                                "more and exits 0).")
    p.add_argument("--store", required=True, help="the run's store URL (e.g. sqlite:////path/cwlpilot.db)")
    p.add_argument("--wait", type=number(float, zero=True), default=30.0, metavar="S",
                   help="wait up to S seconds for the run to be loaded into the store (default 30)")
    p.add_argument("--progress", choices=("lines", "quiet"), default="lines")
    _limits_args(p)
    return p


def status_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cwlpilot status", description="Show a run as its store holds it: stages by "
                                "state, pilots (host, pid, Slurm job, last heartbeat) and failures.")
    p.add_argument("--store", required=True, help="the run's store URL")
    p.add_argument("--heartbeat-timeout", type=float, default=60.0,
                   help="a pilot silent this long is shown as lost (default 60)")
    return p


def main(argv: list[str]) -> int:
    """`cwlpilot pilot` and `cwlpilot status` (`cwlpilot run` starts in cli/runfile.py, which calls `run_plan`)."""
    command, args = argv[0], argv[1:]
    try:
        if command == "pilot":
            return _pilot(pilot_parser().parse_args(args))
        return _status(status_parser().parse_args(args))
    except ExecutorError as exc:
        print(f"cwlpilot: {exc}", file=sys.stderr)
        return 1


def path_problem(option: str, path: Path | None, is_file: bool = False) -> str | None:
    """Why `path`, given to `option`, cannot be used, else None: checked before anything is written.

    A folder (`is_file` False) may be missing, as it is created with its parents, but not be a file or be
    under one; a file may be missing, but not be a folder, and its folder must exist.
    """
    if path is None:
        return None
    if path.exists():
        if path.is_dir() == is_file:
            return f"{option} {path}: {'is a directory' if is_file else 'not a directory'}"
        return None
    if is_file:
        return None if path.parent.is_dir() else f"{option} {path}: no such directory {path.parent}"
    ancestor = path.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    return None if ancestor.is_dir() else f"{option} {path}: {ancestor} is not a directory"


def run_plan(parser: argparse.ArgumentParser, a: argparse.Namespace, plan: Path) -> int:
    """Run the stages plan `plan` with the parsed `run` options `a` (the workdir defaults to .)."""
    workdir = a.workdir if a.workdir is not None else Path(".")
    for problem in (path_problem("--workdir", workdir), path_problem("--produce-script", a.produce_script, True)):
        if problem:
            parser.error(problem)
    from cwlpilot.executor.runner import run

    for note in no_effect_notes(a):
        print(note, file=sys.stderr)
    try:
        return run(run_config(a, plan, workdir))
    except PlanError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        n = len(exc.problems)
        print(f"cwlpilot: {n} problem{'s' if n > 1 else ''} found; nothing was run", file=sys.stderr)
        return 1
    except ExecutorError as exc:
        print(f"cwlpilot: {exc}", file=sys.stderr)
        return 1


def _pilot(a: argparse.Namespace) -> int:
    import time

    from cwlpilot.executor.pilot import Pilot
    from cwlpilot.executor.progress import LinesReporter
    from cwlpilot.executor.store import open_store, store_exists

    # A pilot may start before the run (a batch system starts jobs in any order): wait for the run to appear,
    # without creating a store file at a mistyped path.
    deadline = time.monotonic() + a.wait
    while not store_exists(a.store):
        if time.monotonic() > deadline:
            raise ExecutorError(f"{a.store}: no store there after {a.wait:g} s "
                                "(start the run first, or check the path)")
        time.sleep(0.2)
    store = open_store(a.store, lease=a.heartbeat_timeout)
    try:
        while store.get_meta("run_id") is None:
            if time.monotonic() > deadline:
                raise ExecutorError(f"{a.store}: no run was loaded into this store within {a.wait:g} s")
            time.sleep(0.2)
        reporter = LinesReporter(quiet=a.progress == "quiet")
        stop = Pilot(store, _pilot_config(a), reporter).run()
        reporter.close()
        if stop == "interrupted":
            print("pilot interrupted: its running stages were given back to the run", file=sys.stderr)
            return 1
        if stop == "drained":
            print("pilot drained: its running stages ended and it claimed no more; the others are left to other "
                  "pilots", file=sys.stderr)
        return 0
    finally:
        store.close()


def _status(a: argparse.Namespace) -> int:
    import time

    from cwlpilot.executor.status import render_status
    from cwlpilot.executor.store import open_store, store_exists

    if not store_exists(a.store):
        raise ExecutorError(f"{a.store}: no run there")
    store = open_store(a.store, lease=a.heartbeat_timeout)
    try:
        run = f"{store.get_meta('run_id') or '?'} (workdir {store.get_meta('workdir') or '?'})"
        print(render_status(run, store.progress(), store.statuses(), store.pilots(), store.attempts(), time.time(),
                            a.heartbeat_timeout))
        return 0
    finally:
        store.close()
