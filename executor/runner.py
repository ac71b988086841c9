"""`cwlpilot run PLAN.json`: check the plan, prepare the store, run one pilot in-process, report.

Running the same command again resumes: finished stages stay finished (unless their command changed or
--rerun-from names them), failed and skipped ones get a fresh start, interrupted ones run again.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple, TextIO

from cwlpilot.executor import o2dpg, views
from cwlpilot.executor.config import RunConfig
from cwlpilot.executor.errors import PlanError, UsageError
from cwlpilot.executor.graph import downstream, ranks, topological_order
from cwlpilot.executor.kinds import registry
from cwlpilot.executor.learning import Measured, family, json_stat, o2dpg_name, read_estimates, updated
from cwlpilot.executor.monitor import kill_marked
from cwlpilot.executor.o2dpglogs import ActionLog, EarlyRemoval, MetricLog, Observer, ProductionArchive
from cwlpilot.executor.pilot import Pilot
from cwlpilot.executor.plan import GLOBAL_INIT, Plan, store_row
from cwlpilot.executor.plancheck import report
from cwlpilot.executor.planload import load_plan, read_plan
from cwlpilot.executor.progress import make_reporter
from cwlpilot.executor.report import render, summarize
from cwlpilot.executor.retry import rule_problems
from cwlpilot.executor.store import open_store, store_exists
from cwlpilot.executor.store.base import Attempt, StageRow, StageStatus, State, Store
from cwlpilot.executor.takeover import MARKER, live_pilots, requeue_dead_pilots
from cwlpilot.executor.targets import NO_TARGET, Selection, rerun_from, select
from cwlpilot.executor.timeline import write_timeline

O2DPG_CPU_LIMIT = 8.0


class Prepared(NamedTuple):
    """A checked plan, what this invocation targets and the settings it runs with, ready to be loaded into a
    store (by `cwlpilot run`, or by `cwlpilot submit` for pilots started elsewhere)."""

    plan: Plan
    cfg: RunConfig  # with the limits the plan's format implies
    selection: Selection
    rerun: list[str]
    alienv: dict[str, dict[str, str]]
    rank: dict[str, int]
    file_rules: list[dict[str, object]]


def prepare(cfg: RunConfig, out: TextIO, err: TextIO) -> Prepared | None:
    """Read and check the plan (PlanError or UsageError with every problem); None when it selects nothing."""
    kinds = registry()
    plan = load_plan(cfg.plan, known_kinds=kinds) if cfg.plan_text is None else read_plan(cfg.plan_text, str(cfg.plan))
    file_rules = _load_rule_file(cfg.retry_rules_file) if cfg.retry_rules_file else []
    selection = select(plan.stages, cfg.target_tasks, cfg.target_labels)
    limits = replace(cfg.pilot.limits, clamp_memory=plan.o2dpg)
    if plan.o2dpg and not cfg.cpu_limit_given:  # O2DPG's runner: --cpu-limit defaults to 8, whatever the machine
        limits = replace(limits, cpu=O2DPG_CPU_LIMIT)
    cfg = replace(cfg, pilot=replace(cfg.pilot, limits=limits))
    if cfg.update_resources is not None:
        plan = _update_resources(plan, cfg.update_resources, err)
    checked = report(plan, selection.wanted, kinds, limits)
    for warning in checked.warnings:
        err.write(f"warning: {warning}\n")
    if checked.errors:
        raise PlanError(checked.errors)
    if selection.nothing:  # O2DPG prints this and ends successfully
        out.write(NO_TARGET + "\n")
        return None
    wanted = selection.wanted
    rerun = sorted(downstream(plan.stages, rerun_from(plan.stages, cfg.rerun_from, wanted))
                   & (set(wanted) if wanted is not None else {s.name for s in plan.stages})) if cfg.rerun_from else []
    return Prepared(plan, cfg, selection, rerun, _alienv(plan, wanted), ranks(plan.stages), file_rules)


def run(cfg: RunConfig, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Exit status: 0 when every targeted stage succeeded, 1 otherwise."""
    t0 = time.time()
    prepared = prepare(cfg, out, err)
    if prepared is None:
        return 0
    plan, cfg, wanted, rerun = prepared.plan, prepared.cfg, prepared.selection.wanted, prepared.rerun
    if cfg.cgroup:
        _join_cgroup(cfg.cgroup)
    if cfg.visualize:
        _visualize(plan, wanted, cfg.workdir, err)
    if cfg.list_tasks:
        out.write(views.list_tasks(plan, wanted, _done(cfg, plan, rerun)) + "\n")
        return 0
    if cfg.produce_script:
        _write_private(cfg.produce_script, views.produce_script(plan, wanted, topological_order(plan.stages)))
        err.write(f"wrote {cfg.produce_script} (readable by you only: it holds the stages' environment; "
                  f"run it with bash)\n")
        return 0
    if cfg.dry_run:
        out.write(views.dry_run(plan, wanted, prepared.rank, _done(cfg, plan, rerun), cfg.pilot.limits) + "\n")
        return 0
    cfg.workdir.mkdir(parents=True, exist_ok=True)
    store = open_store(cfg.store_url, lease=cfg.pilot.heartbeat_timeout)
    try:
        if not load_run(store, prepared, err):
            return 1
        return _run_pilot(store, prepared, t0, out, err)
    finally:
        store.close()


