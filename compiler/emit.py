"""Emitting a stages plan (schemas/stages.schema.json) from a loaded workflow and its inputs.

Sub-workflows are flattened into namespaced stages (`outer.inner`), scatter over arrays known at
compile time becomes one stage per instance (`step[0]`, `step[1]`, nested `step[0][1]`), and every
command whose values are known is written out in `cmd`. Pure: paths are joined, never touched.

Data contract of the stages this module writes (read by the executor's handlers in executor/kinds/):

kind `cwl_tool` — a CommandLineTool instance; it runs in `cwd` (the stage name).
  data.inputs   the CWL job object of the stage. Known values are plain JSON (File/Directory as
                `{"class", "path" (absolute), "basename", "nameroot", "nameext", "dirname"}`);
                a value produced upstream is `{"$ref": "STAGE/PORT"}` (a list of those after a gather,
                `null` when STAGE was skipped by its `when`).
  data.command  present only when `cmd` could not be built at compile time: the plain tool
                description (`baseCommand`, `arguments`, `inputs` {name: {type, inputBinding}},
                `stdin`/`stdout`/`stderr`, `shellCommand`) from which the handler builds the command
                once the `$ref`s are resolved; `cmd` then holds only a readable preview.
  data.outputs  {port: {"type", "glob": [...], "outputEval", "loadContents", "streamable"}}: what to
                collect after the command (stdout/stderr ports have the redirect file as their glob).
                The handler writes the stage's CWL output object to `<cwd>/.cwlpilot/outputs.json`;
                `$ref`s of later stages point into it.
  data.codes    {"success": [...], "temporaryFail": [...], "permanentFail": [...]} when set.
kind `cwl_expression` — an ExpressionTool: the handler evaluates data.expression (with
  data.inputs, data.expressionLib) in-process and writes the result as the outputs file; `cmd` is "".
`when` (stage key) — `{"expression": E, "inputs": {...}}`: a CWL `when` the handler evaluates on the
  step's input values (`$ref`s resolved); false skips the stage and its outputs are null. A guard that
  is known at compile time is decided then: a false one drops the stage and its `$ref`s become null.
Plan `outputs` — {id: {"type", "value"}} where value may hold `$ref`s, resolved after the run.
"""

from __future__ import annotations

import os
import posixpath
import shlex
from collections.abc import Mapping
from typing import Any

from compiler import ir
from compiler import scatter as sc
from cwlpilot.cwl.cmdline import command_line
from compiler.errors import UnsupportedError
from compiler.graph import topological
from cwlpilot.cwl.params import NotStatic, evaluate, has_expression

SCHEMA_VERSION = "1.0"
_DYNAMIC = {"$ref": "runtime"}  # runtime values known only once the stage runs


def compile_plan(process: ir.Process, job: Mapping[str, Any], job_dir: str) -> dict[str, Any]:
    """The plan for `process` run on `job` (inputs relative to `job_dir`), as plain JSON data."""
    values = {p.id: _input_value(p, job, job_dir) for p in process.inputs}
    stages: list[dict[str, Any]] = []
    if isinstance(process, ir.Workflow):
        produced = _workflow(process, "", values, (), stages)
    else:
        name = _safe(_basename(process.uri))
        stages.extend(_tool_stages(process, name, values, (), None))
        produced = {o.id: {"$ref": f"{name}/{o.id}"} for o in process.outputs}
    outputs = {o.id: {"type": _port_type(o.type), "value": produced.get(o.id)} for o in process.outputs}
    return {"schema_version": SCHEMA_VERSION, "stages": stages, "outputs": outputs}


def _input_value(param: ir.InputParam, job: Mapping[str, Any], job_dir: str) -> Any:
    value = job[param.id] if param.id in job else ir.thaw(param.default)
    return files_resolved(value, job_dir)


def files_resolved(value: Any, base: str) -> Any:
    """File and Directory objects with absolute `path` and the derived name fields CWL defines."""
    if isinstance(value, list):
        return [files_resolved(v, base) for v in value]
    if not isinstance(value, Mapping):
        return value
    if value.get("class") not in ("File", "Directory") or "contents" in value:
        return {k: files_resolved(v, base) for k, v in value.items()}
    where = str(value.get("path") or value.get("location") or "")
    path = os.path.normpath(os.path.join(base, where.removeprefix("file://")))
    resolved = {**value, "path": path, "basename": posixpath.basename(path)}
    resolved["dirname"] = posixpath.dirname(path)
    resolved.pop("location", None)
    if value["class"] == "File":
        root, ext = posixpath.splitext(resolved["basename"])
        resolved.update(nameroot=root, nameext=ext)
    return resolved


