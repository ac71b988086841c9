"""The CWL stage kinds that add stages when they run: `cwl_subworkflow` (a sub-workflow scattered over, or
fed by, values produced upstream), `cwl_loop` and `cwl_loop_next` (cwltool's Loop, one iteration at a
time), and `cwl_skipped` (a step whose `when` was false at compile time).

The data contract is in `compiler/emit_dynamic.py`. The body's stages come as templates
(`cwlpilot.semantics.cwl.template`); what an instance or an iteration adds is written to
`.cwlpilot/expansion.json` in the stage's cwd at prepare time and handed to the store by `expand`, which
records it in the same transaction as the stage's end: a killed run resumes at the instance or the
iteration it was in.

Loop semantics follow cwltool 3.3 (`workflow_job.py`: `WorkflowJob.try_make_job`, `WorkflowJobLoopStep`):
loopWhen is evaluated before the first iteration (false: null or [] outputs, the step shows as skipped)
and after each one, on the step's inputs as fed back; iterations run one after the other; the `loop`
entries are merged like step inputs (linkMerge, pickValue, then default), then their valueFroms are
evaluated with `self` the merged value and `inputs` the previous iteration's inputs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from cwlpilot.executor.kinds import Expansion, KindError, Prepared, StageContext
from cwlpilot.executor.kinds.cwl import (
    _USER_ERRORS,
    EXPANSION,
    _CwlKind,
    _data,
    check_formats,
    written_expansion,
)
from cwlpilot.executor.plan import Stage
from cwlpilot.semantics.cwl import scatter as sc
from cwlpilot.semantics.cwl import step as stepmod
from cwlpilot.semantics.cwl import template
from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import Evaluator
from cwlpilot.semantics.cwl.values import META, merge, refs, resolve, write_outputs

_SMALL = {"cpu": 0.1, "mem": 0}  # what a bookkeeping stage books


class LoopError(CwlError):
    """A loop cannot go on: a missing feature requirement, an entry without a value, the guard."""


def _expansion(ctx: StageContext, stages: list[dict[str, Any]], needs: list[list[str]]) -> Prepared:
    template.mark_expansions(stages)
    (ctx.cwd / META / EXPANSION).write_text(json.dumps({"stages": stages, "needs": needs}), encoding="utf-8")
    return Prepared("true", {})


class _Expanding(_CwlKind):
    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        return None

    def expand(self, stage: Stage, ctx: StageContext) -> Expansion | None:
        return written_expansion(ctx)


def _evaluator(js: Any, data: Mapping[str, Any]) -> Evaluator:
    return Evaluator(None if js is None else tuple(js), str(data.get("version") or "v1.2"), allow_js=True)


def _body_job(data: Mapping[str, Any], values: Mapping[str, Any], ev: Evaluator) -> dict[str, Any]:
    """What the body receives: the step's inputs it declares, its own defaults where they are null (a loop
    entry that is not an `in` of the step never reaches it)."""
    if "inIds" in data:
        values = {k: v for k, v in values.items() if k in data["inIds"]}
    job = stepmod.tool_job(data["step"], values, data.get("inputDefaults") or {})
    check_formats(data, job, ev)
    return job


class CwlSubworkflow(_Expanding):
    """Each instance whose `when` holds becomes the body's stages; `NAME#gather` writes the outputs."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        data, read, _, runs = self._start(stage, ctx)
        if not runs:
            return self._skip(data, ctx)
        ev = _evaluator(data.get("js"), data)
        try:
            spec = data["step"]
            found, shape = stepmod.instances(spec, resolve(spec.get("in") or {}, read), ev)
            if not spec.get("scatter") and not found[0].runs:
                return self._skip(data, ctx)
            stages: list[dict[str, Any]] = []
            placed: list[list[Any]] = []
            for inst in found:
                if not inst.runs:
                    placed.append([list(inst.index), None])
                    stages.append(skipped_stage(sc.instance_name(stage.name, inst.index), data.get("ports") or []))
                    continue
                job = _body_job(data, inst.values, ev)
                prefix = sc.instance_name(stage.name, inst.index)
                stages += template.instantiate(data["templates"], data["marker"], prefix, job)
                outs = template.instantiate_value(data["outputs"], data["marker"], prefix, job)
                placed.append([list(inst.index), outs])
        except _USER_ERRORS as exc:
            raise KindError(f"stage '{stage.name}': {exc}") from None
        gather = f"{stage.name}#gather"
        ports = data.get("ports") or []
        stages.append({"name": gather, "cwd": stage.cwd, "kind": "cwl_gather", "cmd": "true", "needs": refs(placed),
                       "resources": _SMALL,
                       "data": {"into": stage.name, "shape": shape, "values": placed, "ports": ports}})
        return _expansion(ctx, stages, [[d, gather] for d in data.get("dependents") or []])