def _alienv(plan: Plan, wanted: frozenset[str] | None) -> dict[str, dict[str, str]]:
    """The alternative software environments the selected stages need (a PlanError when one cannot be had)."""
    if not plan.o2dpg:
        return {}
    needed = [(s.name, s.alienv) for s in plan.stages if s.alienv and (wanted is None or s.name in wanted)]
    return o2dpg.alienv_environments(needed, plan.source) if needed else {}


def load_run(store: Store, prepared: Prepared, err: TextIO) -> bool:
    """Load the plan into the store for a new invocation of the run (resuming what the store holds) and run
    the global init task; False when that failed. Refused while pilots of the run are alive."""
    plan, cfg, rerun = prepared.plan, prepared.cfg, prepared.rerun
    host = socket.gethostname()
    live = live_pilots(store, host, cfg.pilot.heartbeat_timeout)
    if live:
        p = live[0]
        raise UsageError(f"{cfg.store_url}: a run is already active in this store (pilot {p.id}, pid {p.pid} on "
                         f"{p.host}); join it with `cwlpilot pilot --store {cfg.store_url}` or wait for it")
    run_id = store.get_meta("run_id") or uuid.uuid4().hex[:12]
    for message in requeue_dead_pilots(store, run_id, host, cfg.pilot.heartbeat_timeout):
        err.write(f"note: {message}\n")
    if not cfg.pilot.keep_stage_daemons:  # no pilot of this run is alive: what carries its marker is stale
        stale = kill_marked(MARKER, prefix=f"{run_id}/")
        if stale:
            err.write(f"note: ended {len(stale)} process group(s) left running by an earlier run of this plan\n")
    rules = [r.spec() for r in plan.retry_rules]
    runner_env = o2dpg.runner_env(cfg.workdir.resolve(), os.environ, cfg.rootinit_speedup) if plan.o2dpg else {}
    meta = {
        "workdir": str(cfg.workdir.resolve()), "run_id": run_id, "plan": str(cfg.plan.resolve()),
        "global_env": json.dumps(dict(plan.global_env)), "keep_going": "1" if cfg.pilot.keep_going else "0",
        "retry_rules": json.dumps(prepared.file_rules + rules),  # --retry-rules first: it is the more specific
        "o2dpg": "1" if plan.o2dpg else "0", "runner_env": json.dumps(runner_env),
        "alienv": json.dumps(prepared.alienv),
        "learning": json.dumps({"dynamic": cfg.pilot.dynamic_resources, "scouts": cfg.pilot.scouts}),
    }
    sync = store.sync_plan(_rows(plan, prepared.rank), meta)
    if sync.rerun:
        err.write(f"note: {len(sync.rerun)} finished stage(s) changed or depend on a change and run again: "
                  f"{', '.join(sync.rerun[:5])}{' ...' if len(sync.rerun) > 5 else ''}\n")
    store.reset_unfinished()
    if rerun:
        store.reset_from(rerun)
    if plan.o2dpg:  # O2DPG's markers of what runs again go, or the stages would be skipped as done
        o2dpg.remove_markers(cfg.workdir, [(n, plan.by_name[n].cwd) for n in {*rerun, *sync.rerun}
                                           if n in plan.by_name])
    store.set_wanted(prepared.selection.wanted)
    return not plan.global_cmd or _global_init(plan, cfg.workdir, err)


def _run_pilot(store: Store, prepared: Prepared, t0: float, out: TextIO, err: TextIO) -> int:
    """Run this process's pilot on the loaded run, then report."""
    plan, cfg = prepared.plan, prepared.cfg
    progress = store.progress()
    observers = _observers(plan, cfg, prepared.selection.targets)
    reporter = make_reporter(cfg.progress, progress.total, progress.counts.get(State.DONE, 0))
    try:
        stop = Pilot(store, cfg.pilot, reporter, stages={s.index: s for s in plan.stages},
                     observers=observers).run()
    finally:
        reporter.close()
        for observer in observers:
            observer.close()
    statuses = final_report(store, cfg.workdir, t0, out, cfg.pilot.stdout_on_failure,
                            {s.name: (s.cpu, s.mem) for s in plan.stages})
    if stop == "interrupted":
        err.write("interrupted: running stages were stopped and will run again next time\n")
    elif stop == "drained":
        err.write("drained: the running stages ended and no others were started; run again to go on\n")
    elif stop:
        err.write(f"stopped: {stop} (use {cfg.carry_on_hint} to carry on past failures)\n")
    return 0 if succeeded(statuses) else 1


