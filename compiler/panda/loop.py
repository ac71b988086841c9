"""Loops (`hints: [loop]`): iteration 1 of the body, templates for the next ones, and the loop's gate.

The plan holds iteration 1 of the body (`LOOP.1.STEP`; iDDS counts a loop's runs from 1, and `%{i}`
reads that count) and the gate stage `LOOP`, which downstream steps need. The junction's data carries the
body's stages as templates (`@ITER@` for the loop count) and the loop dictionary; when the junction does
not stop the loop, its kind adds iteration N+1 and makes the gate also wait for it. The gate finally
points the loop's output datasets at the last iteration's.

As `workflow_utils.convert_nodes_to_workflow` makes the loop condition: the first junction among the
body's own steps decides; a body without one runs once (the server adds no loop condition).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cwlpilot.compiler.panda.ir import Step, Workflow
from cwlpilot.compiler.panda.values import (
    Bound,
    DatasetRef,
    Datasets,
    Emitted,
    Lit,
    LoopInfo,
    LoopNode,
    LoopRef,
    Options,
    Scope,
    Value,
    bind_body,
)
from cwlpilot.semantics.panda.datasets import DATASETS
from cwlpilot.semantics.panda.loops import FIRST, MARK, instantiate

# emit.emit_workflow, handed in by the caller: a loop body is a workflow emitted like any other, and
# passing the function keeps this module below emit.py instead of in a cycle with it.
EmitWorkflow = Callable[[Workflow, Scope, Emitted, Options], dict[str, Value]]


def emit_loop(
    step: Step,
    ins: Mapping[str, Bound],
    name: str,
    display: str,
    scope: Scope,
    out: Emitted,
    opts: Options,
    emit_workflow: EmitWorkflow,
) -> tuple[dict[str, Value], dict[str, Value]]:
    """Iteration 1 of the loop's body, the templates of the next ones, and the gate `name`; the loop's
    outputs as its readers get them, and the values the body's outputs name."""
    body = step.body
    assert body is not None
    ports = step.out or ("outDS",)
    if scope.loop is not None:
        out.local(
            step.pos,
            f"a loop inside the loop '{scope.loop.gate}' cannot run here (PanDA runs it)",
            step.id,
            "panda-not-local",
        )
        return {port: Datasets(()) for port in ports}, {}
    values = bind_body(body.inputs, ins)
    params = _dictionary(step, body, values, scope, out)
    loop_values = {**values, **{f"param_{k}": LoopRef(k) for k in params}}
    info = LoopInfo(name, params, body.file)
    local = {i.id: values[i.id] for i in body.inputs if not i.is_param}
    sub = Scope(f"{name}.{MARK}.", loop_values, {k: LoopRef(k) for k in params}, info, display + ".", local, True, True)
    first, first_leaf = len(out.stages), len(out.leaves)
    results = emit_workflow(body, sub, out, opts)
    templates = out.stages[first:]
    del out.stages[first:]
    refs = tuple(out.leaves[first_leaf:])
    junction = _junction(step, body, display, templates, out)
    if junction is None:  # no loop condition: the body runs once
        out.stages.extend(instantiate(t, FIRST, params) for t in templates)
        value = Datasets(tuple(_once(r) for r in refs), len(refs) != 1)
        out.loops.append(LoopNode(name, display, body.file, "", tuple(sorted(params.items())), 1))
        return {port: value for port in ports}, results
    value = _iterate(name, display, body.file, junction, templates, refs, params, out, opts)
    return {port: value for port in ports}, results


def _iterate(
    name: str,
    display: str,
    file: str,
    junction: str,
    templates: list[dict[str, Any]],
    refs: tuple[DatasetRef, ...],
    params: dict[str, Any],
    out: Emitted,
    opts: Options,
) -> Datasets:
    """A loop closed by `junction`: its first iteration, the templates the junction repeats, and the gate;
    the loop's value as its readers get it."""
    # the gate waits for the junction and for the datasets of the body's unconditional steps: a
    # conditional body step that is skipped must not skip the loop's exit (its dataset stays empty)
    conditional = {t["name"] for t in templates if t.get("condition") is not None}
    sources = [p for r in refs for p in r.producers if p not in conditional]
    waits = sorted({junction, *sources})
    loop = {"templates": templates, "gate": name, "junction": junction, "gate_needs": waits, "max": opts.max_iterations}
    first_iteration = [instantiate(t, FIRST, params) for t in templates]
    for stage in first_iteration:
        if stage["name"] == junction.replace(MARK, str(FIRST)):
            stage["data"]["panda"]["loop"] = loop
    out.stages.extend(first_iteration)
    value = _gate(name, display, junction, waits, refs, sources, out, opts)
    dictionary = tuple(sorted(params.items()))
    out.loops.append(LoopNode(name, display, file, junction.replace(MARK, "N"), dictionary, opts.max_iterations))
    return value


