"""Stage kinds: what a stage needs done just before and just after its command, chosen by `kind`.

The executor core books, launches, monitors and records; a kind turns a stage into the command to launch
and checks what the command left behind. `shell` (the default, and all O2DPG stages) runs `cmd` as it is.
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from cwlpilot.executor import o2dpg
from cwlpilot.executor.outcome import ExitCodes
from cwlpilot.executor.plan import Stage
from cwlpilot.executor.store.base import Additions


def _to_stderr(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


class StageContext(NamedTuple):
    workdir: Path  # the run's working directory
    cwd: Path  # the stage's working directory (created)
    attempt: int  # 1-based attempt number
    note: Callable[[str], None] = _to_stderr  # tell the person running this (the run's progress output)
    exit_code: int | None = None  # in finish() and expand(): the command's real exit code
    markers: bool = False  # O2DPG's done markers apply (an O2DPG workflow file)


class Prepared(NamedTuple):
    cmd: str
    env: Mapping[str, str]  # added to the stage's environment
    skip: str | None = None  # run nothing: the stage counts as done (its dependents go on), shown as skipped
    codes: ExitCodes | None = None  # what exit codes mean (success, temporary and permanent failure)
    done: bool = False  # done already (e.g. O2DPG's done marker exists): run nothing, record a success


class Kind(Protocol):
    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        """The command to run now. Raises KindError when the stage's data cannot be used."""

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        """After a successful command: None, or why the attempt must count as failed."""


class Expansion(NamedTuple):
    """What a kind's optional `expand(stage, ctx)` returns after a successful stage: new stages (plan JSON
    stage objects, whose `needs` may name existing or new stages) and extra needs for stages that have not
    started, as (waiting stage, stage it must now also wait for). The store adds them atomically with
    recording the stage as done, so they survive a kill and a resume (a loop's next iteration is this)."""

    stages: tuple[Mapping[str, Any], ...]
    needs: tuple[tuple[str, str], ...] = ()


def additions(expansion: Expansion | None) -> Additions | None:
    """Check an expansion's stages against the schema and turn them into store rows. Raises KindError."""
    if expansion is None or (not expansion.stages and not expansion.needs):
        return None
    from cwlpilot.executor.plan import stage_from_spec, store_row
    from cwlpilot.executor.plancheck import condition_problems, schema_problems

    doc = {"stages": [dict(spec) for spec in expansion.stages]}
    problems = schema_problems(doc, json.dumps(doc, indent=1), "added stages")
    stages = [stage_from_spec(spec, -1) for spec in doc["stages"]] if not problems else []
    problems += [f"stage '{s.name}': condition: {p}" for s in stages for p in condition_problems(s)]
    if problems:
        raise KindError("the stages it adds are not valid: " + "; ".join(problems))
    rows = tuple(store_row(stage, 0.0) for stage in stages)
    return Additions(rows, tuple((str(a), str(b)) for a, b in expansion.needs))


class KindError(Exception):
    """A stage's kind-specific data cannot be used; the attempt fails with this message."""


class Shell:
    """Runs `cmd` unchanged. With `"data": {"adds": "FILE"}` the command may add stages to the run: after it
    succeeds, FILE (relative to the stage's cwd) holds {"stages": [...], "needs": [[waiting, need], ...]},
    as in `Expansion`; a missing FILE adds nothing."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        # O2DPG's runner skips a stage whose `<name>.log_done` exists (`ok_to_skip`), whoever wrote it
        done = ctx.markers and o2dpg.done_marker(ctx.cwd, stage.name).exists()
        return Prepared(stage.cmd, {}, done=done)

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        # The done marker and time file are O2's taskwrapper's to write, as under O2DPG's runner (which
        # only reads them): O2DPG's generators wrap every command in it, and it runs the same under cwlpilot.
        return None

    def expand(self, stage: Stage, ctx: StageContext) -> Expansion | None:
        name = (json.loads(stage.extra).get("data") or {}).get("adds") if stage.extra else None
        if not name:
            return None
        path = ctx.cwd / str(name)
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise KindError(f"{path}: cannot read the stages to add: {exc}") from None
        if not isinstance(doc, dict) or not isinstance(doc.get("stages", []), list):
            raise KindError(f"{path}: expected {{\"stages\": [...], \"needs\": [[waiting, need], ...]}}")
        needs = doc.get("needs") or []
        if not all(isinstance(n, list) and len(n) == 2 for n in needs):
            raise KindError(f"{path}: needs: expected pairs [waiting stage, stage it must wait for]")
        return Expansion(tuple(doc.get("stages") or ()), tuple((str(a), str(b)) for a, b in needs))


# name -> "module:Class". Imported on first use only, so that `cwlpilot run` on a plain O2DPG plan never
# pays for the imports (cwl-utils, ...) that other kinds need.
KINDS = {
    "shell": "cwlpilot.executor.kinds:Shell",
    "cwl_tool": "cwlpilot.executor.kinds.cwl:CwlTool",
    "cwl_expression": "cwlpilot.executor.kinds.cwl:CwlExpression",
    "cwl_gather": "cwlpilot.executor.kinds.cwl:CwlGather",
    "cwl_subworkflow": "cwlpilot.executor.kinds.cwl_dynamic:CwlSubworkflow",
    "cwl_loop": "cwlpilot.executor.kinds.cwl_dynamic:CwlLoop",
    "cwl_loop_next": "cwlpilot.executor.kinds.cwl_dynamic:CwlLoopNext",
    "cwl_skipped": "cwlpilot.executor.kinds.cwl_dynamic:CwlSkipped",
    "panda_prun": "cwlpilot.executor.kinds.panda:Prun",
    "panda_junction": "cwlpilot.executor.kinds.panda:Junction",
    "panda_gate": "cwlpilot.executor.kinds.panda:Gate",
    "panda_outputs": "cwlpilot.executor.kinds.panda:Outputs",
}


class _Registry(Mapping[str, Kind]):
    def __init__(self) -> None:
        self._loaded: dict[str, Kind] = {}

    def __getitem__(self, name: str) -> Kind:
        kind = self._loaded.get(name)
        if kind is None:
            module, _, cls = KINDS[name].partition(":")
            kind = self._loaded[name] = getattr(importlib.import_module(module), cls)()
        return kind

    def __iter__(self) -> Iterator[str]:
        return iter(KINDS)

    def __len__(self) -> int:
        return len(KINDS)


def registry() -> Mapping[str, Kind]:
    """Every kind this executor can run, by the name used in a stage's `kind` key (loaded lazily)."""
    return _Registry()
