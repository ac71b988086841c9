"""The compiler's own intermediate representation of CWL documents: frozen, plain, position-carrying.

The loader builds these from cwl-utils objects; everything after the loader reads only these.
Identifiers are short: a workflow input is `x`, a step `s1`, a step output `s1/out`; a process keeps
its full document URI in `uri` for messages and caching only. JSON values (defaults, requirement
fields) are deep-frozen: mappings become `MappingProxyType`, lists become tuples (`thaw` undoes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from cwlpilot.compiler.errors import Pos

PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "string", "File", "Directory", "Any"}
)


@dataclass(frozen=True)
class ArrayType:
    items: CwlType
    binding: InputBinding | None = None  # how each item goes on the command line


@dataclass(frozen=True)
class FieldBindings:
    """What a record field says about the command line and output collection."""

    binding: InputBinding | None = None
    output: OutputBinding | None = None
    secondary_files: tuple[Any, ...] = ()
    format: Any = None  # the field's File format(s), v1.1 and later


@dataclass(frozen=True)
class EnumType:
    name: str
    symbols: tuple[str, ...]


@dataclass(frozen=True)
class RecordField:
    name: str
    type: CwlType
    bindings: FieldBindings | None = None


@dataclass(frozen=True)
class RecordType:
    name: str
    fields: tuple[RecordField, ...]


@dataclass(frozen=True)
class UnionType:
    options: tuple[CwlType, ...]


# A primitive is its CWL name ("int", "File", "stdout", ...); the rest are the classes above.
CwlType = str | ArrayType | EnumType | RecordType | UnionType


def freeze(value: Any) -> Any:
    """A deep, immutable copy of a JSON value."""
    if isinstance(value, Mapping):
        return MappingProxyType({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """Plain dicts and lists again, for emitting JSON."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [thaw(v) for v in value]
    return value


@dataclass(frozen=True)
class Requirement:
    """A requirement or hint: its short class name and its fields as frozen JSON."""

    cls: str
    fields: Mapping[str, Any]
    pos: Pos


@dataclass(frozen=True)
class InputBinding:
    position: Any = None  # an int, or an expression string
    prefix: str | None = None
    separate: bool = True
    item_separator: str | None = None
    value_from: str | None = None
    shell_quote: bool = True
    load_contents: bool = False


@dataclass(frozen=True)
class OutputBinding:
    glob: tuple[str, ...] = ()
    output_eval: str | None = None
    load_contents: bool = False
    load_listing: str | None = None  # no_listing, shallow_listing, deep_listing


@dataclass(frozen=True)
class InputParam:
    """A process input (workflow or tool)."""

    id: str
    type: CwlType
    pos: Pos
    default: Any = None
    has_default: bool = False
    binding: InputBinding | None = None
    load_contents: bool = False
    secondary_files: tuple[Any, ...] = ()
    format: Any = None
    load_listing: str | None = None  # no_listing, shallow_listing, deep_listing
    # the first absolute host path a default File or Directory names as written (cwl-utils makes every
    # location absolute), and where: for the lint rule `cwl-absolute-path`
    absolute_default: tuple[str, Pos] | None = None


@dataclass(frozen=True)
class OutputParam:
    """A process output; `sources` is set for workflow outputs (`outputSource`)."""

    id: str
    type: CwlType
    pos: Pos
    binding: OutputBinding | None = None
    sources: tuple[str, ...] = ()
    link_merge: str | None = None
    pick_value: str | None = None
    secondary_files: tuple[Any, ...] = ()
    format: Any = None


@dataclass(frozen=True)
class Argument:
    """An entry of a tool's `arguments`: a literal/expression string or a full binding."""

    binding: InputBinding
    pos: Pos


@dataclass(frozen=True)
class StepInput:
    id: str
    pos: Pos
    sources: tuple[str, ...] = ()
    link_merge: str | None = None
    pick_value: str | None = None
    default: Any = None
    has_default: bool = False
    value_from: str | None = None
    load_contents: bool = False
    absolute_default: tuple[str, Pos] | None = None  # as InputParam's


