"""The CWL stage kinds: `cwl_tool` (a CommandLineTool, or a step of one expanded at run time),
`cwl_expression` (an ExpressionTool, evaluated in this process) and `cwl_gather` (the outputs of a
run-time scatter's instance stages put back together).

`prepare` resolves the stage's `$ref`s from the upstream stages' `.cwlpilot/outputs.json`, expands the
step when the plan left that to run time (scatter, valueFrom, `when`), stages files and writes one bash
script that runs each instance in its own output directory; `finish` collects the outputs and writes
this stage's `.cwlpilot/outputs.json`. The data contract is documented in `compiler/emit.py`; the CWL
semantics live in the shared `cwlpilot.cwl` package. JavaScript runs in cwl-utils' sandbox, in one
node process kept by this executor, never in an interpreter started per stage.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cwlpilot.executor.kinds import Expansion, KindError, Prepared, StageContext
from cwlpilot.executor.kinds.cwl_script import runtime as run_time
from cwlpilot.executor.kinds.cwl_script import script, script_codes
from cwlpilot.executor.plan import Stage
from cwlpilot.semantics.cwl import files, formats
from cwlpilot.semantics.cwl import scatter as sc
from cwlpilot.semantics.cwl import step as stepmod
from cwlpilot.semantics.cwl.cmdline import command_line
from cwlpilot.semantics.cwl.collect import OutputError, collect
from cwlpilot.semantics.cwl.expr import Evaluator, ExpressionError
from cwlpilot.semantics.cwl.params import NotStatic
from cwlpilot.semantics.cwl.staging import StagingError, prepare_job, stage_initial_workdir
from cwlpilot.semantics.cwl.values import META, PickValueError, Reader, reader, resolve, write_outputs

EXPANSION = "expansion.json"  # the stages a run-time scatter adds (see `_plan_expansion`)
_USER_ERRORS = (
    ExpressionError,
    NotStatic,
    PickValueError,
    StagingError,
    OutputError,
    stepmod.WhenError,
    sc.ScatterError,
    formats.FormatError,
    OSError,
    ValueError,
)


def _data(stage: Stage) -> dict[str, Any]:
    extra = json.loads(stage.extra) if stage.extra else {}
    return {"data": extra.get("data") or {}, "when": extra.get("when")}


def _reader(workdir: Path) -> Reader:
    read_file = reader(workdir)

    def read(name: str) -> Mapping[str, Any]:
        try:
            return read_file(name)
        except OSError as exc:
            raise KindError(f"the outputs of stage '{name}' cannot be read: {exc.strerror}") from None

    return read


def _evaluator(data: Mapping[str, Any]) -> Evaluator:
    js = data.get("js")
    return Evaluator(None if js is None else tuple(js), str(data.get("version") or "v1.2"), allow_js=True)


def _guards_pass(when: Any, read: Any) -> bool:
    for g in (when or {}).get("guards", []) if isinstance(when, Mapping) else []:
        ev = Evaluator(None if g.get("js") is None else tuple(g["js"]), allow_js=True)
        if not stepmod.guard(g.get("expression"), resolve(g.get("inputs") or {}, read), ev):
            return False
    return True


def _instances(data: Mapping[str, Any], read: Any, ev: Evaluator) -> tuple[list[stepmod.Instance], list[int]]:
    """The instances to run, each with its tool job (defaults applied, File formats checked)."""
    defaults = data.get("toolDefaults") or {}
    if "step" in data:
        spec = data["step"]
        found, shape = stepmod.instances(spec, resolve(spec.get("in") or {}, read), ev)
        jobs = [stepmod.Instance(i.index, stepmod.tool_job(spec, i.values, defaults), i.runs) for i in found]
    else:
        job = resolve(data.get("inputs") or {}, read)
        job = {k: defaults[k] if v is None and k in defaults else v for k, v in job.items()}
        jobs, shape = [stepmod.Instance((), job, True)], []
    for inst in jobs:
        if inst.runs:
            check_formats(data, inst.values, ev)
    return jobs, shape


def check_formats(data: Mapping[str, Any], job: Mapping[str, Any], ev: Evaluator) -> None:
    """cwltool's check of the process's input File formats (`data.formats`, see `compiler.formats`)."""
    closure = data.get("ontology") or {}
    for port, spec in (data.get("formats") or {}).items():
        formats.check(port, job.get(port), spec, closure, lambda f: ev(f, {"inputs": job, "self": None}))


def skipped_alone(data: Mapping[str, Any], found: list[stepmod.Instance]) -> bool:
    """A step without scatter whose `when` is false: the stage shows as skipped."""
    return not (data.get("step") or {}).get("scatter") and len(found) == 1 and not found[0].runs


def _links(outdir: Path) -> set[str]:
    """Real paths of the links staging put in `outdir` (outputs may be these, though they lead outside)."""
    found = set()
    for root, dirs, names in os.walk(outdir):
        for name in dirs + names:
            path = os.path.join(root, name)
            if os.path.islink(path):
                found.add(os.path.realpath(path))
    return found


def _depth(data: Mapping[str, Any]) -> str:
    return str(data.get("listing") or "deep_listing")


def _outdir(ctx: StageContext, index: tuple[int, ...], scattered: bool) -> Path:
    return ctx.cwd / ("out" if not scattered else "out-" + "-".join(map(str, index)))


class _CwlKind:
    def _start(self, stage: Stage, ctx: StageContext) -> tuple[dict[str, Any], Any, Evaluator, bool]:
        spec = _data(stage)
        data = spec["data"]
        read = _reader(ctx.workdir)
        meta = ctx.cwd / META
        if meta.exists():
            shutil.rmtree(meta)
        meta.mkdir(parents=True)
        try:
            runs = _guards_pass(spec["when"], read)
        except _USER_ERRORS as exc:
            raise KindError(f"stage '{stage.name}': {exc}") from None
        return data, read, _evaluator(data), runs

    def _skip(self, data: Mapping[str, Any], ctx: StageContext) -> Prepared:
        write_outputs(ctx.cwd, {port: None for port in data.get("outputs") or {}})
        (ctx.cwd / META / "skipped").write_text("when\n")
        return Prepared("true", {}, skip="its `when` is false")


class CwlExpression(_CwlKind):
    """An ExpressionTool: evaluated here, at prepare time; the command is `true`."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        data, read, ev, runs = self._start(stage, ctx)
        if not runs:
            return self._skip(data, ctx)
        scratch = ctx.cwd / META / "literals"
        try:
            found, shape = _instances(data, read, ev)
            if skipped_alone(data, found):
                return self._skip(data, ctx)
            results = [(i.index, self._evaluate(data, i, ev, scratch)) for i in found]
        except _USER_ERRORS as exc:
            raise KindError(f"stage '{stage.name}': {exc}") from None
        write_outputs(ctx.cwd, _gathered(data, results, shape))
        return Prepared("true", {})

    def _evaluate(
        self, data: Mapping[str, Any], inst: stepmod.Instance, ev: Evaluator, scratch: Path
    ) -> dict[str, Any] | None:
        if not inst.runs:
            return None
        job = prepare_job(inst.values, data.get("params") or {}, scratch, ev, listing=_depth(data))
        result = ev(data.get("expression", ""), {"inputs": job, "self": None, "runtime": {}})
        if not isinstance(result, Mapping):
            raise ExpressionError(f"the expression gave {type(result).__name__}, not an object")
        # File literals it returns become real files, so later steps and the run's outputs can use them
        result = files.walk(result, lambda obj: _written(obj, scratch))
        return {port: result.get(port) for port in data.get("outputs") or {}}

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        return None


