"""Loops (`hints: [loop]`): iteration 0 of the body, templates for the next ones, and the loop's gate.

The plan holds iteration 0 of the body (`LOOP.0.STEP`) and the gate stage `LOOP`, which downstream steps
need. The junction's data carries the body's stages as templates (`@ITER@` for the loop count) and the
loop dictionary; when the junction does not stop the loop, its kind adds iteration N+1 and makes the gate
also wait for it. The gate finally points the loop's output datasets at the last iteration's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from cwlpilot.compiler.panda.ir import Step, Workflow
from cwlpilot.compiler.panda.leaf import dataset_part
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
from cwlpilot.semantics.panda.loops import MARK, instantiate

# emit.emit_workflow, handed in by the caller: a loop body is a workflow emitted like any other, and
# passing the function keeps this module below emit.py instead of in a cycle with it.
EmitWorkflow = Callable[[Workflow, Scope, Emitted, Options], dict[str, Value]]


def emit_loop(
    step: Step, ins: Mapping[str, Bound], name: str, display: str, scope: Scope, out: Emitted, opts: Options,
    emit_workflow: EmitWorkflow,
) -> dict[str, Value]:
    """Iteration 0 of the loop's body, the templates of the next ones, and the gate `name`."""

    body = step.body
    assert body is not None
    if scope.loop is not None:
        out.error(step.pos, f"a loop inside the loop '{scope.loop.gate}' is not supported", step.id)
        return {port: Datasets(()) for port in step.out}
    values = bind_body(body.inputs, ins)
    params = _dictionary(step, body, values, out)
    loop_values = {**values, **{f"param_{k}": LoopRef(k) for k in params}}
    info = LoopInfo(name, params, body.file)
    sub = Scope(f"{name}.{MARK}.", loop_values, {k: LoopRef(k) for k in params}, info, display + ".")
    first = len(out.stages)
    results = emit_workflow(body, sub, out, opts)
    templates = out.stages[first:]
    del out.stages[first:]
    junctions = [t for t in templates if t["kind"] == "panda_junction"]
    if len(junctions) != 1:
        found = ", ".join(t["data"]["panda"]["step"] for t in junctions) or "none"
        out.error(
            step.pos,
            f"a loop body needs exactly one junction step to decide when to stop ({body.file} "
            f"has {len(junctions)}: {found})",
            step.id,
        )
        return {port: Datasets(()) for port in step.out}
    junction = junctions[0]["name"]
    # the gate waits for the junction and for what makes the loop's outputs, not for every body step: a
    # conditional body step that is skipped must not skip the loop's exit
    sources = [p for v in results.values() if isinstance(v, Datasets) for r in v.refs for p in r.producers]
    waits = sorted({junction, *sources})
    loop = {"templates": templates, "gate": name, "junction": junction, "gate_needs": waits, "max": opts.max_iterations}
    first_iteration = [instantiate(t, 0, params) for t in templates]
    for stage in first_iteration:
        if stage["kind"] == "panda_junction":
            stage["data"]["panda"]["loop"] = loop
    out.stages.extend(first_iteration)
    outputs, gate_outputs = _outputs(step, name, results, out, opts)
    if sources and sources[0] in out.node_of_stage:  # the dump shows the loop's consumers under its output step
        out.node_of_stage[name] = out.node_of_stage[sources[0]]
    gate = {"type": "gate", "step": display, "junction": junction, "max": opts.max_iterations, "outputs": gate_outputs}
    out.stages.append(
        {
            "name": name,
            "cmd": "true",
            "kind": "panda_gate",
            "cwd": name,
            "needs": sorted(w.replace(MARK, "0") for w in waits),
            "resources": {"cpu": 0, "mem": 0},
            "data": {"panda": gate},
        }
    )
    dictionary = tuple(sorted(params.items()))
    out.loops.append(LoopNode(name, display, body.file, junction.replace(MARK, "N"), dictionary, opts.max_iterations))
    return outputs


def _dictionary(step: Step, body: Any, values: Mapping[str, Value], out: Emitted) -> dict[str, Any]:
    """The loop's parameter dictionary: every `param_X` input of the body, keyed X, with its first value."""
    params: dict[str, Any] = {}
    for inp in body.inputs:
        if not inp.is_param:
            continue
        key = inp.id[6:]
        value = values.get(inp.id)
        if key == "i":
            out.error(inp.pos, "param_i is reserved: %{i} is the loop count", step.id)
        elif not isinstance(value, Lit) or value.value is None:
            out.error(inp.pos, f"loop parameter {inp.id} has no initial value: give it a default", step.id)
        else:
            params[key] = value.value
    return params


def _outputs(
    step: Step, gate: str, results: Mapping[str, Value], out: Emitted, opts: Options
) -> tuple[dict[str, Value], dict[str, list[dict[str, str]]]]:
    """The loop's outputs (aliases the gate makes) and, for the gate, which template each alias follows."""
    nnn = out.next_id()
    outputs: dict[str, Value] = {}
    gate_outputs: dict[str, list[dict[str, str]]] = {}
    for port in step.out:
        value = results.get(port)
        refs = value.refs if isinstance(value, Datasets) else ()
        aliases, entries = [], []
        for k, ref in enumerate(refs):
            suffix = f".{k}" if len(refs) > 1 else ""
            ds_name = f"{opts.out_ds}_{nnn:03d}_{dataset_part(gate)}.{port}{suffix}"
            aliases.append(DatasetRef(f"{DATASETS}/{ds_name}", ds_name, (gate,)))
            entries.append({"alias": f"{DATASETS}/{ds_name}", "template": ref.path})
        outputs[port] = Datasets(tuple(aliases), isinstance(value, Datasets) and value.listed)
        gate_outputs[port] = entries
    return outputs, gate_outputs