def _workflow(
    wf: ir.Workflow,
    prefix: str,
    env: Mapping[str, Any],
    chain: tuple[ir.ProcessBase | ir.Step, ...],
    stages: list[dict[str, Any]],
) -> dict[str, Any]:
    """Append the stages of `wf`; return the value (with `$ref`s) of each of its outputs."""
    scope: dict[str, Any] = dict(env)  # "input" and "step/port" -> value
    for step in topological(wf):
        name = prefix + step.id
        values = _step_values(wf, step, scope)
        if isinstance(step.run, ir.Workflow):
            if step.scatter or step.when:
                raise UnsupportedError(f"{step.pos}: step '{step.id}': scatter or `when` on a sub-workflow")
            inner = _workflow(step.run, name + ".", values, (*chain, wf, step), stages)
            scope.update({f"{step.id}/{k}": v for k, v in inner.items()})
            continue
        if step.run is None:
            raise UnsupportedError(f"{step.pos}: step '{step.id}': its `run` could not be loaded")
        new, outs = _step_stages(step, name, values, (*chain, wf, step))
        stages.extend(new)
        scope.update({f"{step.id}/{k}": v for k, v in outs.items()})
    return {
        o.id: _merge(
            [scope.get(s) for s in o.sources], o.link_merge, o.pick_value, f"{o.pos}: output '{o.id}'"
        )
        for o in wf.outputs
    }


