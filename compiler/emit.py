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
  is decided then: a false one drops the stage and its `$ref`s become null.
Plan `outputs` — {id: {"type", "value"}} where value may hold `$ref`s and `$merge`s, resolved after the run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

from cwlpilot.compiler import ir, limits
from cwlpilot.compiler.budget import Budget, values_size
from cwlpilot.compiler.emit_tool import (
    expand,
    js_lib,
    port_type,
    resources,
    schema_json,
    static_command,
    tool_data,
    unsupported_if_docker,
)
from cwlpilot.compiler.errors import CompilerError, UnsupportedError
from cwlpilot.compiler.graph import topological
from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl import scatter as sc
from cwlpilot.semantics.cwl import step as stepmod
from cwlpilot.semantics.cwl.collect import with_secondary
from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import PYTHON_ONLY, Evaluator
from cwlpilot.semantics.cwl.params import NotStatic
from cwlpilot.semantics.cwl.staging import record_secondary
from cwlpilot.semantics.cwl.values import PickValueError, merge, refs

files_resolved = files.resolved

SCHEMA_VERSION = "1.0"
Guards = tuple[dict[str, Any], ...]


def compile_plan(process: ir.Process, job: Mapping[str, Any], job_dir: str) -> dict[str, Any]:
    """The plan for `process` run on `job` (inputs relative to `job_dir`), as plain JSON data."""
    process = _with_job_requirements(process, job)
    ev = Evaluator(js=tuple(js_lib(process, ()) or ()), version=process.cwl_version, allow_js=True)
    values = {p.id: _formats(_input_value(p, job, job_dir), process.namespaces) for p in process.inputs}
    values = {p.id: _secondary(p, values, ev) for p in process.inputs}
    stages: list[dict[str, Any]] = []
    if isinstance(process, ir.Workflow):
        produced = _workflow(process, "", values, (), stages, (), Budget())
    else:
        name = _safe(_basename(process.uri))
        stages.extend(_tool_stages(process, name, values, (), ()))
        produced = {o.id: {"$ref": f"{name}/{o.id}"} for o in process.outputs}
    outputs = {o.id: {"type": port_type(o.type), "value": produced.get(o.id)} for o in process.outputs}
    _mark_expansions(stages)
    return {"schema_version": SCHEMA_VERSION, "stages": stages, "outputs": outputs}


def _mark_expansions(stages: list[dict[str, Any]]) -> None:
    """A tool scattered over an upstream array adds one stage per instance when it runs, and a gather
    stage; `data.dependents` names the stages that read its outputs, which must wait for that gather."""
    readers: dict[str, list[str]] = {}
    for stage in stages:
        for need in stage["needs"]:
            readers.setdefault(need, []).append(stage["name"])
    for stage in stages:
        step = stage["data"].get("step") or {}
        if stage["kind"] == "cwl_tool" and step.get("scatter"):
            stage["data"]["dependents"] = readers.get(stage["name"], [])


def _with_job_requirements(process: ir.Process, job: Mapping[str, Any]) -> ir.Process:
    """`cwl:requirements` in the inputs file: requirements that rank before the document's own."""
    extra = job.get("cwl:requirements") or []
    reqs = tuple(
        ir.Requirement(str(r["class"]), ir.freeze({k: v for k, v in r.items() if k != "class"}), process.pos)
        for r in extra
        if isinstance(r, Mapping) and "class" in r
    )
    return replace(process, requirements=reqs + process.requirements) if reqs else process


def _formats(value: Any, namespaces: Mapping[str, str]) -> Any:
    """File formats written with a `$namespaces` prefix (`edam:format_1929`) as full IRIs."""
    return files.walk(
        value, lambda obj: {**obj, "format": expand(obj["format"], namespaces)} if "format" in obj else obj
    )


def _input_value(param: ir.InputParam, job: Mapping[str, Any], job_dir: str) -> Any:
    given = job.get(param.id)
    value = files_resolved(given, job_dir) if given is not None else files_resolved(ir.thaw(param.default), "")
    if param.load_contents or (param.binding is not None and param.binding.load_contents):
        value = stepmod.with_contents(value)  # reads the input files: they are known now
    return value


