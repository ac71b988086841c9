"""PanDA IR -> stages plan: walk the workflow, bind inputs, scatter, recurse into sub-workflows.

Stage names: a top-level step is its id; `step[k]` is scatter instance k (`step[i,j]` for a cross
product); `sub.inner` is a step of a sub-workflow; `loop.N.inner` is iteration N of a loop body (the
loop's gate stage is `loop`); `step.jobJ` is job J of a step split by --nJobs / --nFilesPerJob. A step
split over files made upstream is `step.split` (adds `step.jobJ` when it runs) and `step` (gathers them).
The data each kind reads is documented in `executor/kinds/panda.py`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from typing import Any

from cwlpilot.compiler import limits
from cwlpilot.compiler.panda import leaf
from cwlpilot.compiler.panda.ir import WORKFLOW, Step, Workflow
from cwlpilot.compiler.panda.loop import emit_loop
from cwlpilot.compiler.panda.values import (
    Bound,
    DatasetRef,
    Datasets,
    Emitted,
    Lit,
    LoopRef,
    Node,
    Options,
    Scope,
    Value,
    bind_body,
    producers,
)
from cwlpilot.compiler.panda.when import guard_stages

SCHEMA_VERSION = "1"
OUTPUTS_STAGE = "@outputs"


def emit_plan(wf: Workflow, job: Mapping[str, Any] | None, opts: Options) -> tuple[dict[str, Any], Emitted]:
    """The plan of `wf` on `job`, and what emission found (diagnostics, dump nodes, notes)."""
    out = Emitted()
    values: dict[str, Value] = {}
    for inp in wf.inputs:
        if job is not None and inp.id in job:
            values[inp.id] = Lit(job[inp.id])
        elif inp.has_default:
            values[inp.id] = Lit(inp.default)
        elif opts.check_only:  # checked without inputs: a stand-in value of the right shape
            values[inp.id] = Lit([f"<{inp.id}[0]>"] if inp.type.endswith("[]") else f"<{inp.id}>")
        else:
            out.error(inp.pos, f"required input '{inp.id}' ({inp.type}) has no value: give it in the inputs file")
            values[inp.id] = Lit(None)
    params = {i.id[6:]: values[i.id] for i in wf.inputs if i.is_param}
    try:
        results = emit_workflow(wf, Scope("", values, params), out, opts)
    except _TooLarge as exc:
        out.error(exc.step.pos, str(exc), exc.step.id)
        results = {}
    plan: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "stages": out.stages, "outputs": {}}
    if wf.outputs:
        out.stages.append(_outputs_stage(results))
        plan["outputs"] = {o.id: {"type": "string", "value": {"$ref": f"{OUTPUTS_STAGE}/{o.id}"}} for o in wf.outputs}
    return plan, out


def _outputs_stage(results: Mapping[str, Value]) -> dict[str, Any]:
    """A stage that runs once every output's producers have ended, and writes the workflow's outputs."""
    outputs = {}
    needs: dict[str, None] = {}
    for oid, value in sorted(results.items()):
        refs = value.refs if isinstance(value, Datasets) else ()
        outputs[oid] = {
            "listed": isinstance(value, Datasets) and value.listed,
            "refs": [{"path": r.path, "producers": list(r.producers)} for r in refs],
        }
        needs.update(dict.fromkeys(producers(value)))
    return {
        "name": OUTPUTS_STAGE,
        "cmd": "true",
        "kind": "panda_outputs",
        "needs": sorted(needs),
        "condition": "true",
        "cwd": OUTPUTS_STAGE,
        "resources": {"cpu": 0, "mem": 0},
        "data": {"panda": {"type": "outputs", "outputs": outputs}},
    }


def step_order(wf: Workflow) -> list[Step]:
    """Steps in an order where each comes after the steps it reads from (file order otherwise)."""
    ids = {s.id for s in wf.steps}
    deps = {
        s.id: {src.step for i in s.inputs for src in i.sources if src.step in ids and src.step != s.id}
        for s in wf.steps
    }
    done: list[Step] = []
    left = list(wf.steps)
    while left:
        ready = [s for s in left if deps[s.id] <= {d.id for d in done}]
        if not ready:  # a cycle: check reports it; emit the rest in file order
            ready = left[:1]
        done.append(ready[0])
        left.remove(ready[0])
    return done


class _TooLarge(Exception):
    """Emission went beyond limits.MAX_STAGES or limits.MAX_PLAN_BYTES at `step`: it stops there."""

    def __init__(self, step: Step, out: Emitted) -> None:
        if len(out.stages) > limits.MAX_STAGES:
            what = f"has more than {limits.MAX_STAGES} stages by this step, the most a plan may have"
        else:
            what = f"is larger than {limits.MAX_PLAN_BYTES // 2**20} MB by this step, the most a plan may be"
        super().__init__(f"the plan {what}")
        self.step = step


def emit_workflow(wf: Workflow, scope: Scope, out: Emitted, opts: Options) -> dict[str, Value]:
    """Append the stages of `wf` in `scope`; return the value of each of its outputs."""
    results: dict[str, dict[str, Value]] = {}
    for step in step_order(wf):
        ins = {i.name: _bind(i, scope, results) for i in step.inputs}
        results[step.id] = _emit_step(step, ins, scope, out, opts)
        if len(out.stages) > limits.MAX_STAGES or out.size > limits.MAX_PLAN_BYTES:
            raise _TooLarge(step, out)
    return {o.id: _source(o.source or "", scope, results) for o in wf.outputs}


def _source(ref: str, scope: Scope, results: Mapping[str, Mapping[str, Value]]) -> Value:
    if "/" in ref:
        step, _, port = ref.partition("/")
        return results.get(step, {}).get(port, Lit(None))
    return scope.values.get(ref, Lit(None))


def _bind(inp: Any, scope: Scope, results: Mapping[str, Mapping[str, Value]]) -> Bound:
    parts = tuple(_source(s.ref, scope, results) for s in inp.sources)
    if not parts:
        return Bound(Lit(inp.default), ())
    if len(parts) == 1 and not inp.listed:
        return Bound(parts[0], parts)
    if all(isinstance(p, Datasets) for p in parts):
        return Bound(Datasets(tuple(r for p in parts for r in p.refs), True), parts)  # type: ignore[union-attr]
    return Bound(Lit([p.value if isinstance(p, Lit) else None for p in parts]), parts)


def _emit_step(step: Step, ins: dict[str, Bound], scope: Scope, out: Emitted, opts: Options) -> dict[str, Value]:
    name, display = scope.prefix + step.id, scope.path + step.id
    if not step.scatter:
        return _emit_one(step, ins, name, display, scope, out, opts)
    per_instance = []
    for label, bound in _instances(step, ins, scope, out):
        per_instance.append(_emit_one(step, bound, f"{name}[{label}]", f"{display}[{label}]", scope, out, opts))
    gathered: dict[str, Value] = {}
    for port in step.out:
        values = [o.get(port) for o in per_instance]
        gathered[port] = Datasets(tuple(r for v in values if isinstance(v, Datasets) for r in v.refs), True)
    return gathered


def _instances(step: Step, ins: dict[str, Bound], scope: Scope, out: Emitted) -> list[tuple[str, dict[str, Bound]]]:
    """(label, inputs) of each scatter instance, as scatterMethod combines the scattered inputs."""
    columns = []
    for name in step.scatter:
        elements = _elements(ins[name].value, scope) if name in ins else None
        if elements is None:
            out.error(step.pos, f"scatter over '{name}', which is not an array", step.id)
            return []
        columns.append((name, elements))
    method = step.scatter_method or "dotproduct"
    count = math.prod(len(e) for _, e in columns) if method != "dotproduct" else 0
    if count > limits.MAX_STAGES:
        out.error(step.pos, f"the scatter makes {count} instances, more than the {limits.MAX_STAGES} allowed", step.id)
        return []
    if method == "dotproduct":
        lengths = {len(e) for _, e in columns}
        if len(lengths) > 1:
            sizes = ", ".join(f"{n} has {len(e)}" for n, e in columns)
            out.error(step.pos, f"dotproduct scatter over arrays of different lengths ({sizes})", step.id)
            return []
        combos = [(str(k), tuple(e[k] for _, e in columns)) for k in range(lengths.pop() if lengths else 0)]
    else:
        ranges = [range(len(e)) for _, e in columns]
        combos = [
            (",".join(map(str, idx)), tuple(columns[c][1][k] for c, k in enumerate(idx)))
            for idx in itertools.product(*ranges)
        ]
    result = []
    for label, vals in combos:
        bound = dict(ins)
        for (name, _), v in zip(columns, vals, strict=True):
            bound[name] = Bound(v, (v,))
        result.append((label, bound))
    return result


def _elements(value: Value, scope: Scope) -> list[Value] | None:
    if isinstance(value, Datasets):
        return [Datasets((r,)) for r in value.refs] if value.listed else None
    if isinstance(value, Lit):
        return [Lit(v) for v in value.value] if isinstance(value.value, list) else None
    if isinstance(value, LoopRef) and value.item is None and scope.loop is not None:
        initial = scope.loop.params.get(value.key)
        return [LoopRef(value.key, k) for k in range(len(initial))] if isinstance(initial, list) else None
    return None


def _emit_one(
    step: Step, ins: dict[str, Bound], name: str, display: str, scope: Scope, out: Emitted, opts: Options
) -> dict[str, Value]:
    if step.kind == WORKFLOW and step.body is not None:
        if step.loop:
            return emit_loop(step, ins, name, display, scope, out, opts, emit_workflow)
        return _sub_workflow(step, ins, name, display, scope, out, opts)
    if step.kind in ("prun", "junction"):
        return leaf.emit_leaf(step, ins, name, display, scope, out, opts)
    out.nodes.append(Node(out.next_id(), display, step.kind, (), leaf.shown_inputs(ins), (), ()))
    return {port: Datasets(()) for port in step.out}


def _sub_workflow(
    step: Step, ins: dict[str, Bound], name: str, display: str, scope: Scope, out: Emitted, opts: Options
) -> dict[str, Value]:
    body = step.body
    assert body is not None
    values = bind_body(body.inputs, ins)
    params = {i.id[6:]: values[i.id] for i in body.inputs if i.is_param}
    first = len(out.stages)
    sub = Scope(name + ".", values, params, scope.loop, display + ".")
    results = emit_workflow(body, sub, out, opts)
    if step.when:
        guard_stages(step, ins, out.stages[first:], out)
    return results


__all__ = ["DatasetRef", "emit_plan", "emit_workflow", "OUTPUTS_STAGE"]
