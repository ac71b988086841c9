"""Every problem of a plan, found before anything runs and reported together, each with file:line:col.

Schema violations (unknown keys named with a "did you mean", keys of your own allowed under `x-`), what a
schema cannot see (numbers that are not finite, names a file system cannot hold, environments a process
cannot have, nesting too deep), and what depends on the run: duplicate names, needs naming no stage (an
error when a selected stage has them, a warning otherwise: O2DPG's generators leave some in files made
with --include-qc), unknown kinds, conditions, cycles and bookings that can never fit the limits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from difflib import get_close_matches
from typing import Any, NamedTuple

from cwlpilot.executor.booking import Limits, booking, never_fit
from cwlpilot.executor.graph import find_cycles
from cwlpilot.executor.locate import Locator
from cwlpilot.executor.plan import FREE_FORM, Plan, Problem, Stage, finite_number
from cwlpilot.executor.planfile import MAX_DEPTH, check_depth
from cwlpilot.executor.retry import rule_problems

# A stage's logs are files named after it: `<name>.log`, `<name>.log_done`, `<name>.<attempt>.log_time`.
# 255 bytes is the longest file name of Linux file systems; this leaves room for the longest suffix.
MAX_NAME_BYTES = 200
MAX_MESSAGE = 300  # jsonschema quotes the offending value whole: a huge value must not make a huge message


class Report(NamedTuple):
    errors: list[str]
    warnings: list[str]


def document_problems(doc: Any, text: str, source: str) -> list[str]:
    """What makes `doc` no plan at all (then nothing else can be checked)."""
    if not isinstance(doc, dict):
        return [f"{source}:1:1: a plan is a JSON object with a `stages` list, not {_kind(doc)}"]
    if not isinstance(doc.get("stages"), list):
        line, col = Locator(text).key("stages")
        what = "has no `stages`" if "stages" not in doc else f"has `stages` that is {_kind(doc['stages'])}"
        return [f"{source}:{line}:{col}: a plan is a JSON object with a `stages` list; this one {what}"]
    return []


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")


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


def stage_problems(doc: Mapping[str, Any], raw: Sequence[Any], offset: int, text: str) -> dict[int, list[Problem]]:
    """Problems by the stage's index in the file (-1: top level), from the schema and from the checks a
    schema cannot make."""
    found: dict[int, list[Problem]] = {}
    if not _fast_valid(doc):
        for p in _schema_problems(doc):
            found.setdefault(-1 if p.stage is None else p.stage, []).append(p)
    suspicious = "\\u0000" in text  # NUL can enter a JSON string only escaped: look field by field then
    for i, spec in enumerate(raw):
        index = i + offset
        if index in found or not isinstance(spec, dict):
            continue
        problems = _field_problems(spec, suspicious)
        if problems:
            name = spec.get("name") if isinstance(spec.get("name"), str) else None
            found[index] = [Problem(m, index, path, name) for path, m in problems]
    for key in ("meta", "outputs", "loops"):
        if key in doc and not check_depth(doc[key], MAX_DEPTH):
            found.setdefault(-1, []).append(Problem(f"{key}: nested more than {MAX_DEPTH} levels deep",
                                                    path=(key,)))
    rules = doc.get("retry_rules")
    if isinstance(rules, list) and -1 not in found:
        found.setdefault(-1, []).extend(Problem(m.split(": ", 1)[1], path=("retry_rules",))
                                        for m in rule_problems(rules, "x"))
    return found


def _field_problems(spec: Mapping[str, Any], nul: bool) -> list[tuple[tuple[str, ...], str]]:
    """Checks of one schema-valid stage that the schema cannot express."""
    out: list[tuple[tuple[str, ...], str]] = []
    name = spec["name"]
    if len(name) * 4 > MAX_NAME_BYTES and len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        out.append((("name",), f"a stage name is a file name (its logs are `<name>.log`...): at most "
                               f"{MAX_NAME_BYTES} bytes, this one has {len(name.encode('utf-8', 'surrogatepass'))}"))
    res = spec.get("resources") or {}
    for key in ("cpu", "mem", "relative_cpu"):
        if not finite_number(res.get(key)):
            out.append((("resources", key), f"{res.get(key)!r} is not a finite number (O2DPG reads it with float())"))
    env = spec.get("env") or {}
    for key, value in env.items():
        if not key or "=" in key or "\0" in key:
            out.append((("env", key), f"{key!r} cannot be the name of an environment variable"))
        elif "\0" in str(value):
            out.append((("env", key), "an environment value cannot hold a NUL character"))
    if nul:
        for key in ("cmd", "cwd", "semaphore", "alternative_alienv_package"):
            if isinstance(spec.get(key), str) and "\0" in spec[key]:
                out.append(((key,), "holds a NUL character, which no command line or path can"))
    for key in FREE_FORM:
        if isinstance(spec.get(key), (dict, list)) and not check_depth(spec[key], MAX_DEPTH):
            out.append(((key,), f"nested more than {MAX_DEPTH} levels deep"))
    rules = spec.get("retry_rules")
    if rules:
        out.extend((("retry_rules",), m.split(": ", 1)[1]) for m in rule_problems(rules, "x"))
    return out


def _schema_problems(doc: Any) -> list[Problem]:
    from jsonschema import Draft202012Validator

    from cwlpilot import schemas

    schema = schemas.load("stages")
    stages = doc.get("stages") if isinstance(doc, dict) else None
    out = []
    for err in Draft202012Validator(schema).iter_errors(doc):
        path = list(err.absolute_path)
        index = None
        if len(path) >= 2 and path[0] == "stages" and isinstance(path[1], int):
            index, path = path[1], path[2:]
        keys = tuple(str(p) for p in path)
        spec = stages[index] if index is not None and isinstance(stages, list) else None
        name = spec.get("name") if isinstance(spec, dict) and isinstance(spec.get("name"), str) else None
        for key_path, message in _messages(err, keys):
            out.append(Problem(message, index, key_path, name))
    return out


def _messages(err: Any, keys: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """The user's view of one schema error: unknown keys each on their own line, with a suggestion."""
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = list(err.schema.get("properties", {}))
        out = []
        for key in sorted(k for k in err.instance if k not in known and not re.match(r"^x-", str(k))):
            hint = get_close_matches(str(key), known, n=1, cutoff=0.7)
            where = ".".join(keys)
            text = f"unknown key '{key}'" + (f" in {where}" if where else "")
            text += f"; did you mean '{hint[0]}'?" if hint else " (keys of your own may start with x-)"
            out.append(((*keys, str(key)), text))
        return out
    message = err.message
    if len(message) > MAX_MESSAGE:  # jsonschema quotes the value whole: quote the start of it only
        message = message.replace(repr(err.instance), _short(err.instance), 1)
        message = message if len(message) <= MAX_MESSAGE else message[:MAX_MESSAGE] + "..."
    if err.validator == "anyOf" and keys and keys[-1] in ("cpu", "mem", "relative_cpu", "walltime"):
        message = f"{_short(err.instance)} is not a number (nor a string O2DPG's float() reads)"
    elif err.validator == "anyOf" and keys and keys[-1] == "retry_count":
        message = f"{_short(err.instance)} is not a count of retries"
    key = ".".join(keys)
    return [(keys, f"{key + ': ' if key else ''}{message}")]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def check(plan: Plan, wanted: Iterable[str] | None, known_kinds: Iterable[str],
          limits: Limits | None = None) -> list[str]:
    """Every error of `plan` for a run of `wanted` (None: all stages), formatted; see `report`."""
    return report(plan, wanted, known_kinds, limits).errors


