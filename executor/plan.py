"""A stages plan as frozen records, read from JSON exactly as O2DPG's runner reads its workflow files.

Reading and checking are elsewhere: executor.planload reads a file (executor.planfile: any file gives a
PlanError, never a traceback) and builds every stage it can, keeping the problems it found;
executor.plancheck adds what depends on the run (the selected targets, the limits) and reports every
problem at once, each with its file, line and column.

O2DPG's runner (`o2dpg_workflow_runner_legacy.py`, `WorkflowExecutor.__init__`) reads `resources.cpu`,
`resources.mem` and `relative_cpu` with `float()` and `retry_count` with `int()`: its generators write
numbers and strings alike (`"cpu": "0"`, `"mem": "4000"`), so numeric strings are numbers here too.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cwlpilot.executor.retry import RetryRule, parse_rules
from cwlpilot.executor.store.base import StageRow

GLOBAL_INIT = "__global_init_task__"
# One encoder for every stage's spec: json.dumps with options builds a new one per call, a third of the cost.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
NO_COMMAND = "NO-COMMAND"
# O2DPG's createTask defaults, so a stage that omits a key books what O2DPG would book.
DEFAULT_CPU = 1.0
DEFAULT_MEM = 500.0
FREE_FORM = ("when", "outputs", "loop", "data")  # kind-specific keys, kept as canonical JSON


@dataclass(frozen=True)
class Stage:
    """One stage of a plan, with O2DPG's defaults filled in. `index` is its position in the plan."""

    name: str
    cmd: str
    index: int = 0
    needs: tuple[str, ...] = ()
    cpu: float = DEFAULT_CPU
    mem: float = DEFAULT_MEM
    relative_cpu: float | None = None
    timeframe: int = -1
    labels: tuple[str, ...] = ()
    cwd: str = "./"
    env: tuple[tuple[str, str], ...] = ()
    retry_count: int = 0
    semaphore: str | None = None
    timeout: float | None = None
    retry_rules: tuple[RetryRule, ...] = ()
    kind: str = "shell"
    condition: str | None = None  # see executor.condition
    extra: str = ""  # canonical JSON of the kind-specific keys (when, outputs, loop, data)
    alienv: str | None = None  # O2DPG's alternative_alienv_package

    def spec(self) -> dict[str, Any]:
        """The stage as plan JSON, enough for another pilot to rebuild exactly this record."""
        out: dict[str, Any] = {
            "name": self.name, "cmd": self.cmd, "needs": list(self.needs),
            "resources": {"cpu": self.cpu, "mem": self.mem, "relative_cpu": self.relative_cpu},
            "timeframe": self.timeframe, "labels": list(self.labels), "cwd": self.cwd,
            "env": dict(self.env), "retry_count": self.retry_count, "semaphore": self.semaphore,
            "timeout": self.timeout, "kind": self.kind,
            "retry_rules": [r.spec() for r in self.retry_rules],
        }
        if self.condition is not None:
            out["condition"] = self.condition
        if self.alienv is not None:
            out["alternative_alienv_package"] = self.alienv
        if self.extra:
            out.update(json.loads(self.extra))
        return out

    def fingerprint(self) -> str:
        """What decides whether a finished stage is still up to date: its command and its context.

        Resources, labels and retry settings are left out on purpose: changing a booking does not make a
        finished result stale.
        """
        text = "\0".join((self.cmd, self.cwd, repr(self.env), repr(sorted(self.needs)), self.kind, self.extra,
                          self.condition or "", self.alienv or ""))
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class Problem:
    """Something wrong in a plan: where (stage index in the file and key path, or a top-level key) and what."""

    message: str
    stage: int | None = None  # index of the stage object in the file's `stages` (the init task counts)
    path: tuple[str, ...] = ()
    name: str | None = None  # the stage's name, when it has one
    warning: bool = False


@dataclass(frozen=True)
class Plan:
    """A plan: stages in plan order (the global init task removed) and the run-wide settings.

    `problems` are those found while reading; `executor.plancheck.check` adds those that depend on the
    run and formats them all."""

    stages: tuple[Stage, ...]
    source: str = "<plan>"
    global_env: tuple[tuple[str, str], ...] = ()
    global_cmd: str | None = None
    retry_rules: tuple[RetryRule, ...] = ()
    o2dpg: bool = True  # an O2DPG workflow file (no `schema_version`): O2DPG's runner semantics apply in full
    meta: Mapping[str, Any] | None = None  # the file's `meta` (O2DPG logs it)
    offset: int = 0  # stages counted in the file before the plan's first stage (the global init task)
    problems: tuple[Problem, ...] = ()
    unbuilt: frozenset[str] = frozenset()  # names of stages too broken to build (not "unknown" to needs)
    file_index: tuple[int, ...] = ()  # per stage (by `index`): its position in the file's `stages`
    text: str = field(default="", compare=False, repr=False)
    by_name: Mapping[str, Stage] = field(default_factory=dict, compare=False, repr=False)


def number(value: Any, default: float) -> float:
    """O2DPG's float(): numbers and numeric strings alike; None gives the default."""
    if value is None:
        return default
    return float(value)


def finite_number(value: Any) -> bool:
    """Whether O2DPG's float() reads `value` as a finite number (None counts: it means the default)."""
    if value is None:
        return True
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return False
    try:
        return math.isfinite(float(value))
    except (ValueError, OverflowError):
        return False


def stage_from_spec(spec: Mapping[str, Any], index: int) -> Stage:
    """Build a Stage from one stage object that passed the checks, applying O2DPG's defaults."""
    res = spec.get("resources") or {}
    rel = res.get("relative_cpu")
    extra = {k: spec[k] for k in FREE_FORM if spec.get(k) is not None}
    alienv = spec.get("alternative_alienv_package")
    return Stage(
        name=spec["name"], cmd=spec["cmd"], index=index,
        needs=tuple(spec.get("needs") or ()),
        cpu=number(res.get("cpu"), DEFAULT_CPU),
        mem=number(res.get("mem"), DEFAULT_MEM),
        relative_cpu=None if rel is None else float(rel),
        timeframe=int(spec.get("timeframe", -1)),
        labels=tuple(spec.get("labels") or ()),
        cwd=spec.get("cwd") or "./",
        env=env_pairs(spec.get("env")),
        retry_count=int(spec.get("retry_count") or 0),
        semaphore=spec.get("semaphore") or None,
        timeout=spec.get("timeout"),
        retry_rules=parse_rules(spec.get("retry_rules") or ()),
        kind=spec.get("kind") or "shell",
        condition=spec.get("condition"),
        extra=json.dumps(extra, sort_keys=True, separators=(",", ":")) if extra else "",
        alienv=None if alienv in (None, "", "None") else alienv,  # O2DPG: "None" means none (aodmerge)
    )


def store_row(stage: Stage, rank: float) -> StageRow:
    """The stage as the store keeps it."""
    return StageRow(id=stage.index, name=stage.name, spec=_compact_json(stage.spec()),
                    fingerprint=stage.fingerprint(), rank=rank, needs=stage.needs, cpu=stage.cpu, mem=stage.mem,
                    relative_cpu=stage.relative_cpu, semaphore=stage.semaphore, retry_count=stage.retry_count,
                    condition=stage.condition)


def env_pairs(env: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not env or not isinstance(env, Mapping):
        return ()
    return tuple((str(k), env_value(v)) for k, v in env.items())


def env_value(value: Any) -> str:
    if isinstance(value, bool):  # O2DPG writes str(value); keep JSON's spelling for booleans instead
        return "true" if value else "false"
    return str(value)
