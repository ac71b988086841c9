"""What flows between PanDA steps while a plan is made: literals, datasets, loop-parameter references.

Also the emission's options and its collected results (stages, dump nodes, diagnostics, notes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.panda import prunopts
from cwlpilot.compiler.panda.prunopts import Span


class DatasetRef(NamedTuple):
    """A dataset: its folder (workdir-relative, or absolute for a mapped input) and who must fill it."""

    path: str
    name: str  # the name PanDA's server gives it ({outDS}_{NNN}_{step}), or the name given as input
    producers: tuple[str, ...]  # stages that must succeed before it is complete
    outputs: tuple[str, ...] = ()  # the producing step's --outputs; the first is its type for consumers


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
    problem: str | None = None  # why a source gives nothing (it names no step, ...)


class LocalDataset(NamedTuple):
    path: str  # absolute folder
    files: tuple[str, ...]  # file names, sorted (listed once by the command line, so emission stays pure)


@dataclass(frozen=True)
class Options:
    out_ds: str = "user.local.workflow"
    datasets: Mapping[str, LocalDataset] = field(default_factory=dict)
    max_iterations: int = 10
    sandbox: str = "."  # the folder PanDA would ship with the workflow (the top document's folder)
    check_only: bool = False  # `check`: what cannot run locally is a note, not an error
    client: tuple[int, ...] | None = None  # the panda-client release the server runs (None: any)


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
    params: Mapping[str, Value]  # %{k} of the enclosing sub-workflow's param_k inputs
    loop: LoopInfo | None = None
    path: str = ""  # the display path of the step (a.b[1].c), for the dump and messages
    locals: Mapping[str, Value] = field(default_factory=dict)  # %{k} of its other inputs
    in_sub: bool = False  # inside a sub-workflow: the server substitutes %{k} and %{i} there
    in_loop: bool = False  # inside a loop, at any depth: dataset names carry the loop count


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
    server: Mapping[str, Any] | None = None  # what PanDA's server shows and submits for the step


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
    leaves: list[DatasetRef] = field(default_factory=list)  # every leaf step's dataset, in the server's order
    check_only: bool = False
    client: tuple[int, ...] | None = None
    size: int = 0  # the plan's JSON so far, estimated (see leaf.emit_leaf), against limits.MAX_PLAN_BYTES

    def error(self, pos: Pos, message: str, step: str | None = None, rule: str | None = None) -> None:
        self.diags.append(Diagnostic(pos, message, step, "error", rule))

    def warn(self, pos: Pos, message: str, step: str | None, rule: str) -> None:
        self.diags.append(Diagnostic(pos, message, step, "warning", rule))

    def note(self, text: str, step: str) -> None:
        self.notes.setdefault(text, set()).add(step)

    def local(self, pos: Pos, message: str, step: str | None, rule: str) -> None:
        """What PanDA accepts but cannot run here: a warning of `check`, an error of `compile` and `run`."""
        self.diags.append(Diagnostic(pos, message, step, "warning" if self.check_only else "error", rule))

    def verified(self, pos: Pos, message: str, step: str | None, top: bool, rule: str) -> None:
        """A failure of the server's Node.verify, which it runs on top-level steps only: an error there;
        inside a sub-workflow the step is submitted as it is, so a warning."""
        if top:
            self.error(pos, message, step, rule)
        else:
            self.warn(
                pos, f"{message} (PanDA's server does not verify steps of sub-workflows: it submits it so)", step, rule
            )

    def client_refusal(self, pos: Pos, message: str, step: str | None, rule: str, accepted: Span) -> None:
        """What only some panda-client releases refuse (the server runs the client's parser on each step):
        a warning naming them, or with a known client release, an error when that release refuses it."""
        if self.client is None:
            self.warn(
                pos, f"{message}: {prunopts.refusing(accepted)} refuse it, and PanDA's server with it", step, rule
            )
        elif not prunopts.knows(accepted, self.client):
            release = prunopts.version_text(self.client)
            self.error(pos, f"{message}: panda-client {release} refuses it, and PanDA's server with it", step, rule)

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
