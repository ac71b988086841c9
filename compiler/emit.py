"""Emitting a stages plan (schemas/stages.schema.json) from a loaded workflow and its inputs.

Sub-workflows are flattened into namespaced stages (`outer.inner`), scatter over arrays known at
compile time becomes one stage per instance (`step[0]`, `step[1]`, nested `step[0][1]`), and every
command whose values are known is written out in `cmd`. Pure: paths are joined, never touched.

Data contract of the stages this module writes (read by the executor's handlers in executor/kinds/,
through the shared `cwlpilot.cwl` package):

kind `cwl_tool` — a CommandLineTool instance; it runs in `cwd` (the stage name), the tool's output
  directory being `<cwd>/out`.
  data.inputs   the CWL job object of the stage. Known values are plain JSON (File/Directory as
                `{"class", "path" (absolute), "basename", "nameroot", "nameext", "dirname"}`);
                a value produced upstream is `{"$ref": "STAGE/PORT"}` (a list of those after a gather,
                `null` when STAGE was skipped by its `when`), several sources whose merge must wait
                are `{"$merge": [...], "linkMerge", "pickValue"}` (see `cwlpilot.cwl.values`).
  data.step     instead of data.inputs, when the step itself depends on run-time values (scatter over
                an upstream array, valueFrom or `when` reading upstream values, a default replacing an
                upstream null): `{"in": step input values, ...}` as `cwlpilot.cwl.step` describes.
                A scatter then gets `data.dependents` (the stages reading its outputs): when it runs,
                the handler adds one stage per instance (`step[I]`, booked and run like any other)
                and a gather stage `step.gather` that writes this stage's outputs file, and makes
                the dependents wait for it.
  data.command  present only when `cmd` could not be built at compile time: the plain tool
                description (`baseCommand`, `arguments`, `inputs` {name: {type, inputBinding}},
                `stdin`/`stdout`/`stderr`, `shellCommand`) from which the handler builds the command
                once the `$ref`s are resolved; `cmd` then holds only a readable preview.
  data.outputs  {port: {"type", "glob": [...], "outputEval", "loadContents", "secondaryFiles"}}: what to
                collect after the command (stdout/stderr ports have the redirect file as their glob).
                The handler writes the stage's CWL output object to `<cwd>/.cwlpilot/outputs.json`;
                `$ref`s of later stages point into it.
  data.js, data.version   the expressionLib when InlineJavascriptRequirement applies (else null), and
                the cwlVersion (expression escaping rules).
  data.toolDefaults, data.initialWorkDir, data.env, data.resources, data.timelimit, data.requirements
                what the tool declares, evaluated by the handler when they hold expressions.
  data.codes    {"success": [...], "temporaryFail": [...], "permanentFail": [...]} when set.
kind `cwl_expression` — an ExpressionTool: the handler evaluates data.expression (with data.inputs or
  data.step, and data.js) in-process and writes the result as the outputs file; `cmd` is "".
`when` (stage key) — `{"guards": [{"expression": E, "inputs": {...}, "js": [...]}]}`: `when`s of the
  enclosing sub-workflow steps that need run-time values; the handler evaluates them on the `$ref`s
  resolved; a false one skips the stage and its outputs are null. A guard that is known at compile time
  is decided then: a false one drops the step's stages and its `$ref`s become null; a step whose own
  `when` is false then is one stage of kind `cwl_skipped` (data.ports), shown as skipped.
`data.formats`, `data.ontology` — the File formats the process's inputs require (see `compiler.formats`),
  checked by the handler on the job it builds.
Kinds `cwl_subworkflow`, `cwl_loop`, `cwl_loop_next` and `cwl_gather`: see `compiler.emit_dynamic`.
Plan `outputs` — {id: {"type", "value"}} where value may hold `$ref`s and `$merge`s, resolved after the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import unquote

from cwlpilot.compiler import ir, limits
from cwlpilot.compiler.budget import values_size
from cwlpilot.compiler.emit_dynamic import Context, Guards, Options, loop_stage, subworkflow_stage, tool_body_data
from cwlpilot.compiler.emit_inputs import (
    check_formats,
    expanded_formats,
    input_value,
    job_namespaces,
    with_job_requirements,
    with_secondary_files,
)
from cwlpilot.compiler.emit_tool import (
    js_lib,
    port_type,
    resources,
    static_command,
    unsupported_if_docker,
)
from cwlpilot.compiler.errors import CompilerError, UnsupportedError
from cwlpilot.compiler.formats import Ontology, all_schemas
from cwlpilot.compiler.graph import topological
from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl import scatter as sc
from cwlpilot.semantics.cwl import step as stepmod
from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import PYTHON_ONLY, Evaluator
from cwlpilot.semantics.cwl.params import NotStatic
from cwlpilot.semantics.cwl.template import mark_expansions
from cwlpilot.semantics.cwl.values import PickValueError, merge, refs

files_resolved = files.resolved

SCHEMA_VERSION = "1.0"
SKIPPED_SIZE = 200  # about the JSON size of a `cwl_skipped` stage, counted against limits.MAX_PLAN_BYTES


def compile_plan(
    process: ir.Process, job: Mapping[str, Any], job_dir: str, options: Options | None = None
) -> dict[str, Any]:
    """The plan for `process` run on `job` (inputs relative to `job_dir`), as plain JSON data."""
    process = with_job_requirements(process, job)
    ctx = Context(Ontology(all_schemas(process)), options or Options())
    ev = Evaluator(js=tuple(js_lib(process, ()) or ()), version=process.cwl_version, allow_js=True)
    namespaces = {**job_namespaces(job), **process.namespaces}
    values = {p.id: expanded_formats(input_value(p, job, job_dir), namespaces) for p in process.inputs}
    values = {p.id: with_secondary_files(p, values, ev) for p in process.inputs}
    check_formats(process, values, ctx, process.pos, None)
    if isinstance(process, ir.Workflow):
        produced = _workflow(process, "", values, (), ctx, ())
    else:
        name = _safe(_basename(process.uri))
        ctx.stages.extend(_tool_stages(process, name, values, (), (), ctx))
        produced = {o.id: {"$ref": f"{name}/{o.id}"} for o in process.outputs}
    outputs = {o.id: {"type": port_type(o.type), "value": produced.get(o.id)} for o in process.outputs}
    mark_expansions(ctx.stages)
    return {"schema_version": SCHEMA_VERSION, "stages": ctx.stages, "outputs": outputs}


def _workflow(
    wf: ir.Workflow,
    prefix: str,
    env: Mapping[str, Any],
    chain: tuple[ir.ProcessBase | ir.Step, ...],
    ctx: Context,
    guards: Guards,
) -> dict[str, Any]:
    """Append the stages of `wf`; return the value (with `$ref`s) of each of its outputs."""
    scope: dict[str, Any] = dict(env)  # "input" and "step/port" -> value
    for step in topological(wf):
        name = prefix + step.id
        values = _step_values(wf, step, scope)
        if step.run is None:
            raise UnsupportedError(f"{step.pos}: step '{step.id}': its `run` could not be loaded")
        inner = (*chain, wf, step)
        spec = _step_spec(wf, step, step.run, inner)
        if step.loop is not None:
            _check_name(name, step)
            outs = loop_stage(step, name, spec, values, inner, ctx, guards, body)
            ctx.budget.spend(1, 0, step)  # its templates were counted as they were made
        elif isinstance(step.run, ir.Workflow):
            outs = _subworkflow(step, name, spec, values, inner, ctx, guards)
        else:
            outs = _step_stages(step, name, spec, values, inner, ctx, guards)
        scope.update({f"{step.id}/{k}": v for k, v in outs.items()})
    out = {}
    for o in wf.outputs:
        try:
            out[o.id] = merge([scope.get(s) for s in o.sources], o.link_merge, o.pick_value, len(o.sources) > 1, o.id)
        except PickValueError as exc:
            raise CompilerError(f"{o.pos}: output '{o.id}': {exc}") from None
    return out


def body(run: ir.Process, name: str, env: Mapping[str, Any], chain: tuple[Any, ...], ctx: Context) -> dict[str, Any]:
    """The stages of `run` under `name` with its inputs bound to `env` (a template's body, see
    `compiler.emit_dynamic`); the values of its outputs."""
    if isinstance(run, ir.Workflow):
        return _workflow(run, name + ".", env, chain, ctx, ())
    job = stepmod.tool_job({"declared": [p.id for p in run.inputs]}, env, {})
    new = _tool_stages(run, name, job, chain, (), ctx)
    if chain and isinstance(chain[-1], ir.Step):
        ctx.budget.spend(len(new), sum(len(s["cmd"]) for s in new), chain[-1])
    ctx.stages.extend(new)
    return {o.id: {"$ref": f"{name}/{o.id}"} for o in run.outputs}


def _step_values(wf: ir.Workflow, step: ir.Step, scope: Mapping[str, Any]) -> dict[str, Any]:
    """Each step input's source values merged (no defaults, no valueFrom: see `cwlpilot.cwl.step`)."""
    values: dict[str, Any] = {}
    for inp in step.inputs:
        if not inp.sources:
            values[inp.id] = None
            continue
        try:
            values[inp.id] = merge(
                [scope.get(s) for s in inp.sources], inp.link_merge, inp.pick_value, len(inp.sources) > 1, inp.id
            )
        except PickValueError as exc:
            raise CompilerError(f"{inp.pos}: step '{step.id}': input '{inp.id}': {exc}") from None
    return values


