"""Stage kinds: what a stage needs done just before and just after its command, chosen by `kind`.

The executor core books, launches, monitors and records; a kind turns a stage into the command to launch
and checks what the command left behind. `shell` (the default, and all O2DPG stages) runs `cmd` as it is.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import NamedTuple, Protocol

from executor.plan import Stage


class StageContext(NamedTuple):
    workdir: Path  # the run's working directory
    cwd: Path  # the stage's working directory (created)
    attempt: int  # 1-based attempt number


class Prepared(NamedTuple):
    cmd: str
    env: Mapping[str, str]  # added to the stage's environment


class Kind(Protocol):
    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        """The command to run now. Raises KindError when the stage's data cannot be used."""

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        """After a successful command: None, or why the attempt must count as failed."""


class KindError(Exception):
    """A stage's kind-specific data cannot be used; the attempt fails with this message."""


class Shell:
    """Runs `cmd` unchanged; nothing to collect afterwards."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        return Prepared(stage.cmd, {})

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        return None


# name -> "module:Class". Imported on first use only, so that `cwlpilot run` on a plain O2DPG plan never
# pays for the imports (cwl-utils, ...) that other kinds need.
KINDS = {
    "shell": "executor.kinds:Shell",
    "cwl_tool": "executor.kinds.cwl:CwlTool",
    "cwl_expression": "executor.kinds.cwl:CwlExpression",
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
