"""Steps whose stages are known only at run time: sub-workflows over upstream values, and cwltool loops.

`compiler.emit` flattens a sub-workflow into stages when its instances are known at compile time. When
they depend on values produced upstream (a scatter over an upstream array, a `valueFrom` or `loadContents`
reading one), or when the step is a `cwltool:Loop`, the step becomes one stage whose kind adds the body's
stages when it runs; the body is compiled once, as templates (`cwlpilot.semantics.cwl.template`).

Data contract (read by `executor/kinds/cwl_dynamic.py`):

kind `cwl_subworkflow` — a sub-workflow step expanded at run time. `cmd` is `true`.
  data.step        `{"in": step input values, "scatter", "scatterMethod", "valueFrom", "defaults", "when",
                   "loadContents", "declared"}` as `cwlpilot.semantics.cwl.step` reads it.
  data.js, data.version   for the step's `valueFrom` and `when`.
  data.marker, data.templates   the body's stages (names start with the marker, the body's inputs are
                   `{"$ref": MARKER + "in/PORT"}`); data.outputs {port: value} the body's outputs in terms
                   of those stages; data.ports the step's outputs; data.inputDefaults the body's own
                   input defaults.
  data.formats, data.ontology   the body's input formats (see `compiler.formats`), when it declares any.
  data.dependents  the stages reading this stage's outputs.
  When it runs, each instance whose `when` holds becomes the templates instantiated (`NAME[i]`, or `NAME`
  without scatter) and a stage `NAME#gather` (kind `cwl_gather`, data.values) writes NAME's outputs once
  they are done; the dependents wait for it.
kind `cwl_loop` — a `cwltool:Loop` step. data.step, data.js (the step's requirements: later loopWhen
  evaluations and the `loop` valueFroms), data.jsFirst (the workflow's: the first loopWhen, as cwltool),
  data.inIds (the step's `in` ids: only these reach the body, as in cwltool's `WorkflowStep.job`),
  data.marker/templates/outputs/ports/inputDefaults/formats as above, data.dependents, and data.loop:
  `{"when": loopWhen, "outputMethod": "last"|"all", "max": N, "entries": [{"id", "sources",
  "linkMerge", "pickValue", "default" (when given), "valueFrom"}], "stepInputExpression": bool,
  "multipleInput": bool}`. When it runs: loopWhen false at once gives null (`last`) or [] (`all`) outputs
  and the stage shows as skipped; otherwise iteration 0 (`NAME#0...`) and its junction `NAME#0#next`
  (kind `cwl_loop_next`) are added; each junction reads its iteration's outputs, feeds the loop back,
  evaluates loopWhen and adds the next iteration, or writes NAME's outputs. More than `max` iterations
  fail the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cwlpilot.compiler import ir
from cwlpilot.compiler.budget import Budget
from cwlpilot.compiler.emit_tool import js_lib, tool_data
from cwlpilot.compiler.formats import Ontology, allowed_formats, input_formats
from cwlpilot.compiler.validate import declares
from cwlpilot.semantics.cwl import files, template
from cwlpilot.semantics.cwl.values import refs

Guards = tuple[dict[str, Any], ...]
DEFAULT_MAX_LOOP_ITERATIONS = 1000  # cwltool has no limit; a loop still going after this many fails


@dataclass(frozen=True)
class Options:
    """What a compile may be told: the max-iteration guard of CWL loops."""

    max_loop_iterations: int = DEFAULT_MAX_LOOP_ITERATIONS


@dataclass
class Context:
    """What one compile shares: where the stages go, the formats' ontology, the options, and what the plan
    has taken so far of compiler.limits (a template's stages are written in the plan too)."""

    ontology: Ontology
    options: Options = field(default_factory=Options)
    stages: list[dict[str, Any]] = field(default_factory=list)
    shared: dict[Any, Any] = field(default_factory=dict)  # what `compiler.emit` works out once per tool
    budget: Budget = field(default_factory=Budget)

    def nested(self) -> Context:
        """A context whose stages are a template's (the same ontology, options, cache and budget)."""
        return Context(self.ontology, self.options, shared=self.shared, budget=self.budget)

    def with_formats(self, data: dict[str, Any], run: ir.Process) -> dict[str, Any]:
        """`data` with the input formats of `run` and their ontology, when it declares any."""
        specs = input_formats(run)
        if specs:
            data["formats"] = specs
            closure = self.ontology.closure(set().union(*(allowed_formats(s) for s in specs.values())))
            if closure:
                data["ontology"] = closure
        return data


# emit.body, handed in by the caller: the stages of a process run under a name, with its inputs bound to
# `env`, and the values of its outputs (passing it keeps this module below emit.py, not in a cycle)
EmitBody = Callable[[ir.Process, str, Mapping[str, Any], tuple[Any, ...], Context], dict[str, Any]]


def subworkflow_stage(
    step: ir.Step, name: str, spec: dict[str, Any], values: dict[str, Any], chain: tuple[Any, ...],
    ctx: Context, guards: Guards, body: EmitBody,
) -> dict[str, Any]:
    """Append the stage that expands `step` (a sub-workflow) at run time; return its outputs' values."""
    run = step.run
    assert run is not None
    stage = _expander(step, run, name, "cwl_subworkflow", values, chain, ctx, guards, body)
    stage["data"].update(step={**spec, "in": values}, js=js_lib(run, chain))
    ctx.stages.append(stage)
    return {o.id: {"$ref": f"{name}/{o.id}"} for o in step.outputs}


def loop_stage(
    step: ir.Step, name: str, spec: dict[str, Any], values: dict[str, Any], chain: tuple[Any, ...],
    ctx: Context, guards: Guards, body: EmitBody,
) -> dict[str, Any]:
    """Append the stage of a `cwltool:Loop` step; return its outputs' values."""
    run, loop = step.run, step.loop
    assert run is not None and loop is not None
    stage = _expander(step, run, name, "cwl_loop", values, chain, ctx, guards, body)
    holders = tuple(reversed(chain))  # the step, then its workflow outwards (not the process it runs)
    entries = []
    for e in loop.inputs:
        entry: dict[str, Any] = {"id": e.id, "sources": list(e.sources), "linkMerge": e.link_merge,
                                 "pickValue": e.pick_value, "valueFrom": e.value_from}
        if e.has_default:
            entry["default"] = files.resolved(ir.thaw(e.default), "")
        entries.append(entry)
    stage["data"].update(
        step={**spec, "in": values},
        js=_js(holders),
        jsFirst=_js(holders[1:]),
        inIds=[i.id for i in step.inputs],
        loop={
            "when": loop.when,
            "outputMethod": loop.output_method,
            "max": ctx.options.max_loop_iterations,
            "entries": entries,
            "stepInputExpression": declares(holders, "StepInputExpressionRequirement"),
            "multipleInput": declares(holders, "MultipleInputFeatureRequirement"),
        },
    )
    ctx.stages.append(stage)
    return {o.id: {"$ref": f"{name}/{o.id}"} for o in step.outputs}


def _expander(
    step: ir.Step, run: ir.Process, name: str, kind: str, values: dict[str, Any], chain: tuple[Any, ...],
    ctx: Context, guards: Guards, body: EmitBody,
) -> dict[str, Any]:
    """The stage that adds the body's stages at run time, with the body compiled as templates."""
    mark = template.marker(name)
    inner = ctx.nested()
    env = {p.id: template.input_ref(mark, p.id) for p in run.inputs}
    produced = body(run, mark, env, chain, inner)
    template.mark_expansions(inner.stages)
    data: dict[str, Any] = {
        "version": run.cwl_version or "v1.2",
        "marker": mark,
        "templates": inner.stages,
        "outputs": {o.id: produced.get(o.id) for o in step.outputs},
        "ports": [o.id for o in step.outputs],
        "inputDefaults": {p.id: files.resolved(ir.thaw(p.default), "") for p in run.inputs if p.has_default},
    }
    stage: dict[str, Any] = {
        "name": name,
        "cwd": name,
        "kind": kind,
        "cmd": "true",
        "needs": refs([values, list(guards)]),
        "resources": {"cpu": 0.1, "mem": 0},
        "data": ctx.with_formats(data, run),
    }
    if guards:
        stage["when"] = {"guards": list(guards)}
    return stage


def _js(holders: tuple[Any, ...]) -> list[str] | None:
    """The expressionLib when InlineJavascriptRequirement applies at `holders[0]` (requirements, then
    hints, nearest first), else None."""
    for group in ("requirements", "hints"):
        for holder in holders:
            req = next((r for r in getattr(holder, group) if r.cls == "InlineJavascriptRequirement"), None)
            if req is not None:
                return [str(x) for x in ir.thaw(req.fields.get("expressionLib") or [])]
    return None


def tool_body_data(run: ir.Process, chain: tuple[Any, ...], ctx: Context) -> dict[str, Any]:
    """A tool's stage data with its input formats (what `compiler.emit` gives every tool stage)."""
    return ctx.with_formats(tool_data(run, chain), run)