def _step_spec(wf: ir.Workflow, step: ir.Step, run: ir.Process, chain: tuple[Any, ...]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "defaults": {i.id: files_resolved(ir.thaw(i.default), "") for i in step.inputs if i.has_default},
        "valueFrom": {i.id: i.value_from for i in step.inputs if i.value_from is not None},
        "loadContents": [i.id for i in step.inputs if i.load_contents],
        "scatter": list(step.scatter),
        "scatterMethod": step.scatter_method,
        "when": step.when,
        "declared": [p.id for p in run.inputs],
    }
    return {k: v for k, v in spec.items() if v not in (None, [], {})}


def _subworkflow(
    step: ir.Step,
    name: str,
    spec: dict[str, Any],
    values: dict[str, Any],
    chain: tuple[Any, ...],
    ctx: Context,
    guards: Guards,
) -> dict[str, Any]:
    """A sub-workflow flattened into the plan when its instances are known now; otherwise one stage that
    expands it at run time (`compiler.emit_dynamic`)."""
    run = step.run
    assert isinstance(run, ir.Workflow)
    try:
        found, shape = stepmod.instances({**spec, "when": None}, values, PYTHON_ONLY, limits.MAX_STAGES)
    except NotStatic:
        _check_name(name, step)
        outs = subworkflow_stage(step, name, spec, values, chain, ctx, guards, body)
        ctx.budget.spend(1, 0, step)  # its templates were counted as they were made
        return outs
    except CwlError as exc:
        raise CompilerError(f"{step.pos}: step '{step.id}': {exc}") from None
    per_instance = []
    for inst in found:
        inner_guards = guards
        try:
            runs = stepmod.guard(step.when, inst.values, PYTHON_ONLY)
        except NotStatic:
            runs = True
            inner_guards = (*guards, _guard(step.when, inst.values, run, chain))
        except CwlError as exc:
            raise CompilerError(f"{step.pos}: step '{step.id}': {exc}") from None
        outs = {o.id: None for o in step.outputs}
        if runs:
            job = stepmod.tool_job(spec, inst.values, _tool_defaults(run))
            check_formats(run, job, ctx, step.pos, step.id)
            inner_name = sc.instance_name(name, inst.index) + "."
            produced = _workflow(run, inner_name, job, chain, ctx, inner_guards)
            outs = {o.id: produced.get(o.id) for o in step.outputs}
        else:
            ctx.stages.append(_skipped(sc.instance_name(name, inst.index), step, guards))
            ctx.budget.spend(1, SKIPPED_SIZE, step)
        per_instance.append((inst.index, outs))
    if not step.scatter:
        return per_instance[0][1]
    return {o.id: sc.gather([(i, outs[o.id]) for i, outs in per_instance], shape) for o in step.outputs}


