"""The PanDA workflow IR: frozen records with the position of everything a message may point at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cwlpilot.compiler.errors import Pos

LOCAL_KINDS = ("prun", "junction")  # the kinds of compiler.panda.detect.KINDS that run locally
WORKFLOW = "workflow"

# The inputs each kind accepts, as PanDA's own verification lists them.
ALLOWED_INPUTS = {
    "prun": (
        "opt_inDS",
        "opt_inDsType",
        "opt_secondaryDSs",
        "opt_secondaryDsTypes",
        "opt_args",
        "opt_exec",
        "opt_useAthenaPackages",
        "opt_containerImage",
    ),
    "junction": ("opt_inDS", "opt_inDsType", "opt_args", "opt_exec", "opt_containerImage"),
    "reana": ("opt_inDS", "opt_inDsType", "opt_args", "opt_exec", "opt_containerImage"),
    "phpo": ("opt_trainingDS", "opt_trainingDsType", "opt_args"),
    "gitlab": (
        "opt_inDS",
        "opt_args",
        "opt_api",
        "opt_projectID",
        "opt_ref",
        "opt_triggerToken",
        "opt_accessToken",
        "opt_site",
        "opt_input_location",
    ),
}


@dataclass(frozen=True)
class Source:
    """One source of a step input: `step/out` or the name of an input of the enclosing workflow."""

    ref: str
    pos: Pos

    @property
    def step(self) -> str | None:
        return self.ref.split("/", 1)[0] if "/" in self.ref else None


@dataclass(frozen=True)
class StepIn:
    name: str
    sources: tuple[Source, ...]
    listed: bool  # the sources were written as a list (a list value even with one entry)
    default: Any
    has_default: bool
    pos: Pos  # the key
    value_pos: Pos  # the first character of the default's text (inside the quotes)


@dataclass(frozen=True)
class Step:
    id: str
    kind: str  # one of KINDS, or WORKFLOW for a sub-workflow
    run: str
    body: Workflow | None
    inputs: tuple[StepIn, ...]
    out: tuple[str, ...]
    scatter: tuple[str, ...]
    scatter_method: str | None
    when: str | None
    when_pos: Pos
    loop: bool
    pos: Pos
    run_pos: Pos
    loop_ignored: str | None = None  # a loop asked for in a form the server does not read (hints: [{class: loop}])
    scatter_text: bool = False  # `scatter: x` written as a single name, not a list

    def input(self, name: str) -> StepIn | None:
        return next((i for i in self.inputs if i.name == name), None)


@dataclass(frozen=True)
class WfInput:
    id: str
    type: str  # as written, normalised to `string`, `int[]`, ...
    default: Any
    has_default: bool
    pos: Pos

    @property
    def is_param(self) -> bool:
        return self.id.startswith("param_")


@dataclass(frozen=True)
class WfOutput:
    id: str
    source: str | None
    pos: Pos
    source_pos: Pos
    listed: bool = False  # outputSource written as a list


@dataclass(frozen=True)
class Workflow:
    file: str  # as shown in messages
    path: str  # absolute
    version: str
    inputs: tuple[WfInput, ...]
    outputs: tuple[WfOutput, ...]
    steps: tuple[Step, ...]
    pos: Pos

    def step(self, name: str) -> Step | None:
        return next((s for s in self.steps if s.id == name), None)

    def input(self, name: str) -> WfInput | None:
        return next((i for i in self.inputs if i.id == name), None)