def _secondary(param: ir.InputParam, values: dict[str, Any], ev: Evaluator) -> Any:
    """The run's own inputs are where secondaryFiles are looked for on disk; steps only check them."""
    value = values[param.id]
    context: dict[str, Any] = {"inputs": values, "self": None, "runtime": {}}
    if param.secondary_files:
        patterns = ir.thaw(param.secondary_files)
        value = files.walk_top(value, lambda obj: with_secondary(obj, patterns, context, ev, True, True))
    if isinstance(param.type, ir.RecordType):
        value = record_secondary(value, schema_json(param.type), context, ev, True)
    return value


def _workflow(
    wf: ir.Workflow,
    prefix: str,
    env: Mapping[str, Any],
    chain: tuple[ir.ProcessBase | ir.Step, ...],
    stages: list[dict[str, Any]],
    guards: Guards,
    budget: Budget,
) -> dict[str, Any]:
    """Append the stages of `wf`; return the value (with `$ref`s) of each of its outputs."""
    scope: dict[str, Any] = dict(env)  # "input" and "step/port" -> value
    for step in topological(wf):
        name = prefix + step.id
        values = _step_values(wf, step, scope)
        if step.run is None:
            raise UnsupportedError(f"{step.pos}: step '{step.id}': its `run` could not be loaded")
        spec = _step_spec(wf, step, step.run, (*chain, wf, step))
        if isinstance(step.run, ir.Workflow):
            outs = _subworkflow(step, name, spec, values, (*chain, wf, step), stages, guards, budget)
        else:
            new, outs = _step_stages(step, name, spec, values, (*chain, wf, step), guards, budget)
            stages.extend(new)
        scope.update({f"{step.id}/{k}": v for k, v in outs.items()})
    out = {}
    for o in wf.outputs:
        try:
            out[o.id] = merge([scope.get(s) for s in o.sources], o.link_merge, o.pick_value, len(o.sources) > 1)
        except PickValueError as exc:
            raise CompilerError(f"{o.pos}: output '{o.id}': {exc}") from None
    return out


def _step_values(wf: ir.Workflow, step: ir.Step, scope: Mapping[str, Any]) -> dict[str, Any]:
    """Each step input's source values merged (no defaults, no valueFrom: see `cwlpilot.cwl.step`)."""
    values: dict[str, Any] = {}
    for inp in step.inputs:
        if not inp.sources:
            values[inp.id] = None
            continue
        try:
            values[inp.id] = merge(
                [scope.get(s) for s in inp.sources], inp.link_merge, inp.pick_value, len(inp.sources) > 1
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
    stages: list[dict[str, Any]],
    guards: Guards,
    budget: Budget,
) -> dict[str, Any]:
    run = step.run
    assert isinstance(run, ir.Workflow)
    try:
        found, shape = stepmod.instances({**spec, "when": None}, values, PYTHON_ONLY, limits.MAX_STAGES)
    except NotStatic as exc:
        raise UnsupportedError(
            f"{step.pos}: step '{step.id}': a sub-workflow scattered over, or fed by valueFrom on, values "
            "produced upstream is not supported yet"
        ) from exc
    per_instance = []
    for inst in found:
        inner_guards = guards
        try:
            runs = stepmod.guard(step.when, inst.values, PYTHON_ONLY)
        except NotStatic:
            runs = True
            inner_guards = (*guards, _guard(step.when, inst.values, run, chain))
        outs = {o.id: None for o in step.outputs}
        if runs:
            inner_name = sc.instance_name(name, inst.index) + "."
            produced = _workflow(run, inner_name, inst.values, chain, stages, inner_guards, budget)
            outs = {o.id: produced.get(o.id) for o in step.outputs}
        per_instance.append((inst.index, outs))
    if not step.scatter:
        return per_instance[0][1]
    return {o.id: sc.gather([(i, outs[o.id]) for i, outs in per_instance], shape) for o in step.outputs}


def _guard(expr: str | None, values: Mapping[str, Any], run: ir.Process, chain: tuple[Any, ...]) -> dict[str, Any]:
    return {"expression": expr, "inputs": dict(values), "js": js_lib(run, chain)}