@dataclass(frozen=True)
class LoopInput:
    """An entry of a `cwltool:Loop`'s `loop`: how the step input `id` is fed back for the next iteration."""

    id: str
    pos: Pos
    sources: tuple[str, ...] = ()  # outputs of the step (`loopSource`)
    link_merge: str | None = None
    pick_value: str | None = None
    default: Any = None
    has_default: bool = False
    value_from: str | None = None


@dataclass(frozen=True)
class Loop:
    """A step's `cwltool:Loop` requirement: run the step again while `when` (loopWhen) holds."""

    when: str
    inputs: tuple[LoopInput, ...]
    output_method: str  # "last" or "all"
    pos: Pos


@dataclass(frozen=True)
class StepOutput:
    id: str
    pos: Pos


@dataclass(frozen=True)
class ProcessBase:
    uri: str
    pos: Pos
    cwl_version: str
    inputs: tuple[InputParam, ...]
    outputs: tuple[OutputParam, ...]
    requirements: tuple[Requirement, ...] = ()
    hints: tuple[Requirement, ...] = ()
    label: str | None = None
    namespaces: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # `$namespaces`
    schemas: tuple[str, ...] = ()  # `$schemas`: the ontologies of File formats, as absolute URIs

    def requirement(self, cls: str) -> Requirement | None:
        """The requirement of class `cls`, else the hint of that class, else None."""
        for group in (self.requirements, self.hints):
            for req in group:
                if req.cls == cls:
                    return req
        return None

    def input(self, name: str) -> InputParam | None:
        return self._inputs_by_id.get(name)

    def output(self, name: str) -> OutputParam | None:
        return next((p for p in self.outputs if p.id == name), None)

    @cached_property
    def _inputs_by_id(self) -> dict[str, InputParam]:
        # a dict, not a scan: step graphs ask this once per source, which made big workflows quadratic
        return _first_by_id(self.inputs)


@dataclass(frozen=True)
class CommandLineTool(ProcessBase):
    base_command: tuple[str, ...] = ()
    arguments: tuple[Argument, ...] = ()
    stdin: str | None = None
    stdout: str | None = None
    stderr: str | None = None
    success_codes: tuple[int, ...] = ()
    temporary_fail_codes: tuple[int, ...] = ()
    permanent_fail_codes: tuple[int, ...] = ()


@dataclass(frozen=True)
class ExpressionTool(ProcessBase):
    expression: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    pos: Pos
    run: Process | None  # None: the `run` document could not be loaded (already reported)
    inputs: tuple[StepInput, ...] = ()
    outputs: tuple[StepOutput, ...] = ()
    scatter: tuple[str, ...] = ()
    scatter_method: str | None = None
    when: str | None = None
    requirements: tuple[Requirement, ...] = ()
    hints: tuple[Requirement, ...] = ()
    loop: Loop | None = None  # `cwltool:Loop` in the step's requirements

    def input(self, name: str) -> StepInput | None:
        return next((p for p in self.inputs if p.id == name), None)


@dataclass(frozen=True)
class Workflow(ProcessBase):
    steps: tuple[Step, ...] = field(default=())

    def step(self, name: str) -> Step | None:
        return self._steps_by_id.get(name)

    @cached_property
    def _steps_by_id(self) -> dict[str, Step]:
        return _first_by_id(self.steps)


def _first_by_id(items: tuple[Any, ...]) -> dict[str, Any]:
    """Items by id, the first one winning when an id repeats (as a scan in document order would)."""
    found: dict[str, Any] = {}
    for item in items:
        found.setdefault(item.id, item)
    return found


Process = CommandLineTool | ExpressionTool | Workflow


def type_str(t: CwlType) -> str:
    """CWL's short spelling of a type: `File[]`, `string?`, `enum`, `record Rec`."""
    if isinstance(t, str):
        return t
    if isinstance(t, ArrayType):
        return f"{type_str(t.items)}[]"
    if isinstance(t, UnionType):
        rest = [o for o in t.options if o != "null"]
        if len(rest) == 1 and len(t.options) == 2:
            return f"{type_str(rest[0])}?"
        return "(" + " | ".join(type_str(o) for o in t.options) + ")"
    if isinstance(t, EnumType):
        return f"enum {t.name}".rstrip()
    return f"record {t.name}".rstrip()
