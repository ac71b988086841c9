"""PanDA IR -> stages plan: walk the workflow, bind inputs, scatter, recurse into sub-workflows.

Stage names: a top-level step is its id; `step[k]` is scatter instance k (`step[i,j]` for a cross
product); `sub.inner` is a step of a sub-workflow; `loop.N.inner` is iteration N of a loop body (the
loop's gate stage is `loop`); `step.jobJ` is job J of a step split by --nJobs / --nFilesPerJob. A step
split over files made upstream is `step.split` (adds `step.jobJ` when it runs) and `step` (gathers them).
The data each kind reads is documented in `executor/kinds/panda.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cwlpilot.compiler import limits
from cwlpilot.compiler.panda import leaf
from cwlpilot.compiler.panda.check import ref_problem, step_parents
from cwlpilot.compiler.panda.ir import LOCAL_KINDS, WORKFLOW, Step, Workflow
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
    """The plan of `wf` on `job`, and what emission found (diagnostics, dump nodes, notes).

    A workflow input without a value is None, as the server leaves it (`resolve_nodes` keeps the CWL
    default); a top-level step that reads it fails the server's verification."""
    out = Emitted(check_only=opts.check_only, client=opts.client)
    values: dict[str, Value] = {}
    for inp in wf.inputs:
        if job is not None and inp.id in job:
            values[inp.id] = Lit(job[inp.id])
        elif inp.has_default:
            values[inp.id] = Lit(inp.default)
        elif opts.check_only and job is None:  # checked without inputs: a stand-in value of the right shape
            values[inp.id] = Lit([f"<{inp.id}[0]>"] if inp.type.endswith("[]") else f"<{inp.id}>")
        else:
            values[inp.id] = Lit(None)
    try:
        results = emit_workflow(wf, Scope("", values, {}), out, opts)
    except _TooLarge as exc:
        out.error(exc.step.pos, str(exc), exc.step.id, rule="panda-limit")
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
    """The steps in the order PanDA's server numbers them (`pcwl_utils.top_sort`): passes over the steps
    in file order, each taking every step whose parents are taken already; a cycle (an error of `check`)
    leaves the rest in file order."""
    parents = step_parents(wf)
    done: list[Step] = []
    taken: set[str] = set()
    left = list(wf.steps)
    while left:
        ready = []
        for s in left:
            if set(parents[s.id]) - {s.id} <= taken:
                ready.append(s)
                taken.add(s.id)
        if not ready:
            ready = list(left)
        done += ready
        left = [s for s in left if s not in ready]
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
        ins = {i.name: _bind(i, wf, scope, results) for i in step.inputs}
        results[step.id] = _emit_step(wf, step, ins, scope, out, opts)
        if len(out.stages) > limits.MAX_STAGES or out.size > limits.MAX_PLAN_BYTES:
            raise _TooLarge(step, out)
    return {o.id: _source(o.source or "", scope, results) for o in wf.outputs}


def _source(ref: str, scope: Scope, results: Mapping[str, Mapping[str, Value]]) -> Value:
    if "/" in ref:
        step, _, port = ref.partition("/")
        return results.get(step, {}).get(port, Lit(None))
    return scope.values.get(ref, Lit(None))


def _bind(inp: Any, wf: Workflow, scope: Scope, results: Mapping[str, Mapping[str, Value]]) -> Bound:
    """A step input's value as `resolve_nodes` finds it: a source that names nothing leaves the default."""
    problems = [p for p in (ref_problem(s.ref, wf) for s in inp.sources) if p]
    if problems and len(inp.sources) == 1:
        return Bound(Lit(inp.default), (), problems[0])
    parts = tuple(_source(s.ref, scope, results) for s in inp.sources)
    if not parts:
        return Bound(Lit(inp.default), ())
    if len(parts) == 1 and not inp.listed:
        return Bound(parts[0], parts)
    if all(isinstance(p, Datasets) for p in parts):
        return Bound(Datasets(tuple(r for p in parts for r in p.refs), True), parts, problems[0] if problems else None)  # type: ignore[union-attr]
    return Bound(Lit([p.value if isinstance(p, Lit) else None for p in parts]), parts)


def _emit_step(
    wf: Workflow, step: Step, ins: dict[str, Bound], scope: Scope, out: Emitted, opts: Options
) -> dict[str, Value]:
    name, display = scope.prefix + step.id, scope.path + step.id
    if not step.scatter:
        return _emit_one(wf, step, ins, name, display, scope, out, opts)
    per_instance = []
    for label, bound in _instances(step, ins, scope, out):
        per_instance.append(_emit_one(wf, step, bound, f"{name}[{label}]", f"{display}[{label}]", scope, out, opts))
    gathered: dict[str, Value] = {}
    for port in step.out or ("outDS",):
        values = [o.get(port) for o in per_instance]
        gathered[port] = Datasets(tuple(r for v in values if isinstance(v, Datasets) for r in v.refs), True)
    return gathered