def report(plan: Plan, wanted: Iterable[str] | None, known_kinds: Iterable[str],
           limits: Limits | None = None) -> Report:
    """Errors and warnings of `plan` for a run of the `wanted` stages (None: all), each a full line
    `file:line:col: stage 'name': message`, in the order they are written in the file."""
    seen: set[str] = set()
    errors: list[str] = []
    warnings: list[str] = []
    for found in located(plan, wanted, known_kinds, limits):
        label = f"stage '{found.name}': " if found.name is not None else (
            f"stage #{found.stage + 1}: " if found.stage is not None else "")
        text = f"{plan.source}:{found.line}:{found.col}: {label}{found.message}"
        if text not in seen:
            seen.add(text)
            (warnings if found.warning else errors).append(text)
    return Report(errors, warnings)


class Located(NamedTuple):
    """A problem of a plan at its line and column (`key`: the first key of its path, or '')."""

    line: int
    col: int
    message: str
    name: str | None
    stage: int | None
    key: str
    warning: bool


def located(plan: Plan, wanted: Iterable[str] | None, known_kinds: Iterable[str],
            limits: Limits | None = None) -> list[Located]:
    """Every problem of `plan` for a run of the `wanted` stages (None: all), in the order of the file."""
    chosen = None if wanted is None else set(wanted)
    problems = list(plan.problems) + graph_problems(plan, chosen, known_kinds)
    if limits is not None:
        problems += fit_problems(plan, chosen, limits)
    locator = Locator(plan.text) if problems else None
    out = []
    for p in problems:
        assert locator is not None
        line, col = locator.stage(p.stage, p.path) if p.stage is not None else (
            locator.key(p.path[0]) if p.path else (1, 1))
        out.append(Located(line, col, p.message, p.name, p.stage, p.path[0] if p.path else "", p.warning))
    out.sort(key=lambda x: (x.line, x.col))
    return out