def _step_stages(
    step: ir.Step,
    name: str,
    spec: dict[str, Any],
    values: dict[str, Any],
    chain: tuple[Any, ...],
    guards: Guards,
    budget: Budget,
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    run = step.run
    assert run is not None and not isinstance(run, ir.Workflow)
    try:
        found, shape = stepmod.instances(spec, values, PYTHON_ONLY, limits.MAX_STAGES)
    except NotStatic:
        stage = _dynamic_stage(run, name, spec, values, chain, guards)
        budget.spend(1, len(stage["cmd"]), step)
        return [stage], {o.id: {"$ref": f"{name}/{o.id}"} for o in step.outputs}
    except CwlError as exc:
        raise CompilerError(f"{step.pos}: step '{step.id}': {exc}") from None
    stages, per_instance = [], []
    shared: _Shared | None = None
    shared_size = 0
    for inst in found:
        instance = sc.instance_name(name, inst.index)
        job = stepmod.tool_job(spec, inst.values, _tool_defaults(run))
        if inst.runs and shared is None:  # the same for every instance: worked out once per step
            shared = _Shared(tool_data(run, chain), resources(run, chain))
            unscattered = {k: v for k, v in job.items() if k not in spec.get("scatter", ())}
            shared_size = budget.tool_size(run, shared.data) + values_size(unscattered)
        # needs follow every connected input, also those the tool ignores (CWL still orders the steps)
        new = _tool_stages(run, instance, job, chain, guards, inst.values, shared) if inst.runs else []
        if new:  # one stage per instance
            budget.spend(1, shared_size + len(new[0]["cmd"]), step)
        stages.extend(new)
        per_instance.append((inst.index, {o.id: {"$ref": f"{instance}/{o.id}"} if new else None for o in step.outputs}))
    if not step.scatter:
        return stages, per_instance[0][1]
    return stages, {o.id: sc.gather([(i, outs[o.id]) for i, outs in per_instance], shape) for o in step.outputs}


def _tool_defaults(run: ir.Process) -> dict[str, Any]:
    return {p.id: files_resolved(ir.thaw(p.default), "") for p in run.inputs if p.has_default}


class _Shared(NamedTuple):
    """What every stage of one tool in one place carries: its data (without inputs) and its resources."""

    data: dict[str, Any]
    resources: dict[str, Any]


def _base_stage(
    run: ir.Process,
    name: str,
    chain: tuple[Any, ...],
    pending: Any,
    guards: Guards,
    res: dict[str, Any] | None = None,
) -> dict[str, Any]:
    unsupported_if_docker(run, chain)
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
    connected: Mapping[str, Any] | None = None,
    shared: _Shared | None = None,
) -> list[dict[str, Any]]:
    """The stage running `run` on the tool job `job` (values may still hold `$ref`s).

    With `shared`, the stage's data is a shallow copy of `shared.data`: only its top-level keys are ever
    set or dropped afterwards (`inputs`, `command`, `dependents`), so the nested values can be shared.
    """
    stage = _base_stage(run, name, chain, [job, connected], guards, shared.resources if shared else None)
    data = dict(shared.data) if shared is not None else tool_data(run, chain)
    data["inputs"] = dict(job)
    if isinstance(run, ir.ExpressionTool):
        return [{**stage, "kind": "cwl_expression", "cmd": "", "data": data}]
    try:
        cmd = static_command(data, job, stage)
    except CwlError as exc:  # a binding the command line cannot be built from: the tool's mistake
        raise CompilerError(f"{run.pos}: {exc}") from None
    return [{**stage, "kind": "cwl_tool", "cmd": cmd, "data": data}]


def _dynamic_stage(
    run: ir.Process, name: str, spec: dict[str, Any], values: dict[str, Any], chain: tuple[Any, ...], guards: Guards
) -> dict[str, Any]:
    """One stage that expands the step at run time (scatter, valueFrom, `when`, defaults)."""
    stage = _base_stage(run, name, chain, values, guards)
    data = tool_data(run, chain)
    data["step"] = {**spec, "in": values}
    if isinstance(run, ir.ExpressionTool):
        return {**stage, "kind": "cwl_expression", "cmd": "", "data": data}
    preview = " ".join(data["command"]["baseCommand"]) + " ..."
    return {**stage, "kind": "cwl_tool", "cmd": preview, "data": data}


def _basename(uri: str) -> str:
    path = uri.split("#")[0].rsplit("/", 1)[-1]
    return path.rsplit(".", 1)[0] or "tool"


def _safe(name: str) -> str:
    return "".join(c if not c.isspace() and c != "/" else "_" for c in name)
