"""cwltool's `--target`: the part of a workflow that contributes to the named outputs, steps or inputs.

Followed: cwltool 3.3 `subgraph.get_subgraph` (with `main.choose_target`). The workflow is a graph of its
inputs, outputs, steps and step outputs. From a workflow output the walk goes upstream (everything it
needs); from a step or an input it goes downstream (everything that step or input feeds, the workflow
outputs included). The steps, inputs and outputs reached are kept; a kept step fed by a step output that
was not reached reads a new workflow input instead, named like the source with `/` as `_` (`s1/out` ->
`s1_out`) and of the type of the step input it feeds, which the job must then give.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Pos

INPUT, OUTPUT, STEP = "input", "output", "step"


class TargetError(ValueError):
    """A target that names nothing in the workflow, or a process that is not a workflow."""


@dataclass
class _Node:
    kind: str | None
    up: list[str] = field(default_factory=list)
    down: list[str] = field(default_factory=list)


def extract(process: ir.Process, targets: Sequence[str]) -> ir.Workflow:
    """The sub-workflow of `process` that runs only what the `targets` need (raises TargetError)."""
    if not isinstance(process, ir.Workflow):
        raise TargetError("--target: can only select steps of a workflow (this is a "
                          f"{type(process).__name__})")
    nodes = _graph(process)
    unknown = [t for t in targets if t not in nodes or nodes[t].kind is None]
    if unknown:
        raise TargetError(f"--target {unknown[0]}: no workflow output, step or input of that name (known: "
                          f"{', '.join(sorted(n for n, v in nodes.items() if v.kind))})")
    reached: set[str] = set()
    for target in targets:
        _visit(target, nodes, reached, "up" if nodes[target].kind == OUTPUT else "down")
    kept = set(reached)
    rewired: dict[str, str] = {}  # a source outside the selection -> the new input standing for it
    for name in reached:
        if nodes[name].kind not in (STEP, OUTPUT):
            continue
        for source in nodes[name].up:
            if source in reached:
                continue
            if nodes[source].kind == INPUT:
                kept.add(source)
            elif nodes[name].kind == STEP:  # cwltool rewires step inputs only
                rewired[source] = source.replace("/", "_")
    return _rebuilt(process, kept, rewired)


def _graph(wf: ir.Workflow) -> dict[str, _Node]:
    nodes: dict[str, _Node] = {p.id: _Node(INPUT) for p in wf.inputs}

    def declare(name: str, kind: str | None) -> _Node:
        node = nodes.setdefault(name, _Node(kind))
        if node.kind is None:
            node.kind = kind
        return node

    for out in wf.outputs:
        node = declare(out.id, OUTPUT)
        for source in out.sources:
            node.up.append(source)
            declare(source, None).down.append(out.id)
    for step in wf.steps:
        node = declare(step.id, STEP)
        for port in step.inputs:
            for source in port.sources:
                node.up.append(source)
                declare(source, None).down.append(step.id)
        for out in step.outputs:
            name = f"{step.id}/{out.id}"
            node.down.append(name)
            declare(name, None).up.append(step.id)
    return nodes


def _visit(start: str, nodes: Mapping[str, _Node], seen: set[str], direction: str) -> None:
    todo = [start]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(nodes[name].up if direction == "up" else nodes[name].down)


def _rebuilt(wf: ir.Workflow, kept: set[str], rewired: Mapping[str, str]) -> ir.Workflow:
    steps = tuple(_rewired_step(s, rewired) for s in wf.steps if s.id in kept)
    inputs = [p for p in wf.inputs if p.id in kept]
    for source, name in rewired.items():
        inputs.append(ir.InputParam(id=name, type=_fed_type(steps, source), pos=_source_pos(wf, source)))
    outputs = tuple(p for p in wf.outputs if p.id in kept)
    return replace(wf, steps=steps, inputs=tuple(inputs), outputs=outputs)


def _rewired_step(step: ir.Step, rewired: Mapping[str, str]) -> ir.Step:
    if not any(s in rewired for port in step.inputs for s in port.sources):
        return step
    ports = tuple(replace(p, sources=_renamed(p.sources, rewired)) for p in step.inputs)
    return replace(step, inputs=ports)


def _renamed(sources: Iterable[str], rewired: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(rewired.get(s, s) for s in sources)


def _fed_type(steps: Sequence[ir.Step], source: str) -> ir.CwlType:
    """The type of the first step input `source` feeds (cwltool: `inp["type"]` of the step's port, an array of
    the tool's type for a scattered port, as `WorkflowStep.__init__` makes it)."""
    renamed = source.replace("/", "_")
    for step in steps:
        for port in step.inputs:
            param = step.run.input(port.id) if step.run is not None else None
            if renamed in port.sources and param is not None:
                return ir.ArrayType(param.type) if port.id in step.scatter else param.type
    return "Any"


def _source_pos(wf: ir.Workflow, source: str) -> Pos:
    step = wf.step(source.split("/", 1)[0])
    return step.pos if step is not None else wf.pos
