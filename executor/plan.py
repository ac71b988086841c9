"""Read a stages plan from JSON into frozen records, and refuse, before anything runs, a plan that cannot run.

Every problem is collected (schema errors, duplicate names, unknown needs, cycles, unknown kinds) and
reported at once, each naming the file, the line and the stage.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from cwlpilot.executor.errors import PlanError
from cwlpilot.executor.graph import find_cycles
from cwlpilot.executor.retry import RetryRule, parse_rules
from cwlpilot.executor.store.base import StageRow

GLOBAL_INIT = "__global_init_task__"
# One encoder for every stage's spec: json.dumps with options builds a new one per call, a third of the cost.
_compact_json = json.JSONEncoder(separators=(",", ":")).encode
NO_COMMAND = "NO-COMMAND"
# O2DPG's createTask defaults, so a stage that omits a key books what O2DPG would book.
DEFAULT_CPU = 1.0
DEFAULT_MEM = 500.0
KNOWN_KEYS = frozenset({
    "name", "cmd", "needs", "resources", "timeframe", "labels", "cwd", "env", "retry_count", "semaphore",
    "alternative_alienv_package", "timeout", "retry_rules", "kind", "when", "outputs", "loop", "data", "condition",
})


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
        if self.extra:
            out.update(json.loads(self.extra))
        return out

    def fingerprint(self) -> str:
        """What decides whether a finished stage is still up to date: its command and its context.

        Resources, labels and retry settings are left out on purpose: changing a booking does not make a
        finished result stale.
        """
        text = "\0".join((self.cmd, self.cwd, repr(self.env), repr(sorted(self.needs)), self.kind, self.extra,
                          self.condition or ""))
        return hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass(frozen=True)
class Plan:
    """A validated plan: stages in plan order (the global init task removed) and the run-wide settings."""

    stages: tuple[Stage, ...]
    source: str = "<plan>"
    global_env: tuple[tuple[str, str], ...] = ()
    global_cmd: str | None = None
    retry_rules: tuple[RetryRule, ...] = ()
    warnings: tuple[str, ...] = ()
    by_name: Mapping[str, Stage] = field(default_factory=dict, compare=False, repr=False)


def load_plan(path: str | Path, known_kinds: Iterable[str] = ("shell",)) -> Plan:
    """Read, validate and check the plan at `path`. Raises PlanError listing every problem found."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PlanError([f"{path}: cannot read the plan: {exc.strerror or exc}"]) from None
    return parse_plan(text, str(path), known_kinds)


def parse_plan(text: str, source: str = "<plan>", known_kinds: Iterable[str] = ("shell",)) -> Plan:
    """Parse and check plan JSON text; `source` names the file in messages."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PlanError([f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"]) from None
    problems = schema_problems(doc, text, source)
    if problems:
        raise PlanError(problems)
    return build_plan(doc, text, source, known_kinds)


def _fast_valid(doc: Any) -> bool:
    """True when the plan is valid, decided by jsonschema-rs when it is installed.

    Python's jsonschema needs about 75 us per stage here (0.75 s for a 10,000-stage plan, a fifth of the
    whole fork/exec floor of running it); jsonschema-rs checks the same schema in under 1 us per stage.
    The Python library still produces the messages, so errors read the same with or without it.
    """
    try:
        import jsonschema_rs
    except ImportError:
        return False
    from cwlpilot import schemas

    return bool(jsonschema_rs.Draft202012Validator(schemas.load("stages")).is_valid(doc))


def schema_problems(doc: Any, text: str, source: str) -> list[str]:
    """Messages for every schema violation, each naming the line and stage it concerns."""
    if _fast_valid(doc):
        return []
    from jsonschema import Draft202012Validator

    from cwlpilot import schemas

    validator = Draft202012Validator(schemas.load("stages"))
    errors = sorted(validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path])
    if not errors:
        return []
    lines = _StageLines(text)
    out = []
    for err in errors:
        path = list(err.absolute_path)
        where, rest = source, path
        if len(path) >= 2 and path[0] == "stages" and isinstance(path[1], int):
            stage = doc["stages"][path[1]]
            name = stage.get("name") if isinstance(stage, dict) else None
            label = f"stage '{name}'" if isinstance(name, str) else f"stage #{path[1] + 1}"
            where = f"{source}:{lines.line_of(name, path[1])}: {label}"
            rest = path[2:]
        key = ".".join(str(p) for p in rest)
        out.append(f"{where}: {key + ': ' if key else ''}{err.message}")
    return out


class _StageLines:
    """Finds the line where a stage is written, for messages only (json does not keep positions)."""

    _NAME = re.compile(r'"name"\s*:\s*"((?:[^"\\]|\\.)*)"')

    def __init__(self, text: str) -> None:
        self._first: dict[str, int] = {}
        self._order: list[tuple[str, int]] = []
        for m in self._NAME.finditer(text):
            line = text.count("\n", 0, m.start()) + 1
            name = json.loads(f'"{m.group(1)}"')
            self._first.setdefault(name, line)
            self._order.append((name, line))

    def line_of(self, name: object, index: int) -> int:
        """The line of the index-th stage (counted in the file), or of the first stage with this name."""
        if index < len(self._order) and self._order[index][0] == name:
            return self._order[index][1]
        if isinstance(name, str) and name in self._first:
            return self._first[name]
        return 1


def build_plan(doc: Mapping[str, Any], text: str, source: str, known_kinds: Iterable[str]) -> Plan:
    """Turn schema-valid plan JSON into a Plan, checking what a schema cannot: names, needs, cycles."""
    raw = list(doc["stages"])
    global_env: tuple[tuple[str, str], ...] = ()
    global_cmd = None
    offset = 0  # stages counted in the file before the first stage of the plan
    if raw and raw[0].get("name") == GLOBAL_INIT:
        init = raw.pop(0)
        offset = 1
        global_env = _env_pairs(init.get("env"))
        global_cmd = None if init.get("cmd", NO_COMMAND) == NO_COMMAND else init["cmd"]
    stages = tuple(stage_from_spec(spec, i) for i, spec in enumerate(raw))
    plan_rules = parse_rules(doc.get("retry_rules") or ())
    problems, warnings = graph_problems(stages, known_kinds), _unknown_key_warnings(raw, source)
    if problems:
        lines = _StageLines(text)
        raise PlanError([f"{source}:{lines.line_of(name, idx + offset)}: {msg}" for name, idx, msg in problems])
    return Plan(
        stages=stages, source=source, global_env=global_env, global_cmd=global_cmd,
        retry_rules=plan_rules, warnings=tuple(warnings), by_name={s.name: s for s in stages},
    )


def stage_from_spec(spec: Mapping[str, Any], index: int) -> Stage:
    """Build a Stage from one schema-valid stage object, applying O2DPG's defaults."""
    res = spec.get("resources") or {}
    cpu, mem = res.get("cpu"), res.get("mem")
    extra = {k: spec[k] for k in ("when", "outputs", "loop", "data") if spec.get(k) is not None}
    return Stage(
        name=spec["name"], cmd=spec["cmd"], index=index,
        needs=tuple(spec.get("needs") or ()),
        cpu=DEFAULT_CPU if cpu is None else float(cpu),
        mem=DEFAULT_MEM if mem is None else float(mem),
        relative_cpu=res.get("relative_cpu"),
        timeframe=int(spec.get("timeframe", -1)),
        labels=tuple(spec.get("labels") or ()),
        cwd=spec.get("cwd") or "./",
        env=_env_pairs(spec.get("env")),
        retry_count=int(spec.get("retry_count") or 0),
        semaphore=spec.get("semaphore") or None,
        timeout=spec.get("timeout"),
        retry_rules=parse_rules(spec.get("retry_rules") or ()),
        kind=spec.get("kind") or "shell",
        condition=spec.get("condition"),
        extra=json.dumps(extra, sort_keys=True, separators=(",", ":")) if extra else "",
    )


