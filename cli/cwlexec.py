"""Running a compiled CWL plan in a folder, and the workflow's output object from what its stages left there.

Shared by `run WF.cwl` (cli/cwlrun.py) and `cwl-runner` (cli/cwlrunner.py). The plan is written to
`<workdir>/plan.json`, marked in its `meta` as compiled by cwlpilot: a later run may replace a plan.json so
marked, never another one (an O2DPG workflow file, say), nor an outputs.json beside it. A run that only
shows (`--dry-run`, `--list-tasks`) hands the executor the plan's text and writes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from cwlpilot.docpath import file_part
from cwlpilot.executor.config import RunConfig
from cwlpilot.semantics.cwl.values import PickValueError, reader, resolve

PLAN_FILE, OUTPUTS_FILE, STORE_FILE = "plan.json", "outputs.json", "cwlpilot.db"
META_KEY = "cwlpilot"
TAIL_LINES = 20  # of a failed step's log, shown after a failure
TAIL_STEPS = 3  # failed steps shown so


def marked(plan: dict[str, Any], document: str) -> dict[str, Any]:
    """`plan` with `meta` saying which document it was compiled from (the runner ignores `meta`)."""
    meta = dict(plan.get("meta") or {})
    meta[META_KEY] = {"compiled_from": os.path.abspath(file_part(document))}
    return {**plan, "meta": meta}


def clobber_problem(workdir: Path) -> str | None:
    """Why cwlpilot must not write its plan.json and outputs.json into `workdir`, else None."""
    plan, outputs = workdir / PLAN_FILE, workdir / OUTPUTS_FILE
    ours = _compiled_here(plan)
    if plan.exists() and not ours:
        return f"{plan} is not a plan cwlpilot compiled (an O2DPG workflow file?) and is not overwritten"
    if outputs.exists() and not ours:
        return f"{outputs} was not written by a cwlpilot run of a CWL document and is not overwritten"
    return None


def _compiled_here(path: Path) -> bool:
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("meta"), dict) and META_KEY in doc["meta"]


def store_url(workdir: Path) -> str:
    return f"sqlite:///{(workdir / STORE_FILE).resolve()}"


def run_compiled(plan: dict[str, Any], cfg: RunConfig, out: TextIO, err: TextIO) -> int:
    """Write `plan` to `cfg.plan` (in the run's folder, made) and run it; the executor's exit code."""
    from cwlpilot.check_cmd import plan_json

    cfg.workdir.mkdir(parents=True, exist_ok=True)
    cfg.plan.write_text(plan_json(plan), encoding="utf-8")
    return _execute(cfg, out, err)


def show_compiled(plan: dict[str, Any], cfg: RunConfig, out: TextIO, err: TextIO) -> int:
    """`--dry-run`, `--list-tasks`, `--produce-script` of a compiled plan: nothing is written (but the script)."""
    from cwlpilot.check_cmd import plan_json

    return _execute(replace(cfg, plan_text=plan_json(plan)), out, err)


def _execute(cfg: RunConfig, out: TextIO, err: TextIO) -> int:
    from cwlpilot.executor.errors import ExecutorError, PlanError
    from cwlpilot.executor.runner import run

    try:
        return run(cfg, out=out, err=err)
    except PlanError as exc:
        err.writelines(f"{p}\n" for p in exc.problems)
    except ExecutorError as exc:
        err.write(f"cwlpilot: {exc}\n")
    return 1


def collect(plan: dict[str, Any], workdir: Path, names: set[str] | None = None,
            lenient: bool = False) -> dict[str, Any]:
    """The workflow's output object (only `names`, when given) from the stages' output objects in `workdir`.
    Raises OSError or PickValueError; with `lenient` (after a failure, as cwltool prints it then) an output
    that cannot be collected is null instead."""
    read = reader(workdir)
    result: dict[str, Any] = {}
    for name, spec in sorted((plan.get("outputs") or {}).items()):
        if names is not None and name not in names:
            continue
        try:
            result[name] = resolve(spec.get("value"), read)
        except (PickValueError, OSError, ValueError):
            if not lenient:
                raise
            result[name] = None
    return result


def failure_tails(workdir: Path, url: str | None = None) -> list[str]:
    """For each failed step (the first TAIL_STEPS), why it failed and the last TAIL_LINES lines of its last
    attempt's log: what the tool wrote on stderr (and on stdout, unless a CWL `stdout` took it). `url` is the
    run's store (default: the one in `workdir`)."""
    from cwlpilot.executor.stagelogs import tail
    from cwlpilot.executor.store import open_store, store_exists
    from cwlpilot.executor.store.base import State

    url = url or store_url(workdir)
    if not store_exists(url):
        return []
    store = open_store(url)
    try:
        failed = [s for s in store.statuses() if s.wanted and s.state is State.FAILED and s.attempts > 0]
        logs = {a.stage: a.log for a in store.attempts() if a.log}
    finally:
        store.close()
    lines: list[str] = []
    for status in failed[:TAIL_STEPS]:
        log = logs.get(status.name)
        text = tail(log).rstrip("\n").splitlines()[-TAIL_LINES:] if log else []
        said = "; the end of its log:" if text else "; its log is empty"
        lines.append(f"step '{status.name}' failed: {status.reason or 'see its log'}{said}")
        lines.extend(f"    {line}" for line in text)
    if len(failed) > TAIL_STEPS:
        lines.append(f"... and {len(failed) - TAIL_STEPS} more failed steps")
    return lines