def _check_name(name: str, step: ir.Step) -> None:
    """Refuse a stage name that cannot be a folder's (tool stages are checked in `_base_stage`)."""
    problem = limits.name_problem(name)
    if problem:
        raise CompilerError(f"{step.pos}: {problem}")


def _skipped(name: str, step: ir.Step, guards: Guards) -> dict[str, Any]:
    """A step whose `when` is false already at compile time: a stage that only shows it as skipped."""
    stage: dict[str, Any] = {"name": name, "cwd": name, "kind": "cwl_skipped", "cmd": "true",
                             "needs": refs(list(guards)), "resources": {"cpu": 0.1, "mem": 0},
                             "data": {"ports": [o.id for o in step.outputs]}}
    if guards:
        stage["when"] = {"guards": list(guards)}
    return stage


def _guard(expr: str | None, values: Mapping[str, Any], run: ir.Process, chain: tuple[Any, ...]) -> dict[str, Any]:
    return {"expression": expr, "inputs": dict(values), "js": js_lib(run, chain)}


def _step_stages(
    step: ir.Step,
    name: str,
    spec: dict[str, Any],
    values: dict[str, Any],
    chain: tuple[Any, ...],
    ctx: Context,
    guards: Guards,
) -> dict[str, Any]:
    """Append the stages of a tool step; return its outputs' values (counting them in ctx.budget)."""
    run = step.run
    assert run is not None and not isinstance(run, ir.Workflow)
    try:
        found, shape = stepmod.instances(spec, values, PYTHON_ONLY, limits.MAX_STAGES)
    except NotStatic:
        stage = _dynamic_stage(run, name, spec, values, chain, guards, ctx)
        ctx.budget.spend(1, len(stage["cmd"]), step)
        ctx.stages.append(stage)
        return {o.id: {"$ref": f"{name}/{o.id}"} for o in step.outputs}
    except CwlError as exc:
        raise CompilerError(f"{step.pos}: step '{step.id}': {exc}") from None
    per_instance = []
    shared = _shared(run, chain, ctx)
    shared_size: int | None = None
    for inst in found:
        instance = sc.instance_name(name, inst.index)
        job = stepmod.tool_job(spec, inst.values, _tool_defaults(run))
        if inst.runs:
            check_formats(run, job, ctx, step.pos, step.id)
        else:
            ctx.stages.append(_skipped(instance, step, guards))
            ctx.budget.spend(1, SKIPPED_SIZE, step)
        # needs follow every connected input, also those the tool ignores, and those a `valueFrom` replaced
        # (CWL still orders the steps: cwltool never runs a step whose source failed, `--on-error continue` too)
        connected = [inst.values, {k: v for k, v in values.items() if k not in step.scatter}]
        new = _tool_stages(run, instance, job, chain, guards, ctx, connected, shared) if inst.runs else []
        if new:  # one stage per instance; what it shares with the others is sized once per step
            if shared_size is None:
                unscattered = {k: v for k, v in job.items() if k not in spec.get("scatter", ())}
                shared_size = ctx.budget.tool_size(run, shared.data) + values_size(unscattered)
            ctx.budget.spend(1, shared_size + len(new[0]["cmd"]), step)
        ctx.stages.extend(new)
        per_instance.append((inst.index, {o.id: {"$ref": f"{instance}/{o.id}"} if new else None for o in step.outputs}))
    if not step.scatter:
        return per_instance[0][1]
    return {o.id: sc.gather([(i, outs[o.id]) for i, outs in per_instance], shape) for o in step.outputs}


