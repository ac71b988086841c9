"""What flows between PanDA steps while a plan is made: literals, datasets, loop-parameter references.

Also the emission's options and its collected results (stages, dump nodes, diagnostics, notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cwlpilot.compiler.errors import Diagnostic, Pos


class DatasetRef(NamedTuple):
    """A dataset: its folder (workdir-relative, or absolute for a mapped input) and who must fill it."""

    path: str
    name: str  # the PanDA-style name shown in the dump
    producers: tuple[str, ...]  # stages that must succeed before it is complete


class Lit(NamedTuple):
    value: Any


class Datasets(NamedTuple):
    refs: tuple[DatasetRef, ...]
    listed: bool = False  # an array of datasets (a scatter's gathered output, a list source)


class LoopRef(NamedTuple):
    """The loop parameter `key` (its element `index` for a loop over a scatter)."""

    key: str
    item: int | None = None


Value = Lit | Datasets | LoopRef


class Bound(NamedTuple):
    """A step input's value, and the value of each of its sources (for `self.X[k]` and secondary DSs)."""

    value: Value
    parts: tuple[Value, ...]


class LocalDataset(NamedTuple):
    path: str  # absolute folder
    files: tuple[str, ...]  # file names, sorted (listed once by the command line, so emission stays pure)


@dataclass(frozen=True)
class Options:
    out_ds: str = "user.local.workflow"
    datasets: Mapping[str, LocalDataset] = field(default_factory=dict)
    max_iterations: int = 10
    sandbox: str = "."  # the folder PanDA would ship with the workflow (the top document's folder)
    check_only: bool = False  # `check`: a dataset without a local folder is a note, not an error


@dataclass(frozen=True)
class LoopInfo:
    gate: str
    params: Mapping[str, Any]  # the initial dictionary
    body: str  # the body's file, for messages


@dataclass(frozen=True)
class Scope:
    """Where a workflow is being emitted: stage-name prefix, its inputs' values, %{name} values, loop."""

    prefix: str
    values: Mapping[str, Value]
    params: Mapping[str, Value]
    loop: LoopInfo | None = None
    path: str = ""  # the display path of the step (a.b[1].c), for the dump and messages


@dataclass(frozen=True)
class Node:
    """One converted step instance, as the dump shows it (after PanDA's `pchain --check`)."""

    id: int
    name: str
    type: str
    parents: tuple[int, ...]
    inputs: tuple[tuple[str, str], ...]
    outputs: tuple[str, ...]
    stages: tuple[str, ...]
    condition: str | None = None
    translated: str | None = None
    loop: str | None = None
    split: int | None = None  # --nFilesPerJob of a split made at run time (stages: splitter, gather)


@dataclass(frozen=True)
class LoopNode:
    gate: str
    step: str
    body: str
    junction: str
    params: tuple[tuple[str, Any], ...]
    max_iterations: int


@dataclass
class Emitted:
    """Everything emission collects (mutable while it runs; frozen results are read from it after)."""

    stages: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[Node] = field(default_factory=list)
    loops: list[LoopNode] = field(default_factory=list)
    diags: list[Diagnostic] = field(default_factory=list)
    notes: dict[str, set[str]] = field(default_factory=dict)  # note -> the steps it concerns
    node_of_stage: dict[str, int] = field(default_factory=dict)
    size: int = 0  # the plan's JSON so far, estimated (see leaf.emit_leaf), against limits.MAX_PLAN_BYTES

    def error(self, pos: Pos, message: str, step: str | None = None) -> None:
        self.diags.append(Diagnostic(pos, message, step))

    def note(self, text: str, step: str) -> None:
        self.notes.setdefault(text, set()).add(step)

    def next_id(self) -> int:
        return len(self.nodes) + len(self.loops)


def producers(value: Value | None) -> tuple[str, ...]:
    if isinstance(value, Datasets):
        return tuple(dict.fromkeys(p for r in value.refs for p in r.producers))
    return ()


def at(pos: Pos, offset: int) -> Pos:
    """A position `offset` characters further on the same line."""
    return Pos(pos.file, pos.line, pos.col + offset) if pos.line else pos


def bind_body(body_inputs: Any, ins: Mapping[str, Bound]) -> dict[str, Value]:
    """The values of a sub-workflow's (or loop body's) inputs: what the step passes, else their defaults."""
    values: dict[str, Value] = {}
    for b in body_inputs:
        if b.id in ins:
            values[b.id] = ins[b.id].value
        elif b.has_default:
            values[b.id] = Lit(b.default)
        else:
            values[b.id] = Lit(None)
    return values