def _written(obj: dict[str, Any], scratch: Path) -> dict[str, Any]:
    if obj.get("path") or obj.get("location"):
        return obj
    where = scratch / f"out{len(list(scratch.glob('out*'))) if scratch.exists() else 0}"
    if obj.get("class") == "File" and "contents" in obj:
        return files.write_literal(obj, where)
    if obj.get("class") == "Directory":  # its listing was written first (`walk` goes inside out)
        target = where / str(obj.get("basename") or "dir")
        target.mkdir(parents=True)
        for item in obj.get("listing") or []:
            if item.get("path"):
                os.symlink(item["path"], target / str(item.get("basename") or os.path.basename(item["path"])))
        return files.describe(str(target), with_checksum=False)
    return obj


def _gathered(data: Mapping[str, Any], results: list[tuple[tuple[int, ...], Any]], shape: list[int]) -> dict[str, Any]:
    ports = list(data.get("outputs") or {})
    if not shape and len(results) == 1 and results[0][0] == ():
        outs = results[0][1]
        return {p: None if outs is None else outs.get(p) for p in ports}
    return {p: sc.gather([(i, None if o is None else o.get(p)) for i, o in results], shape) for p in ports}


class CwlTool(_CwlKind):
    """A CommandLineTool stage: builds the command(s) now, collects the outputs after."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        data, read, ev, runs = self._start(stage, ctx)
        if not runs:
            return self._skip(data, ctx)
        try:
            found, shape = _instances(data, read, ev)
            if skipped_alone(data, found):
                return self._skip(data, ctx)
            scattered = "step" in data and bool(data["step"].get("scatter"))
            if scattered and "dependents" in data:
                return _plan_expansion(stage, ctx, data, found, shape)
            plans = [self._instance(stage, data, i, _outdir(ctx, i.index, scattered), ev) for i in found]
        except _USER_ERRORS as exc:
            raise KindError(f"stage '{stage.name}': {exc}") from None
        state = {"shape": shape, "instances": plans}
        (ctx.cwd / META / "instances.json").write_text(json.dumps(state), encoding="utf-8")
        codes = data.get("codes") or {}
        path = ctx.cwd / META / "run.sh"
        path.write_text(script(plans, codes, ctx.cwd / META), encoding="utf-8")
        return Prepared(f"/bin/bash {shlex.quote(str(path))}", {}, codes=script_codes(codes))

    def _instance(
        self, stage: Stage, data: Mapping[str, Any], inst: stepmod.Instance, outdir: Path, ev: Evaluator
    ) -> dict[str, Any]:
        if not inst.runs:
            return {"index": list(inst.index), "runs": False}
        if outdir.exists():
            shutil.rmtree(outdir)
        tmpdir = outdir.parent / (outdir.name + ".tmp")
        outdir.mkdir(parents=True)
        tmpdir.mkdir(parents=True, exist_ok=True)
        desc = data.get("command")
        job = prepare_job(inst.values, (desc or {}).get("inputs") or {}, tmpdir, ev, listing=_depth(data))
        runtime = run_time(data, stage, job, outdir, tmpdir, ev)
        context = {"inputs": job, "self": None, "runtime": runtime}
        if data.get("initialWorkDir") is not None:
            inplace = ((data.get("requirements") or {}).get("InplaceUpdateRequirement") or {}).get("inplaceUpdate")
            job = stage_initial_workdir(data["initialWorkDir"], job, outdir, context, ev, bool(inplace))
            context = {**context, "inputs": job}
        cmd = command_line(desc, job, runtime, ev) if desc is not None else stage.cmd
        staged = sorted(_links(outdir))
        env = {str(k): str(ev(v, context)) for k, v in (data.get("env") or {}).items()}
        env.update(HOME=str(outdir), TMPDIR=str(tmpdir))
        limit = ev(data.get("timelimit"), context)
        if isinstance(limit, int) and not isinstance(limit, bool) and limit > 0:
            cmd = f"timeout {limit} /bin/bash -c {shlex.quote(cmd)}"
        return {
            "index": list(inst.index),
            "runs": True,
            "outdir": str(outdir),
            "job": job,
            "runtime": runtime,
            "cmd": cmd,
            "env": env,
            "staged": staged,
        }

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        meta = ctx.cwd / META
        if (meta / "skipped").exists() or (meta / EXPANSION).exists():
            return None  # skipped: its null outputs are written; expanded: its gather stage writes them
        data = _data(stage)["data"]
        ev = _evaluator(data)
        try:
            state = json.loads((meta / "instances.json").read_text(encoding="utf-8"))
            results = []
            for n, inst in enumerate(state["instances"]):
                outs = None
                if inst["runs"]:
                    runtime = {**inst["runtime"], "exitCode": int((meta / f"exit-{n}").read_text())}
                    outs = collect(
                        data.get("outputs") or {}, inst["outdir"], inst["job"], runtime, ev, tuple(inst["staged"])
                    )
                results.append((tuple(inst["index"]), outs))
        except _USER_ERRORS as exc:
            return str(exc)
        write_outputs(ctx.cwd, _gathered(data, results, state["shape"]))
        return None

    def expand(self, stage: Stage, ctx: StageContext) -> Expansion | None:
        """The instance stages and the gather stage of a scatter over values produced upstream."""
        return written_expansion(ctx)


def _plan_expansion(
    stage: Stage, ctx: StageContext, data: Mapping[str, Any], found: list[stepmod.Instance], shape: list[int]
) -> Prepared:
    """A scatter known only now becomes stages of its own, booked and run in parallel like any other, and
    a gather stage that writes this stage's outputs once they are all done; the steps that read this
    stage's outputs wait for the gather too (`data.dependents`, written by the compiler)."""
    keep = {k: v for k, v in data.items() if k not in ("step", "dependents")}
    resources = {"cpu": stage.cpu, "mem": stage.mem}
    stages: list[dict[str, Any]] = []
    placed: list[tuple[list[int], str | None]] = []
    for inst in found:
        if not inst.runs:  # shown as skipped, by a stage that runs nothing
            placed.append((list(inst.index), None))
            skipped = sc.instance_name(stage.name, inst.index)
            stages.append({"name": skipped, "cwd": skipped, "kind": "cwl_skipped", "cmd": "true", "needs": [],
                           "resources": {"cpu": 0.1, "mem": 0}, "data": {"ports": list(data.get("outputs") or {})}})
            continue
        name = sc.instance_name(stage.name, inst.index)
        spec: dict[str, Any] = {"name": name, "cwd": name, "kind": "cwl_tool", "cmd": stage.cmd, "needs": []}
        spec.update(resources=resources, data={**keep, "inputs": inst.values})
        if stage.timeout:
            spec["timeout"] = stage.timeout
        stages.append(spec)
        placed.append((list(inst.index), name))
    gather = f"{stage.name}.gather"
    ports = list(data.get("outputs") or {})
    stages.append(
        {
            "name": gather,
            "cwd": stage.cwd,
            "kind": "cwl_gather",
            "cmd": "true",
            "needs": [s["name"] for s in stages if s["kind"] != "cwl_skipped"],
            "resources": {"cpu": 0.1, "mem": 0},
            "data": {"into": stage.name, "shape": shape, "instances": placed, "ports": ports},
        }
    )
    needs = [[dependent, gather] for dependent in data.get("dependents") or []]
    (ctx.cwd / META / EXPANSION).write_text(json.dumps({"stages": stages, "needs": needs}), encoding="utf-8")
    return Prepared("true", {})