def graph_problems(plan: Plan, wanted: set[str] | None, known_kinds: Iterable[str]) -> list[Problem]:
    """Duplicate names, needs naming no stage, unknown kinds, conditions and cycles."""
    out: list[Problem] = []
    seen: dict[str, Stage] = {}
    for s in plan.stages:
        if s.name in seen:
            out.append(Problem(f"duplicate name (first used by stage #{_where(plan, seen[s.name]) + 1})",
                               _where(plan, s), ("name",), s.name))
        else:
            seen[s.name] = s
    kinds = set(known_kinds)
    for s in plan.stages:
        selected = wanted is None or s.name in wanted
        where = _where(plan, s)
        missing = [n for n in s.needs if n not in seen and n not in plan.unbuilt]
        if missing:
            text = _unknown_needs(missing, seen)
            if selected:
                out.append(Problem(text, where, ("needs",), s.name))
            else:
                out.append(Problem(f"{text} (not selected to run: ignored)", where, ("needs",), s.name, warning=True))
        if not selected:
            continue
        if s.kind not in kinds:
            out.append(Problem(f"unknown kind '{s.kind}' (this cwlpilot runs: {', '.join(sorted(kinds))})",
                               where, ("kind",), s.name))
        if s.condition is not None:
            out += [Problem(f"condition: {msg}", where, ("condition",), s.name) for msg in condition_problems(s)]
    edges: dict[str, list[str]] = {}
    for s in plan.stages:  # a duplicated name keeps the needs of both, so no cycle hides behind it
        edges.setdefault(s.name, []).extend(n for n in s.needs if n in seen)
    for cycle in find_cycles(edges):
        first = seen[cycle[0]]
        out.append(Problem("cycle: " + " -> ".join([*cycle, cycle[0]]) + " (each stage needs the next)",
                           _where(plan, first), ("needs",), first.name))
    return out


def _where(plan: Plan, stage: Stage) -> int:
    """The stage's position in the file's `stages` (stages too broken to build are not in `plan.stages`)."""
    return plan.file_index[stage.index] if stage.index < len(plan.file_index) else stage.index + plan.offset


def _unknown_needs(missing: Sequence[str], known: Iterable[str]) -> str:
    """`needs unknown stage 'x'; did you mean 'y'?`, for one missing need or several."""
    names = list(known)
    parts = []
    for need in missing[:3]:
        hint = get_close_matches(need, names, n=1)
        parts.append(f"'{need}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    if len(missing) == 1:
        hint = get_close_matches(missing[0], names, n=1)
        return f"needs unknown stage '{missing[0]}'" + (f"; did you mean '{hint[0]}'?" if hint else "")
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return f"needs {len(missing)} unknown stages: {', '.join(parts)}{more}"


def fit_problems(plan: Plan, wanted: set[str] | None, limits: Limits) -> list[Problem]:
    """Stages whose booking can never fit the limits."""
    out = []
    for s in plan.stages:
        if wanted is None or s.name in wanted:
            cpu, mem = booking(s.cpu, s.mem, limits)
            for message in never_fit([(s.name, cpu, mem)], limits):
                out.append(Problem(message.split(": ", 1)[1], _where(plan, s), ("resources",), s.name))
    return out


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


def schema_problems(doc: Any, text: str, source: str) -> list[str]:
    """Messages for every schema violation of `doc` (a plan, or stages a kind adds at run time)."""
    if _fast_valid(doc):
        return []
    locator = Locator(text)
    out = []
    for p in _schema_problems(doc):
        line, col = locator.stage(p.stage, p.path) if p.stage is not None else (1, 1)
        label = f"stage '{p.name}': " if p.name else ""
        out.append(f"{source}:{line}:{col}: {label}{p.message}")
    return out