def store_row(stage: Stage, rank: float) -> StageRow:
    """The stage as the store keeps it."""
    return StageRow(id=stage.index, name=stage.name, spec=_compact_json(stage.spec()),
                    fingerprint=stage.fingerprint(), rank=rank, needs=stage.needs, cpu=stage.cpu, mem=stage.mem,
                    relative_cpu=stage.relative_cpu, semaphore=stage.semaphore, retry_count=stage.retry_count,
                    condition=stage.condition)


def _env_pairs(env: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    if not env:
        return ()
    return tuple((str(k), _env_value(v)) for k, v in env.items())


def _env_value(value: Any) -> str:
    if isinstance(value, bool):  # O2DPG writes str(value); keep JSON's spelling for booleans instead
        return "true" if value else "false"
    return str(value)


def graph_problems(stages: Sequence[Stage], known_kinds: Iterable[str]) -> list[tuple[str, int, str]]:
    """(stage name, index, message) for duplicate names, unknown needs, unknown kinds and cycles."""
    problems: list[tuple[str, int, str]] = []
    seen: dict[str, int] = {}
    for s in stages:
        if s.name in seen:
            problems.append((s.name, s.index, f"stage '{s.name}': duplicate name (first used by stage "
                                              f"#{seen[s.name] + 1})"))
        else:
            seen[s.name] = s.index
    kinds = set(known_kinds)
    for s in stages:
        for need in s.needs:
            if need not in seen:
                hint = get_close_matches(need, seen, n=1)
                extra = f"; did you mean '{hint[0]}'?" if hint else ""
                problems.append((s.name, s.index, f"stage '{s.name}': needs unknown stage '{need}'{extra}"))
        if s.kind not in kinds:
            problems.append((s.name, s.index, f"stage '{s.name}': unknown kind '{s.kind}' "
                                              f"(this cwlpilot runs: {', '.join(sorted(kinds))})"))
        if s.condition is not None:
            problems += [(s.name, s.index, f"stage '{s.name}': condition: {msg}") for msg in condition_problems(s)]
    edges: dict[str, list[str]] = {}
    for s in stages:  # a duplicated name keeps the needs of both, so no cycle hides behind it
        edges.setdefault(s.name, []).extend(n for n in s.needs if n in seen)
    for cycle in find_cycles(edges):
        first = cycle[0]
        problems.append((first, seen[first], "cycle: " + " -> ".join([*cycle, first])
                         + " (each stage needs the next)"))
    return problems


def condition_problems(stage: Stage) -> list[str]:
    """Why a stage's condition cannot be used: it does not parse, or tests a stage it does not need."""
    from cwlpilot.executor.condition import ConditionError, parse, stages_in

    if stage.condition is None:
        return []
    try:
        node = parse(stage.condition)
    except ConditionError as exc:
        return [str(exc)]
    strangers = sorted(stages_in(node) - set(stage.needs))
    return [f"tests '{name}', which is not one of the stage's needs" for name in strangers]


def _unknown_key_warnings(raw: Sequence[Mapping[str, Any]], source: str) -> list[str]:
    unknown: dict[str, list[str]] = {}
    for spec in raw:
        for key in spec:
            if key not in KNOWN_KEYS:
                unknown.setdefault(key, []).append(str(spec.get("name")))
    return [f"{source}: unknown key '{k}' ignored (in {len(v)} stage(s), e.g. '{v[0]}')"
            for k, v in sorted(unknown.items())]