def final_report(store: Store, workdir: Path, t0: float, out: TextIO, stdout_on_failure: bool = False,
                 declared: Mapping[str, tuple[float, float]] | None = None) -> list[StageStatus]:
    """Write timeline.json and the measured resources, print the final table; returns the stages' statuses.
    `declared`: the plan's bookings, shown beside those that differ (learned, or raised by a retry rule)."""
    attempts = store.attempts()
    write_timeline(workdir / "timeline.json", attempts, time.time(), declared)
    _write_measured(workdir / MEASURED, attempts, store.get_meta("plan") or "")
    statuses = store.statuses()
    summary = summarize(statuses, attempts, t0, time.time() - t0)
    out.write(render(statuses, attempts, summary, declared) + "\n")
    if stdout_on_failure:
        _print_failed_logs(statuses, attempts, out)
    return statuses


MEASURED = "cwlpilot-resources.json"


def _write_measured(path: Path, attempts: Sequence[Attempt], plan: str) -> None:
    """What the run measured, by family, in O2DPG's json-stat format (for --update-resources next time)."""
    measured: dict[str, list[Measured]] = {}
    for a in attempts:
        if a.state == "done" and a.end is not None and a.end > a.start and a.cpu_time is not None:
            seconds = a.end - a.start
            key = family(a.stage) or a.stage
            measured.setdefault(key, []).append(Measured(a.peak_mem, a.cpu_time / seconds, seconds, 0))
    if measured:
        path.write_text(json.dumps(json_stat(measured, {"workflow_file": plan}), indent=1, sort_keys=True) + "\n")


def _update_resources(plan: Plan, path: Path, err: TextIO) -> Plan:
    """O2DPG's --update-resources: bookings from a json-stat metrics file (learning.updated)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise UsageError(f"--update-resources {path}: cannot read it ({getattr(exc, 'strerror', None) or exc})"
                         ) from None
    try:
        estimates = read_estimates(str(path), text)
    except (ValueError, AttributeError, TypeError) as exc:
        raise UsageError(f"--update-resources {path}: not a metrics file of O2DPG's o2dpg_sim_metrics.py "
                         f"json-stat ({exc})") from None
    stages, changed = [], 0
    for s in plan.stages:
        key = o2dpg_name(s.name, s.timeframe) if plan.o2dpg else (family(s.name) or s.name)
        if key in estimates:
            cpu, mem = updated(estimates[key], s.cpu, s.mem, s.relative_cpu)
            changed += (cpu, mem) != (s.cpu, s.mem)
            s = replace(s, cpu=cpu, mem=mem)
        stages.append(s)
    err.write(f"note: --update-resources: {changed} stage(s) booked from {path}\n")
    return replace(plan, stages=tuple(stages), by_name={s.name: s for s in stages})


def _observers(plan: Plan, cfg: RunConfig, targets: frozenset[str]) -> list[Observer]:
    """O2DPG's logs and file hooks the run asked for (executor.o2dpglogs)."""
    out: list[Observer] = []
    if cfg.action_logfile is not None:
        out.append(ActionLog(cfg.action_logfile, plan.stages))
    if cfg.metric_logfile is not None:
        limits = cfg.pilot.limits
        out.append(MetricLog(cfg.metric_logfile, {
            **(plan.meta or {}), "cpu_limit": limits.cpu, "mem_limit": limits.mem,
            "workflow_file": str(cfg.plan.resolve()), "target_task": list(cfg.target_tasks),
            "rerun_from": cfg.rerun_from, "target_labels": list(cfg.target_labels)}))
    if cfg.remove_files_early is not None:
        out.append(EarlyRemoval(cfg.remove_files_early, cfg.workdir, plan.stages, targets))
    if cfg.production_mode:
        out.append(ProductionArchive(cfg.workdir))
    return out


def _join_cgroup(tasks_file: str) -> None:
    """O2DPG's --cgroup: write our pid into the cgroup's tasks file; the stages inherit it."""
    try:
        with open(tasks_file, "w") as fh:
            fh.write(f"{os.getpid()}\n")
    except OSError as exc:
        raise UsageError(f"--cgroup {tasks_file}: could not join the cgroup ({exc.strerror})") from None


