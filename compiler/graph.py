"""The flat step graph of a workflow: sub-workflows expanded into namespaced nodes (`outer.inner`).

A reference is resolved through sub-workflow boundaries exactly: an outer step reading `sub/out`
depends on the inner step that the sub-workflow's output `out` names, never on every inner step.
Workflow inputs are written as their id (`names`); node outputs as `node/port` (`greet.say/out`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Pos
from cwlpilot.compiler.validate import run_name


@dataclass(frozen=True)
class GraphInput:
    port: str
    sources: tuple[str, ...]
    value_from: str | None = None
    has_default: bool = False


@dataclass(frozen=True)
class GraphNode:
    name: str
    process_class: str
    run: str
    pos: Pos
    needs: tuple[str, ...]
    inputs: tuple[GraphInput, ...]
    outputs: tuple[str, ...]
    scatter: tuple[str, ...] = ()
    scatter_method: str | None = None
    conditions: tuple[str, ...] = ()  # `when` expressions, outermost step first
    loops: tuple[str, ...] = ()  # the `cwltool:Loop`s it runs in, outermost first (see `loop_text`)


@dataclass(frozen=True)
class GraphPort:
    id: str
    type: str
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Graph:
    name: str
    cwl_version: str
    inputs: tuple[GraphPort, ...]
    outputs: tuple[GraphPort, ...]
    nodes: tuple[GraphNode, ...]


def build_graph(process: ir.Process, name: str) -> Graph:
    """The flat graph of a valid process (a lone tool is a one-node graph)."""
    inputs = tuple(GraphPort(p.id, ir.type_str(p.type)) for p in process.inputs)
    env = {p.id: (p.id,) for p in process.inputs}
    if not isinstance(process, ir.Workflow):
        node = GraphNode(
            name=_tool_node_name(process),
            process_class=type(process).__name__,
            run=run_name(process),
            pos=process.pos,
            needs=(),
            inputs=tuple(GraphInput(p.id, (p.id,)) for p in process.inputs),
            outputs=tuple(o.id for o in process.outputs),
        )
        outputs = tuple(
            GraphPort(o.id, ir.type_str(o.type), (f"{node.name}/{o.id}",)) for o in process.outputs
        )
        return Graph(name, process.cwl_version, inputs, outputs, (node,))
    nodes: list[GraphNode] = []
    outs = _expand(process, "", env, (), nodes, ())
    outputs = tuple(GraphPort(o.id, ir.type_str(o.type), outs[o.id]) for o in process.outputs)
    return Graph(name, process.cwl_version, inputs, outputs, tuple(nodes))


def _tool_node_name(process: ir.Process) -> str:
    name = run_name(process).rsplit(".", 1)[0]
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name) or "tool"


Env = Mapping[str, tuple[str, ...]]


def _expand(
    wf: ir.Workflow, prefix: str, env: Env, conditions: tuple[str, ...], nodes: list[GraphNode],
    loops: tuple[str, ...],
) -> dict[str, tuple[str, ...]]:
    """Append `wf`'s nodes (names prefixed) and return what each of its outputs resolves to."""
    produced: dict[str, tuple[str, ...]] = {}  # "step/port" in wf -> resolved references

    def resolve(source: str) -> tuple[str, ...]:
        if source in env:
            return env[source]
        return produced.get(source, ())

    for step in topological(wf):
        name = prefix + step.id
        inputs = tuple(
            GraphInput(i.id, tuple(r for s in i.sources for r in resolve(s)), i.value_from, i.has_default)
            for i in step.inputs
        )
        step_conditions = conditions + ((step.when,) if step.when else ())
        step_loops = loops + ((loop_text(name, step.loop),) if step.loop else ())
        if isinstance(step.run, ir.Workflow):
            inner_env = {i.port: i.sources for i in inputs}
            outs = _expand(step.run, name + ".", inner_env, step_conditions, nodes, step_loops)
            for port, refs in outs.items():
                produced[f"{step.id}/{port}"] = refs
            continue
        needs = tuple(dict.fromkeys(ref.split("/")[0] for i in inputs for ref in i.sources if "/" in ref))
        nodes.append(
            GraphNode(
                name=name,
                process_class=type(step.run).__name__,
                run=run_name(step.run) if step.run is not None else "?",
                pos=step.pos,
                needs=needs,
                inputs=inputs,
                outputs=tuple(o.id for o in step.outputs),
                scatter=step.scatter,
                scatter_method=step.scatter_method,
                conditions=step_conditions,
                loops=step_loops,
            )
        )
        for out in step.outputs:
            produced[f"{step.id}/{out.id}"] = (f"{name}/{out.id}",)
    return {o.id: tuple(r for s in o.sources for r in resolve(s)) for o in wf.outputs}


def loop_text(name: str, loop: ir.Loop) -> str:
    """`STEP while LOOPWHEN; i <- out, k <- valueFrom EXPR (outputs: last iteration)`."""
    feeds = []
    for e in loop.inputs:
        how = ", ".join(e.sources) if e.sources else ""
        if e.value_from:
            how = f"{how} valueFrom {e.value_from}".strip()
        if e.has_default:
            how = f"{how} (default {ir.thaw(e.default)!r})".strip()
        feeds.append(f"{e.id} <- {how or '-'}")
    method = "every iteration" if loop.output_method == "all" else "last iteration"
    return f"{name} while {loop.when}; {', '.join(feeds) or 'nothing fed back'} (outputs: {method})"


def topological(wf: ir.Workflow) -> list[ir.Step]:
    """Steps in dependency order, ties kept in document order (the workflow is known acyclic).

    The order is that of rounds: first every step that needs none, then every step whose needs all
    came in earlier rounds, and so on, each round in document order. A step's round is the length of
    the longest chain of needs above it, computed once per step (linear in the graph's size).
    """
    from cwlpilot.compiler.validate import step_needs

    needs = {s.id: step_needs(wf, s) for s in wf.steps}
    rounds: dict[str, int] = {}
    for step in wf.steps:
        path, work = {step.id}, [(step.id, iter(needs[step.id]))]
        while work:  # iterative depth-first walk: deep chains must not hit the recursion limit
            node, todo = work[-1]
            after = next((n for n in todo if n not in rounds), None)
            if after is None:
                rounds[node] = 1 + max((rounds[n] for n in needs[node]), default=-1)
                path.discard(node)
                work.pop()
            elif after in path:
                return _topological_with_cycle(wf, needs)  # a cycle slipped through
            else:
                path.add(after)
                work.append((after, iter(needs[after])))
    position = {id(s): i for i, s in enumerate(wf.steps)}
    return sorted(wf.steps, key=lambda s: (rounds[s.id], position[id(s)]))


def _topological_with_cycle(wf: ir.Workflow, needs: Mapping[str, list[str]]) -> list[ir.Step]:
    """Round by round as above; when no step is ready, the first pending one goes next."""
    done: set[str] = set()
    ordered: list[ir.Step] = []
    pending = list(wf.steps)
    while pending:
        ready = [s for s in pending if all(n in done for n in needs[s.id])]
        if not ready:
            ready = pending[:1]
        for step in ready:
            done.add(step.id)
            ordered.append(step)
        pending = [s for s in pending if s.id not in done]
    return ordered