def _tool_defaults(run: ir.Process) -> dict[str, Any]:
    return {p.id: files_resolved(ir.thaw(p.default), "") for p in run.inputs if p.has_default}


class _Shared(NamedTuple):
    """What every stage of one tool under the same requirements carries: its data (without inputs) and its
    resources. Worked out once per tool and set of enclosing requirements, not once per step or instance: a
    10,000-step workflow running one tool needs it once."""

    data: dict[str, Any]
    resources: dict[str, Any]


def _shared(run: ir.Process, chain: tuple[Any, ...], ctx: Context) -> _Shared:
    # the steps and workflows around the tool matter only through their requirements and hints
    key = (id(run), tuple(id(h) for h in chain if h.requirements or h.hints))
    found = ctx.shared.get(key)
    if found is None:
        unsupported_if_docker(run, chain)
        found = ctx.shared[key] = _Shared(tool_body_data(run, chain, ctx), resources(run, chain))
    return found


def _base_stage(
    run: ir.Process,
    name: str,
    chain: tuple[Any, ...],
    pending: Any,
    guards: Guards,
    res: dict[str, Any] | None = None,
) -> dict[str, Any]:
    if res is None:
        unsupported_if_docker(run, chain)  # (checked once with the shared data otherwise)
    problem = limits.name_problem(name)
    if problem:
        at = chain[-1] if chain and isinstance(chain[-1], ir.Step) else run
        raise CompilerError(f"{at.pos}: {problem}")
    stage: dict[str, Any] = {"name": name, "cwd": name, "needs": refs([pending, list(guards)])}
    stage.update(res if res is not None else resources(run, chain))
    if guards:
        stage["when"] = {"guards": list(guards)}
    return stage