def _visualize(plan: Plan, wanted: frozenset[str] | None, workdir: Path, err: TextIO) -> None:
    """O2DPG's --visualize-workflow: workflow.gv, and workflow.gv.pdf when Graphviz's `dot` is there."""
    workdir.mkdir(parents=True, exist_ok=True)
    gv = workdir / "workflow.gv"
    gv.write_text(views.plan_dot(plan, wanted))
    dot = shutil.which("dot")
    if dot is None:
        err.write(f"wrote {gv} (install Graphviz for workflow.gv.pdf)\n")
        return
    subprocess.run([dot, "-Tpdf", "-o", f"{gv}.pdf", str(gv)], check=False, capture_output=True)
    err.write(f"wrote {gv} and {gv}.pdf\n")


def _done(cfg: RunConfig, plan: Plan, rerun: Sequence[str]) -> set[str]:
    """Stages a run would not start: done in an existing store, or (O2DPG files) with a done marker; those
    --rerun-from names run again all the same."""
    done = _done_in_store(cfg)
    if plan.o2dpg:
        done |= {s.name for s in plan.stages if o2dpg.done_marker(cfg.workdir / s.cwd, s.name).exists()}
    return done - set(rerun)


def _write_private(path: Path, text: str) -> None:
    """Write `text` to a file only its owner may read (made so from the start, never readable meanwhile)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
        fh.write(text)


def succeeded(statuses: Sequence[StageStatus]) -> bool:
    """Every targeted stage ended done or skipped, or failed with its failure handled by a condition that
    looked for it (then what was skipped because of it is not a failure either)."""
    return all(s.state in (State.DONE, State.SKIPPED) or (s.state is State.FAILED and s.handled)
               for s in statuses if s.wanted)


def _rows(plan: Plan, rank: dict[str, int]) -> list[StageRow]:
    return [store_row(s, rank[s.name]) for s in plan.stages]


def _load_rule_file(path: Path) -> list[dict[str, object]]:
    """Retry rules from a YAML or JSON file: a list of rules, or {"retry_rules": [...]}. Validated."""
    from jsonschema import Draft202012Validator
    from ruamel.yaml import YAML, YAMLError

    from cwlpilot import schemas

    try:
        doc = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as exc:
        raise UsageError(f"{path}: cannot read retry rules: {exc}") from None
    rules = doc.get("retry_rules") if isinstance(doc, dict) else doc
    schema = {"$ref": "#/$defs/list", "$defs": {**schemas.load("stages")["$defs"],
                                                 "list": {"type": "array", "items": {"$ref": "#/$defs/retry_rule"}}}}
    errors = [f"{path}: rule #{e.absolute_path[0] + 1 if e.absolute_path else '?'}: {e.message}"
              for e in Draft202012Validator(schema).iter_errors(rules)]
    errors += rule_problems(rules if isinstance(rules, list) else [], str(path))
    if errors:
        raise PlanError(errors)
    return list(rules or [])


def _done_in_store(cfg: RunConfig) -> set[str]:
    """Stages already done in an existing store (a dry run never creates one)."""
    if not store_exists(cfg.store_url):
        return set()
    store = open_store(cfg.store_url)
    try:
        return {s.name for s in store.statuses() if s.state is State.DONE}
    finally:
        store.close()


def _global_init(plan: Plan, workdir: Path, err: TextIO) -> bool:
    """O2DPG: the global init task's command runs once, before any stage; its failure ends the run."""
    log = workdir / f"{GLOBAL_INIT}.log"
    env = {**dict(plan.global_env), **os.environ}
    with open(log, "wb") as fh:
        code = subprocess.call(["/bin/bash", "-c", plan.global_cmd or "true"], cwd=workdir, env=env,
                               stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if code != 0:
        err.write(f"{plan.source}: stage '{GLOBAL_INIT}': its command failed with exit code {code}; "
                  f"nothing else was run (log: {log})\n")
    return code == 0


def _print_failed_logs(statuses: Sequence[StageStatus], attempts: Sequence[Attempt], out: TextIO) -> None:
    """O2DPG's --stdout-on-failure: each failed stage's log, framed as O2DPG frames it (the last attempt's:
    earlier attempts keep theirs as `<name>.<attempt>.log`)."""
    failed = {s.name for s in statuses if s.state is State.FAILED}
    for a in attempts:
        if a.stage in failed and a.log and a.state == "failed":
            out.write(f" ----> START OF LOGFILE  {a.log}  -----\n")
            try:
                out.write(Path(a.log).read_text(errors="replace")[-65536:].rstrip("\n") + "\n")
            except OSError as exc:
                out.write(f"(cannot read: {exc.strerror})\n")
            out.write(f" <---- END OF LOGFILE  {a.log}  -----\n")
