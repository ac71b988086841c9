"""Reading a plan file into an executor.plan.Plan: parse, check what can be checked alone, build the stages.

Every problem found is kept in `Plan.problems`; executor.plancheck.report adds those that depend on the run.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from cwlpilot.executor.errors import PlanError
from cwlpilot.executor.plan import GLOBAL_INIT, NO_COMMAND, Plan, Problem, Stage, env_pairs, stage_from_spec
from cwlpilot.executor.plancheck import check, document_problems, stage_problems
from cwlpilot.executor.planfile import parse_json, read_text
from cwlpilot.executor.retry import parse_rules


def load_plan(path: str | Path, known_kinds: Iterable[str] = ("shell",)) -> Plan:
    """Read the plan at `path`. PlanError when it cannot be read or is not a plan at all; otherwise every
    problem found is in `Plan.problems` (see `executor.plancheck.check`)."""
    path = Path(path)
    return read_plan(read_text(path), str(path))


def parse_plan(text: str, source: str = "<plan>", known_kinds: Iterable[str] = ("shell",)) -> Plan:
    """Read and check plan JSON text for a run of the whole plan; PlanError listing every problem."""
    plan = read_plan(text, source)
    problems = check(plan, None, known_kinds)
    if problems:
        raise PlanError(problems)
    return plan


def read_plan(text: str, source: str) -> Plan:
    """Parse plan JSON and build every stage that can be built; problems are kept, not raised."""
    doc = parse_json(text, source)
    fatal = document_problems(doc, text, source)
    if fatal:
        raise PlanError(fatal)
    raw = list(doc["stages"])
    global_env: tuple[tuple[str, str], ...] = ()
    global_cmd = None
    offset = 0
    problems: list[Problem] = []
    if raw and isinstance(raw[0], dict) and raw[0].get("name") == GLOBAL_INIT:
        init = raw.pop(0)
        offset = 1
        global_env = env_pairs(init.get("env"))
        global_cmd = None if init.get("cmd", NO_COMMAND) == NO_COMMAND else init.get("cmd")
    by_index = stage_problems(doc, raw, offset, text)
    stages: list[Stage] = []
    file_index: list[int] = []
    unbuilt: set[str] = set()
    for i, spec in enumerate(raw):
        found = by_index.get(i + offset, [])
        problems.extend(found)
        if any(not p.warning for p in found):
            if isinstance(spec, dict) and isinstance(spec.get("name"), str):
                unbuilt.add(spec["name"])
            continue
        stages.append(stage_from_spec(spec, len(stages)))
        file_index.append(i + offset)
    problems.extend(by_index.get(-1, []))
    built = tuple(stages)
    return Plan(
        stages=built, source=source, global_env=global_env, global_cmd=global_cmd,
        retry_rules=parse_rules(doc.get("retry_rules") or ()) if not by_index.get(-1) else (),
        o2dpg="schema_version" not in doc, meta=doc.get("meta") if isinstance(doc.get("meta"), dict) else None,
        offset=offset, problems=tuple(problems),
        unbuilt=frozenset(unbuilt), file_index=tuple(file_index), text=text, by_name={s.name: s for s in built},
    )
