"""Stage kinds: what a stage needs done just before and just after its command, chosen by `kind`.

The executor core books, launches, monitors and records; a kind turns a stage into the command to launch
and checks what the command left behind. `shell` (the default, and all O2DPG stages) runs `cmd` as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from executor.plan import Stage


@dataclass(frozen=True)
class StageContext:
    workdir: Path  # the run's working directory
    cwd: Path  # the stage's working directory (created)
    attempt: int  # 1-based attempt number


@dataclass(frozen=True)
class Prepared:
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


def registry() -> dict[str, Kind]:
    """Every kind this executor can run, by the name used in a stage's `kind` key."""
    return {"shell": Shell()}