def _step_values(wf: ir.Workflow, step: ir.Step, scope: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for inp in step.inputs:
        value = None
        if inp.sources:
            where = f"{inp.pos}: step '{step.id}': input '{inp.id}'"
            value = _merge([scope.get(s) for s in inp.sources], inp.link_merge, inp.pick_value, where)
        values[inp.id] = ir.thaw(inp.default) if value is None and inp.has_default else value
    for inp in step.inputs:
        if inp.value_from is not None:
            try:
                values[inp.id] = evaluate(inp.value_from, {"inputs": values, "self": values[inp.id]})
            except NotStatic as exc:
                raise UnsupportedError(
                    f"{inp.pos}: step '{step.id}': `valueFrom` needing run-time values is not supported yet"
                ) from exc
    return values


def _merge(values: list[Any], link_merge: str | None, pick_value: str | None, where: str) -> Any:
    if len(values) == 1 and link_merge is None:
        merged: Any = values[0]
    elif link_merge == "merge_flattened":
        merged = [x for v in values for x in (v if isinstance(v, list) else [v])]
    else:
        merged = list(values)
    if pick_value is None:
        return merged
    candidates = merged if isinstance(merged, list) else [merged]
    if any(isinstance(v, Mapping) and "$ref" in v for v in candidates):
        raise UnsupportedError(f"{where}: `pickValue` over values produced upstream is not supported yet")
    present = [v for v in candidates if v is not None]
    return present if pick_value == "all_non_null" else (present[0] if present else None)


def _step_stages(
    step: ir.Step, name: str, values: dict[str, Any], chain: tuple[Any, ...]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    run = step.run
    assert run is not None and not isinstance(run, ir.Workflow)
    if not step.scatter:
        stages = _tool_stages(run, name, values, chain, step.when)
        return stages, {o.id: _ref(name, o.id, stages) for o in step.outputs}
    stages, per_instance = [], []
    for index, instance_values in sc.instances(values, step.scatter, step.scatter_method):
        instance = sc.instance_name(name, index)
        new = _tool_stages(run, instance, instance_values, chain, step.when)
        stages.extend(new)
        per_instance.append((index, instance, new))
    shape = sc.shape(values, step.scatter, step.scatter_method)
    outs = {
        o.id: sc.gather([(i, _ref(n, o.id, new)) for i, n, new in per_instance], shape) for o in step.outputs
    }
    return stages, outs


def _ref(stage: str, port: str, emitted: list[dict[str, Any]]) -> dict[str, str] | None:
    """A reference to a stage's output, or null when the stage was statically skipped."""
    return {"$ref": f"{stage}/{port}"} if emitted else None


def _tool_stages(
    run: ir.Process, name: str, values: Mapping[str, Any], chain: tuple[Any, ...], when: str | None
) -> list[dict[str, Any]]:
    """The stage running `run` on the step input `values` (none when `when` is statically false)."""
    job = {p.id: _job_value(p, values) for p in run.inputs}
    if when is not None:
        try:
            if evaluate(when, {"inputs": values, "self": None}) is False:
                return []  # statically false: the step never runs; its outputs stay null
            when = None
        except NotStatic:
            pass
    stage: dict[str, Any] = {"name": name, "cwd": name, "needs": _needs([job, values] if when else job)}
    stage.update(_resources(run, chain))
    if when is not None:
        # the guard reads the step's inputs, which may include some the tool does not declare
        stage["when"] = {"expression": when, "inputs": dict(values)}
    if isinstance(run, ir.ExpressionTool):
        lib = _requirement(run, chain, "InlineJavascriptRequirement")
        data = {"inputs": job, "expression": run.expression}
        data["expressionLib"] = ir.thaw(lib.fields.get("expressionLib", [])) if lib else []
        return [{**stage, "kind": "cwl_expression", "cmd": "", "data": data}]
    assert isinstance(run, ir.CommandLineTool)
    return [{**stage, "kind": "cwl_tool", **_command(run, job, stage)}]


def _job_value(param: ir.InputParam, values: Mapping[str, Any]) -> Any:
    value = values.get(param.id)
    return ir.thaw(param.default) if value is None and param.has_default else value


def _needs(job: Any) -> list[str]:
    found: dict[str, None] = {}

    def walk(value: Any) -> None:
        if isinstance(value, Mapping):
            if "$ref" in value:
                found[str(value["$ref"]).split("/")[0]] = None
            else:
                for v in value.values():
                    walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(job)
    return list(found)


def _command(tool: ir.CommandLineTool, job: dict[str, Any], stage: Mapping[str, Any]) -> dict[str, Any]:
    description = tool_description(tool)
    resources = stage.get("resources", {})
    runtime = {"cores": resources.get("cpu"), "ram": resources.get("mem")}
    runtime.update(outdir=_DYNAMIC, tmpdir=_DYNAMIC)
    data: dict[str, Any] = {"inputs": job, "outputs": _outputs(tool)}
    codes = {
        "success": tool.success_codes,
        "temporaryFail": tool.temporary_fail_codes,
        "permanentFail": tool.permanent_fail_codes,
    }
    if any(codes.values()):
        data["codes"] = {k: list(v) for k, v in codes.items()}
    try:
        cmd = command_line(description, job, runtime)
    except NotStatic:
        data["command"] = description
        cmd = shlex.join(tool.base_command) + " ..."
    return {"cmd": cmd, "data": data}


def tool_description(tool: ir.CommandLineTool) -> dict[str, Any]:
    """The plain data `cwlpilot.cwl.cmdline` builds a command line from (see the module docstring)."""
    return {
        "baseCommand": list(tool.base_command),
        "arguments": [_binding(a.binding) for a in tool.arguments],
        "inputs": {
            p.id: {"type": ir.type_str(p.type), "inputBinding": _binding(p.binding) if p.binding else None}
            for p in tool.inputs
        },
        "stdin": tool.stdin,
        "stdout": tool.stdout or _stream_name(tool, "stdout"),
        "stderr": tool.stderr or _stream_name(tool, "stderr"),
        "shellCommand": tool.requirement("ShellCommandRequirement") is not None,
    }


def _stream_name(tool: ir.CommandLineTool, kind: str) -> str | None:
    # an output of type stdout/stderr without a file name gets a fixed one (CWL leaves it random)
    return f"{kind}.txt" if any(o.type == kind for o in tool.outputs) else None


def _binding(b: ir.InputBinding) -> dict[str, Any]:
    raw = {
        "position": b.position,
        "prefix": b.prefix,
        "separate": b.separate,
        "itemSeparator": b.item_separator,
        "valueFrom": b.value_from,
        "shellQuote": b.shell_quote,
    }
    return {k: v for k, v in raw.items() if v is not None}


def _outputs(tool: ir.CommandLineTool) -> dict[str, Any]:
    outs = {}
    for o in tool.outputs:
        glob = list(o.binding.glob) if o.binding else []
        if o.type in ("stdout", "stderr"):
            glob = [getattr(tool, o.type) or f"{o.type}.txt"]
        outs[o.id] = {
            "type": _port_type(o.type),
            "glob": glob,
            "outputEval": o.binding.output_eval if o.binding else None,
            "loadContents": bool(o.binding and o.binding.load_contents),
        }
    return outs


def _port_type(t: ir.CwlType) -> str:
    return "File" if t in ("stdout", "stderr") else ir.type_str(t)


def _requirement(run: ir.Process, chain: tuple[Any, ...], cls: str) -> ir.Requirement | None:
    """`cls` from the tool itself, else from the nearest enclosing step or workflow."""
    found = run.requirement(cls)
    for holder in reversed(chain):
        if found is not None:
            break
        for group in (holder.requirements, holder.hints):
            found = found or next((r for r in group if r.cls == cls), None)
    return found


def _resources(run: ir.Process, chain: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    req = _requirement(run, chain, "ResourceRequirement")
    fields = req.fields if req else {}
    cpu = _static_number(fields.get("coresMin", fields.get("coresMax", 1)))
    mem = _static_number(fields.get("ramMin", fields.get("ramMax", 256)))
    out["resources"] = {"cpu": cpu, "mem": mem}
    limit = _requirement(run, chain, "ToolTimeLimit")
    seconds = _static_number(limit.fields.get("timelimit")) if limit else -1
    if seconds > 0:
        out["timeout"] = seconds
    env = _requirement(run, chain, "EnvVarRequirement")
    if env is not None:
        out["env"] = _env(env)
    return out


def _static_number(value: Any) -> float | int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return -1  # an expression: unknown at compile time


def _env(req: ir.Requirement) -> dict[str, str]:
    defs = ir.thaw(req.fields.get("envDef", []))
    pairs = defs.items() if isinstance(defs, dict) else ((d.get("envName"), d.get("envValue")) for d in defs)
    env = {}
    for key, value in pairs:
        if has_expression(str(value)):
            raise UnsupportedError(f"{req.pos}: EnvVarRequirement with expressions is not supported yet")
        env[str(key)] = str(value)
    return env


def _basename(uri: str) -> str:
    path = uri.split("#")[0].rsplit("/", 1)[-1]
    return path.rsplit(".", 1)[0] or "tool"


def _safe(name: str) -> str:
    return "".join(c if not c.isspace() and c != "/" else "_" for c in name)
