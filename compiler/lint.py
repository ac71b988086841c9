"""Lint rules over the IR: what CWL accepts but is very likely a mistake, or cannot run here as written.

Pure: takes a loaded process, returns diagnostics (rules in `compiler.rules`): workflow inputs nothing
reads (`cwl-unused-input`), step outputs nothing reads (`cwl-unused-output`), DockerRequirement as a
requirement (`cwl-docker-requirement`), default Files at absolute host paths (`cwl-absolute-path`), tools
scattered without ResourceRequirement (`cwl-scatter-resources`), and through `compiler.lint_expr` the
expressions (`cwl-javascript-requirement`, `cwl-undefined-input`). Each process reached is linted once
for each set of requirements it inherits, as `compiler.validate` checks each workflow once.
"""

from __future__ import annotations

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Diagnostic
from cwlpilot.compiler.lint_expr import expression_findings
from cwlpilot.compiler.validate import declares, run_name

Holders = tuple[ir.Workflow | ir.Step, ...]  # the enclosing steps and workflows, innermost first


def lint(process: ir.Process | None) -> list[Diagnostic]:
    """Every lint finding in `process` and in what its steps run."""
    found: list[Diagnostic] = []
    if process is not None:
        _visit(process, (), found, set())
    return found


def _visit(process: ir.Process, holders: Holders, found: list[Diagnostic], seen: set[tuple[str, bool]]) -> None:
    key = (process.uri, declares(holders, "InlineJavascriptRequirement"))
    if key in seen:
        return
    seen.add(key)
    found.extend(expression_findings(process, holders))
    found.extend(_docker(process.requirements))
    found.extend(_absolute_defaults(process))
    if not isinstance(process, ir.Workflow):
        return
    found.extend(_unused(process))
    for step in process.steps:
        found.extend(_docker(step.requirements))
        found.extend(_step_defaults(step))
        if step.run is None:
            continue
        inner = (step, process, *holders)
        if step.scatter and isinstance(step.run, ir.CommandLineTool) and not _has_resources(step.run, inner):
            found.append(Diagnostic(
                step.pos,
                f"scattered over {', '.join(step.scatter)} without ResourceRequirement: each instance of "
                f"{run_name(step.run)} is booked at the default of 1 core and 256 MB",
                step.id, "warning", "cwl-scatter-resources"))
        _visit(step.run, inner, found, seen)


def _has_resources(tool: ir.Process, holders: Holders) -> bool:
    return tool.requirement("ResourceRequirement") is not None or declares(holders, "ResourceRequirement")


def _unused(wf: ir.Workflow) -> list[Diagnostic]:
    """Workflow inputs no step and no output reads; step outputs no step, loop and output reads."""
    read = {s for step in wf.steps for inp in step.inputs for s in inp.sources}
    read.update(s for out in wf.outputs for s in out.sources)
    found = [
        Diagnostic(p.pos, f"input '{p.id}' is read by no step and no output", None, "warning", "cwl-unused-input")
        for p in wf.inputs
        if p.id not in read
    ]
    for step in wf.steps:
        looped = {s for entry in step.loop.inputs for s in entry.sources} if step.loop else set()
        for out in step.outputs:
            missing = step.run is not None and step.run.output(out.id) is None  # an error already (cwl-connection)
            if f"{step.id}/{out.id}" not in read and out.id not in looped and not missing:
                found.append(Diagnostic(
                    out.pos, f"output '{out.id}' is read by no step and no workflow output", step.id, "warning",
                    "cwl-unused-output"))
    return found


def _docker(requirements: tuple[ir.Requirement, ...]) -> list[Diagnostic]:
    return [
        Diagnostic(
            r.pos,
            "DockerRequirement as a requirement: cwlpilot drives no container engine, so this cannot run here "
            "(move it to `hints` to run the command on the host)",
            None, "warning", "cwl-docker-requirement")
        for r in requirements
        if r.cls == "DockerRequirement"
    ]


def _absolute_defaults(process: ir.Process) -> list[Diagnostic]:
    return [_absolute(p.id, p.absolute_default, None) for p in process.inputs if p.absolute_default]


def _step_defaults(step: ir.Step) -> list[Diagnostic]:
    return [_absolute(i.id, i.absolute_default, step.id) for i in step.inputs if i.absolute_default]


def _absolute(name: str, found: tuple[str, ir.Pos] | None, step: str | None) -> Diagnostic:
    assert found is not None
    path, pos = found
    message = f"input '{name}': the default names an absolute host path, {path}, which exists only where it was written"
    return Diagnostic(pos, message, step, "warning", "cwl-absolute-path")