def _instances(step: Step, ins: dict[str, Bound], scope: Scope, out: Emitted) -> list[tuple[str, dict[str, Bound]]]:
    """(label, inputs) of each scatter instance, as `resolve_nodes` makes them: one per element of the
    first scattered input; the others are paired element by element (scatterMethod is ignored), and an
    instance beyond a shorter one's end keeps that input's whole value."""
    columns = []
    for name in step.scatter:
        elements = _elements(ins[name].value, scope) if name in ins else None
        if elements is None:
            out.error(step.pos, f"scatter over '{name}', which is not an array", step.id, rule="panda-scatter")
            return []
        columns.append((name, elements))
    if not columns:
        return []
    count = len(columns[0][1])
    if count > limits.MAX_STAGES:  # refused before its instances are made
        out.error(step.pos, f"the scatter makes {count} instances, more than the {limits.MAX_STAGES} allowed", step.id,
            rule="panda-limit")
        return []
    lengths = {len(e) for _, e in columns}
    if len(lengths) > 1:
        sizes = ", ".join(f"{n} has {len(e)}" for n, e in columns)
        out.warn(
            step.pos,
            f"scatter over arrays of different lengths ({sizes}): PanDA's server makes one instance "
            f"per element of {columns[0][0]}, and an instance past the end of a shorter array gets "
            "all of it",
            step.id,
            "panda-scatter-lengths",
        )
    result = []
    for k in range(len(columns[0][1])):
        bound = dict(ins)
        for name, elements in columns:
            v = elements[k] if k < len(elements) else ins[name].value
            bound[name] = Bound(v, (v,))
        result.append((str(k), bound))
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
    wf: Workflow,
    step: Step,
    ins: dict[str, Bound],
    name: str,
    display: str,
    scope: Scope,
    out: Emitted,
    opts: Options,
) -> dict[str, Value]:
    if step.kind == WORKFLOW:
        if step.body is None:
            return {port: Datasets(()) for port in step.out or ("outDS",)}
        if step.loop:
            first_leaf = len(out.leaves)
            outputs, results = emit_loop(step, ins, name, display, scope, out, opts, emit_workflow)
            named = next((v for v in outputs.values() if isinstance(v, Datasets)), Datasets(()))
            warn_tails(wf, step, results, Datasets(tuple(out.leaves[first_leaf:]), named.listed), out)
            return outputs
        return _sub_workflow(wf, step, ins, name, display, scope, out, opts)
    if step.kind in LOCAL_KINDS:
        return leaf.emit_leaf(step, ins, name, display, scope, out, opts)
    return leaf.emit_remote(step, ins, display, scope, out, opts)


def sub_scope(step: Step, ins: Mapping[str, Bound], name: str, display: str, scope: Scope) -> Scope:
    """The scope of a sub-workflow's steps: its inputs' values, and what %{k} reads there (its
    `param_k` inputs, and its other inputs: Node.get_global_parameters)."""
    body = step.body
    assert body is not None
    values = bind_body(body.inputs, ins)
    params = {i.id[6:]: values[i.id] for i in body.inputs if i.is_param}
    local = {i.id: values[i.id] for i in body.inputs if not i.is_param}
    return Scope(name + ".", values, params, scope.loop, display + ".", local, True, scope.in_loop)


def tails(step: Step, first_leaf: int, out: Emitted) -> Datasets:
    """What the steps reading a sub-workflow's outputs get: as `resolve_nodes` returns its tail nodes since
    panda-server 0.7.2 (b9eb1817), the dataset of every step inside it, whichever output they read."""
    refs = tuple(out.leaves[first_leaf:])
    return Datasets(refs, len(refs) != 1)


def _sub_workflow(
    wf: Workflow,
    step: Step,
    ins: dict[str, Bound],
    name: str,
    display: str,
    scope: Scope,
    out: Emitted,
    opts: Options,
) -> dict[str, Value]:
    first, first_leaf = len(out.stages), len(out.leaves)
    results = emit_workflow(step.body, sub_scope(step, ins, name, display, scope), out, opts)  # type: ignore[arg-type]
    if step.when:
        guard_stages(step, ins, out.stages[first:], out)
    value = tails(step, first_leaf, out)
    warn_tails(wf, step, results, value, out)
    out.nodes.append(Node(out.next_id(), display, WORKFLOW, (), leaf.shown_inputs(ins), (), ()))
    return {port: value for port in step.out or ("outDS",)}


def warn_tails(wf: Workflow, step: Step, results: Mapping[str, Value], value: Datasets, out: Emitted) -> None:
    """Say so when the steps reading the sub-workflow get more datasets than its outputs name."""
    read = any(src.step == step.id for s in wf.steps for i in s.inputs for src in i.sources)
    named = {r.path for v in results.values() if isinstance(v, Datasets) for r in v.refs}
    every = [r.name for r in value.refs]
    if read and named != {r.path for r in value.refs}:
        shown = ", ".join(every[:4]) + (", ..." if len(every) > 4 else "")
        out.warn(
            step.pos,
            f"the steps reading {step.id}'s outputs get the dataset of every step inside it "
            f"({len(every)}: {shown}), not only those its outputs name: PanDA's server (0.7.2 and "
            "later, resolve_nodes) makes every step of a sub-workflow a tail",
            step.id,
            "panda-subworkflow-tails",
        )


__all__ = ["DatasetRef", "emit_plan", "emit_workflow", "OUTPUTS_STAGE"]
