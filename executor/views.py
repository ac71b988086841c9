"""Plans shown without running them: --list-tasks, --dry-run and --produce-script. Pure text builders."""

from __future__ import annotations

import shlex
from collections.abc import Collection, Mapping, Sequence

from cwlpilot.executor.booking import Limits, booking
from cwlpilot.executor.plan import Plan, Stage


def _order(plan: Plan, wanted: Collection[str] | None, rank: Mapping[str, int]) -> list[Stage]:
    stages = [s for s in plan.stages if wanted is None or s.name in wanted]
    return sorted(stages, key=lambda s: rank[s.name])


def list_tasks(plan: Plan, wanted: Collection[str] | None, done: Collection[str]) -> str:
    """O2DPG's --list-tasks: the selected stages in file order, each `name  (['LABEL', ...]) ToDo: True|False`
    (`WorkflowExecutor.execute`), ToDo from the run's store and O2DPG's done markers."""
    lines = ["List of tasks in this workflow:"]
    for s in plan.stages:
        if wanted is None or s.name in wanted:
            lines.append(f"{s.name}  ({list(s.labels)!r}) ToDo: {s.name not in done}")
    return "\n".join(lines)


def dry_run(plan: Plan, wanted: Collection[str] | None, rank: Mapping[str, int], done: Collection[str],
            limits: Limits) -> str:
    """The stages a run would start, in the order it prefers them, with what each would book."""
    lines = []
    todo = [s for s in _order(plan, wanted, rank) if s.name not in done]
    for s in todo:
        cpu, mem = booking(s.cpu, s.mem, limits)
        sem = f" semaphore={s.semaphore}" if s.semaphore else ""
        lines.append(f"would run {s.name}: cpu={cpu:g} mem={mem:g}MB cwd={s.cwd}{sem}\n    {s.cmd}")
    skipped = len([s for s in plan.stages if (wanted is None or s.name in wanted) and s.name in done])
    lines.append(f"{len(todo)} stage(s) would run; {skipped} already done")
    return "\n".join(lines)


def plan_dot(plan: Plan, wanted: Collection[str] | None = None) -> str:
    """The plan's graph as Graphviz DOT (O2DPG's --visualize-workflow draws the same: a node per stage, an
    edge from each need)."""
    lines = ["digraph workflow {", "  rankdir=LR;", "  node [shape=box];"]
    for s in plan.stages:
        if wanted is None or s.name in wanted:
            lines.append(f"  {_dot_id(s.name)};")
            lines += [f"  {_dot_id(n)} -> {_dot_id(s.name)};" for n in s.needs if n in plan.by_name]
    return "\n".join(lines) + "\n}\n"


def _dot_id(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def produce_script(plan: Plan, wanted: Collection[str] | None, order: Sequence[str]) -> str:
    """A bash script running the stages one after another in an order that respects `needs`."""
    lines = ["#!/usr/bin/env bash", "# Produced by cwlpilot from " + plan.source, "set -e",
             'WORKDIR="${WORKDIR:-$PWD}"']
    for key, value in plan.global_env:
        lines.append(f"export {key}=${{{key}:-{shlex.quote(value)}}}")
    if plan.global_cmd:
        lines.append(f"( cd \"$WORKDIR\" && {plan.global_cmd} )")
    for name in order:
        s = plan.by_name[name]
        if wanted is not None and name not in wanted:
            continue
        env = " ".join(f"{k}={shlex.quote(v)}" for k, v in s.env)
        prefix = f"env {env} " if env else ""
        lines.append(f"# {s.name}")
        lines.append(f"mkdir -p \"$WORKDIR\"/{shlex.quote(s.cwd)}")
        lines.append(f"( cd \"$WORKDIR\"/{shlex.quote(s.cwd)} && {prefix}/bin/bash -c {shlex.quote(s.cmd)} )")
    return "\n".join(lines) + "\n"