def written_expansion(ctx: StageContext) -> Expansion | None:
    """The stages a CWL stage wrote that it adds to the run (`.cwlpilot/EXPANSION` in its folder), if any."""
    path = ctx.cwd / META / EXPANSION
    if not path.exists():
        return None
    doc = json.loads(path.read_text(encoding="utf-8"))
    return Expansion(tuple(doc["stages"]), tuple((str(a), str(b)) for a, b in doc["needs"]))


class CwlGather:
    """Puts the outputs of a run-time scatter's instances together as the scattering stage's own: data.into
    (that stage), data.shape, data.ports, and data.instances `[[index, stage or null], ...]` (a tool's
    instance stages) or data.values `[[index, {port: value} or null], ...]` (a sub-workflow's instances)."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        data = _data(stage)["data"]
        read = _reader(ctx.workdir)
        results = [
            (tuple(index), None if name is None else dict(read(name))) for index, name in data.get("instances", [])
        ]
        try:  # a sub-workflow's instances: the values of its outputs, in terms of its stages
            results += [(tuple(index), None if v is None else resolve(v, read)) for index, v in data.get("values", [])]
        except _USER_ERRORS as exc:
            raise KindError(f"stage '{stage.name}': {exc}") from None
        ports: dict[str, Any] = {p: {} for p in data.get("ports") or []}
        outputs = _gathered({"outputs": ports}, results, list(data.get("shape") or []))
        write_outputs(ctx.workdir / str(data["into"]), outputs)
        return Prepared("true", {})

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        return None