def _tool_stages(
    run: ir.Process,
    name: str,
    job: Mapping[str, Any],
    chain: tuple[Any, ...],
    guards: Guards,
    ctx: Context,
    connected: Any = None,
    shared: _Shared | None = None,
) -> list[dict[str, Any]]:
    """The stage running `run` on the tool job `job` (values may still hold `$ref`s).

    With `shared`, the stage's data is a shallow copy of `shared.data`: only its top-level keys are ever
    set or dropped afterwards (`inputs`, `command`, `dependents`), so the nested values can be shared.
    """
    stage = _base_stage(run, name, chain, [job, connected], guards, shared.resources if shared else None)
    data = dict(shared.data) if shared is not None else tool_body_data(run, chain, ctx)
    data["inputs"] = dict(job)
    if isinstance(run, ir.ExpressionTool):
        return [{**stage, "kind": "cwl_expression", "cmd": "", "data": data}]
    try:
        cmd = static_command(data, job, stage)
    except CwlError as exc:  # a binding the command line cannot be built from: the tool's mistake
        raise CompilerError(f"{run.pos}: {exc}") from None
    return [{**stage, "kind": "cwl_tool", "cmd": cmd, "data": data}]


def _dynamic_stage(
    run: ir.Process, name: str, spec: dict[str, Any], values: dict[str, Any], chain: tuple[Any, ...],
    guards: Guards, ctx: Context,
) -> dict[str, Any]:
    """One stage that expands the step at run time (scatter, valueFrom, `when`, defaults)."""
    stage = _base_stage(run, name, chain, values, guards)
    data = tool_body_data(run, chain, ctx)
    data["step"] = {**spec, "in": values}
    if isinstance(run, ir.ExpressionTool):
        return {**stage, "kind": "cwl_expression", "cmd": "", "data": data}
    preview = " ".join(data["command"]["baseCommand"]) + " ..."
    return {**stage, "kind": "cwl_tool", "cmd": preview, "data": data}


def _basename(uri: str) -> str:
    path = unquote(uri.split("#")[0].rsplit("/", 1)[-1])
    return path.rsplit(".", 1)[0] or "tool"


def _safe(name: str) -> str:
    return "".join(c if not c.isspace() and c != "/" else "_" for c in name)