class CwlLoop(_Expanding):
    """A `cwltool:Loop` step: loopWhen first, then iteration 0 and its junction."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        data, read, _, runs = self._start(stage, ctx)
        if not runs:
            return self._skip(data, ctx)
        try:
            spec = data["step"]
            ev = _evaluator(data.get("js"), data)
            found, _ = stepmod.instances({**spec, "when": None}, resolve(spec.get("in") or {}, read), ev)
            joborder = found[0].values
            if not stepmod.guard(data["loop"]["when"], joborder, _evaluator(data.get("jsFirst"), data)):
                write_outputs(ctx.cwd, _final(data, {}))
                return Prepared("true", {}, skip="its loopWhen is false before the first iteration")
            stages, needs = _iteration(stage.name, data, 0, joborder, {}, ev)
        except _USER_ERRORS + (LoopError,) as exc:
            raise KindError(f"stage '{stage.name}': {exc}") from None
        return _expansion(ctx, stages, needs)


class CwlLoopNext(_Expanding):
    """After iteration N: collect its outputs, feed the loop back, then iteration N+1 or the loop's end."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        data, read, _, _ = self._start(stage, ctx)
        loop, n = data["loop"], int(data["iteration"])
        ev = _evaluator(data.get("js"), data)
        try:
            outs = {p: resolve(v, read) for p, v in (data.get("current") or {}).items()}
            buffer = _buffered(data, data.get("buffer") or {}, outs)
            joborder = _fed_back(loop, data["joborder"], outs, ev)
            if not stepmod.guard(loop["when"], joborder, ev):
                write_outputs(ctx.workdir / str(data["into"]), _final(data, buffer))
                return Prepared("true", {})
            if n + 1 >= int(loop.get("max") or 1):
                raise LoopError(f"loopWhen still holds after {n + 1} iterations, the most a loop may run "
                                "(--max-loop-iterations or CWLPILOT_MAX_LOOP_ITERATIONS)")
            stages, needs = _iteration(str(data["into"]), data, n + 1, joborder, buffer, ev)
        except _USER_ERRORS + (LoopError,) as exc:
            raise KindError(f"loop '{data['into']}', iteration {n + 1}: {exc}") from None
        return _expansion(ctx, stages, needs)


def _iteration(
    loop_name: str, data: Mapping[str, Any], n: int, joborder: dict[str, Any], buffer: dict[str, Any], ev: Evaluator
) -> tuple[list[dict[str, Any]], list[list[str]]]:
    """The stages of iteration `n` and its junction; the loop's readers now wait for that junction."""
    job = _body_job(data, joborder, ev)
    prefix = f"{loop_name}#{n}"
    stages = template.instantiate(data["templates"], data["marker"], prefix, job)
    current = template.instantiate_value(data["outputs"], data["marker"], prefix, job)
    keep = {k: v for k, v in data.items() if k not in ("step", "current", "buffer", "joborder", "iteration")}
    keep["step"] = {"declared": data["step"].get("declared") or []}  # what `_body_job` reads
    junction = f"{prefix}#next"
    stages.append({"name": junction, "cwd": junction, "kind": "cwl_loop_next", "cmd": "true", "needs": refs(current),
                   "resources": _SMALL,
                   "data": {**keep, "into": loop_name, "iteration": n, "joborder": joborder, "buffer": buffer,
                            "current": current}})
    return stages, [[d, junction] for d in data.get("dependents") or []]


def _buffered(data: Mapping[str, Any], buffer: Mapping[str, Any], outs: Mapping[str, Any]) -> dict[str, Any]:
    if data["loop"].get("outputMethod") == "all":
        return {p: [*(buffer.get(p) or []), outs.get(p)] for p in data.get("ports") or []}
    return {p: outs.get(p) for p in data.get("ports") or []}


def _final(data: Mapping[str, Any], buffer: Mapping[str, Any]) -> dict[str, Any]:
    """The loop's outputs: the last iteration's, or every iteration's (null / [] when none ran)."""
    every = data["loop"].get("outputMethod") == "all"
    return {p: buffer.get(p, [] if every else None) for p in data.get("ports") or []}


def _fed_back(
    loop: Mapping[str, Any], joborder: Mapping[str, Any], outs: Mapping[str, Any], ev: Evaluator
) -> dict[str, Any]:
    """The next iteration's inputs (cwltool's `loop_callback`): each `loop` entry from its sources, merged
    as a step input is, or its default; then its valueFrom, which sees the previous iteration's inputs."""
    new: dict[str, Any] = {}
    for entry in loop.get("entries") or []:
        sources = entry.get("sources") or []
        if len(sources) > 1 and not loop.get("multipleInput"):
            raise LoopError("Workflow contains multiple inbound links to a single parameter but "
                            "MultipleInputFeatureRequirement is not declared.")
        value = None
        if sources:
            value = merge([outs.get(s) for s in sources], entry.get("linkMerge"), entry.get("pickValue"),
                          len(sources) > 1, entry["id"])
        if value is None and "default" in entry:
            value = entry["default"]
        if value is None and not sources and entry.get("valueFrom") is None and "default" not in entry:
            raise LoopError(f"Value for {entry['id']} not specified")
        new[entry["id"]] = value
    for entry in loop.get("entries") or []:
        if entry.get("valueFrom") is not None:
            if not loop.get("stepInputExpression"):
                raise LoopError("Workflow step contains valueFrom but StepInputExpressionRequirement not in "
                                "requirements")
            new[entry["id"]] = ev(entry["valueFrom"], {"inputs": dict(joborder), "self": new.get(entry["id"])})
    return {**joborder, **new}


def skipped_stage(name: str, ports: list[str]) -> dict[str, Any]:
    """A stage that only shows an instance whose `when` is false as skipped (kind `cwl_skipped`)."""
    return {"name": name, "cwd": name, "kind": "cwl_skipped", "cmd": "true", "needs": [], "resources": _SMALL,
            "data": {"ports": ports}}


class CwlSkipped:
    """A step whose `when` was already false at compile time: nothing runs, the step shows as skipped."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        data = _data(stage)["data"]
        write_outputs(ctx.cwd, {port: None for port in data.get("ports") or []})
        return Prepared("true", {}, skip="its `when` is false")

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        return None