def _gate(
    name: str,
    display: str,
    junction: str,
    waits: list[str],
    refs: tuple[DatasetRef, ...],
    sources: list[str],
    out: Emitted,
    opts: Options,
) -> Datasets:
    """The loop's gate stage, and the loop's outputs as its readers get them (the gate's aliases)."""
    value, gate_outputs = _outputs(name, refs)
    if sources and sources[0] in out.node_of_stage:  # the dump shows the loop's consumers under its output step
        out.node_of_stage[name] = out.node_of_stage[sources[0]]
    gate = {"type": "gate", "step": display, "junction": junction, "max": opts.max_iterations, "outputs": gate_outputs}
    out.stages.append(
        {
            "name": name,
            "cmd": "true",
            "kind": "panda_gate",
            "cwd": name,
            "needs": sorted(w.replace(MARK, str(FIRST)) for w in waits),
            "resources": {"cpu": 0, "mem": 0},
            "data": {"panda": gate},
        }
    )
    return value


def _junction(step: Step, body: Workflow, display: str, templates: list[dict[str, Any]], out: Emitted) -> str | None:
    """The stage template of the junction that decides: the first among the body's own steps."""
    prefix = display + "."

    def own_step(t: dict[str, Any]) -> bool:
        shown = str(t["data"]["panda"]["step"])
        return shown.startswith(prefix) and "." not in shown[len(prefix) :]

    own = [t for t in templates if t["kind"] == "panda_junction" and own_step(t)]
    if not own:
        out.warn(
            step.pos,
            f"the loop's body {body.file} has no junction step of its own: PanDA's server makes no "
            "loop condition, so the body runs once",
            step.id,
            "panda-loop-without-junction",
        )
        return None
    if len(own) > 1:
        names = ", ".join(t["data"]["panda"]["step"] for t in own)
        out.warn(
            step.pos,
            f"the loop's body has several junctions ({names}): only the first decides whether the "
            "loop goes on (convert_nodes_to_workflow)",
            step.id,
            "panda-loop-junctions",
        )
    return str(own[0]["name"])


def _once(ref: DatasetRef) -> DatasetRef:
    return ref._replace(
        path=ref.path.replace(MARK, str(FIRST)), producers=tuple(p.replace(MARK, str(FIRST)) for p in ref.producers)
    )


def _dictionary(step: Step, body: Any, values: Mapping[str, Value], scope: Scope, out: Emitted) -> dict[str, Any]:
    """The loop's parameter dictionary: every `param_X` input of the body, keyed X, with its first value."""
    params: dict[str, Any] = {}
    for inp in body.inputs:
        if not inp.is_param:
            continue
        key = inp.id[6:]
        value = values.get(inp.id)
        if key == "i":  # Node.verify of the loop's node
            out.verified(
                inp.pos,
                "parameter i cannot be used since it is reserved by the system (%{i} is the loop count)",
                step.id,
                not scope.in_sub,
                "panda-reserved-parameter",
            )
        elif not isinstance(value, Lit) or value.value is None:
            out.error(inp.pos, f"loop parameter {inp.id} has no initial value: give it a default", step.id,
                rule="panda-loop")
        else:
            params[key] = value.value
    return params


def _outputs(gate: str, refs: tuple[DatasetRef, ...]) -> tuple[Datasets, list[dict[str, str]]]:
    """What the loop's readers get: the dataset of every step of the body (resolve_nodes' tails), each
    from the last iteration, through an alias the gate makes; and, for the gate, the template of each."""
    aliases, entries = [], []
    for ref in refs:
        alias = f"{DATASETS}/{ref.path.rsplit('/', 1)[-1].replace('.' + MARK, '')}.last"
        aliases.append(DatasetRef(alias, ref.name, (gate,), ref.outputs))
        entries.append({"alias": alias, "template": ref.path})
    return Datasets(tuple(aliases), len(aliases) != 1), entries
