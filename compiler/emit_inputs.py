"""The run's own inputs, as the plan gets them: `cwl:requirements` of the inputs file, File paths and
formats, secondaryFiles looked for on disk, loadContents, and cwltool's check of the inputs' formats.

`compiler.emit` calls these for the workflow's (or the lone tool's) inputs, and `check_formats` for a
step's inputs when their values are known at compile time. Pure but for reading the inputs' files
(loadContents, secondaryFiles), which are known now.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cwlpilot.compiler import ir
from cwlpilot.compiler.emit_dynamic import Context
from cwlpilot.compiler.emit_tool import expand, schema_json
from cwlpilot.compiler.errors import CompilerError
from cwlpilot.compiler.formats import allowed_formats, input_formats
from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl import formats as fmt
from cwlpilot.semantics.cwl import step as stepmod
from cwlpilot.semantics.cwl.collect import with_secondary
from cwlpilot.semantics.cwl.expr import PYTHON_ONLY, Evaluator
from cwlpilot.semantics.cwl.params import NotStatic
from cwlpilot.semantics.cwl.staging import record_secondary
from cwlpilot.semantics.cwl.values import is_pending


def with_job_requirements(process: ir.Process, job: Mapping[str, Any]) -> ir.Process:
    """`cwl:requirements` in the inputs file: requirements that rank before the document's own."""
    extra = job.get("cwl:requirements") or []
    reqs = tuple(
        ir.Requirement(str(r["class"]), ir.freeze({k: v for k, v in r.items() if k != "class"}), process.pos)
        for r in extra
        if isinstance(r, Mapping) and "class" in r
    )
    return replace(process, requirements=reqs + process.requirements) if reqs else process


def job_namespaces(job: Mapping[str, Any]) -> dict[str, str]:
    found = job.get("$namespaces")
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, Mapping) else {}


def expanded_formats(value: Any, namespaces: Mapping[str, str]) -> Any:
    """File formats written with a `$namespaces` prefix (`edam:format_1929`) as full IRIs."""
    return files.walk(
        value, lambda obj: {**obj, "format": expand(obj["format"], namespaces)} if "format" in obj else obj
    )


def input_value(param: ir.InputParam, job: Mapping[str, Any], job_dir: str) -> Any:
    given = job.get(param.id)
    value = files.resolved(given, job_dir) if given is not None else files.resolved(ir.thaw(param.default), "")
    if param.load_contents or (param.binding is not None and param.binding.load_contents):
        value = stepmod.with_contents(value)  # reads the input files: they are known now
    return value


def with_secondary_files(param: ir.InputParam, values: dict[str, Any], ev: Evaluator) -> Any:
    """The run's own inputs are where secondaryFiles are looked for on disk; steps only check them."""
    value = values[param.id]
    context: dict[str, Any] = {"inputs": values, "self": None, "runtime": {}}
    if param.secondary_files:
        patterns = ir.thaw(param.secondary_files)
        value = files.walk_top(value, lambda obj: with_secondary(obj, patterns, context, ev, True, True))
    if isinstance(param.type, ir.RecordType):
        value = record_secondary(value, schema_json(param.type), context, ev, True)
    return value


def check_formats(
    run: ir.Process, job: Mapping[str, Any], ctx: Context, pos: ir.Pos, step: str | None
) -> None:
    """cwltool's format check of a process's inputs, made now on the values already known (the stage's
    kind checks again at run time, when the others are known)."""
    specs = input_formats(run)
    if not specs:
        return
    closure = ctx.ontology.closure({f for s in specs.values() for f in allowed_formats(s)})
    for port, spec in specs.items():
        value = job.get(port)
        if is_pending(value):
            continue
        try:
            fmt.check(port, value, spec, closure, lambda f: PYTHON_ONLY(f, {"inputs": job, "self": None}))
        except NotStatic:
            continue
        except fmt.FormatError as exc:
            if step is None:  # the run's own inputs: say which one
                param = run.input(port)
                raise CompilerError(f"{param.pos if param else pos}: {exc}") from None
            raise CompilerError(f"{pos}: step '{step}': {exc}") from None
