"""The expressions of a process: JavaScript without InlineJavascriptRequirement, and `inputs.X` naming no input.

What is JavaScript follows cwl-utils' `expression.evaluator`, which cwltool evaluates with: a `${...}` body
always, and a `$(...)` unless it is a parameter reference (`sandboxjs.param_re`) whose first symbol is
`inputs`, `self` or `runtime`. Expressions are found with cwl-utils' `expression.scanner`, which honours
`\\$(` escapes. Without InlineJavascriptRequirement such an expression fails when it is evaluated (cwl-utils:
"Syntax error in parameter reference ... using Javascript code without specifying
InlineJavascriptRequirement"), so it is an error, as the CWL specification has it.

`inputs.X` is looked up among the process's inputs; in a step's `when` and `valueFrom`, and in a loop's,
among the step's `in` (what the specification gives them as `inputs`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Diagnostic
from cwlpilot.compiler.validate import declares

JS_REQUIREMENT = "InlineJavascriptRequirement"
# requirements whose fields are expressions (InlineJavascriptRequirement's expressionLib is code, not one)
_EVALUATED = {"ResourceRequirement", "InitialWorkDirRequirement", "EnvVarRequirement", "ToolTimeLimit",
              "WorkReuse", "NetworkAccess", "MPIRequirement", "CUDARequirement"}
_SYMBOLS = ("inputs", "self", "runtime")
# `inputs.X` and `inputs["X"]` in JavaScript, not as a property of something else
_JS_REF = re.compile(r"""(?<![\w$.])inputs\s*(?:\.\s*([A-Za-z_$][\w$]*)|\[\s*(['"])(.*?)\2\s*\])""")
_PARAM_REF = re.compile(r"""\(inputs(?:\.(\w+)|\['((?:[^']|\\')+)'\]|\["((?:[^"]|\\")+)"\])""")
_OBJECT_METHODS = {"hasOwnProperty", "toString", "valueOf", "propertyIsEnumerable", "isPrototypeOf",
                   "constructor", "toLocaleString"}


class Site(NamedTuple):
    """A value that is evaluated: where it is, what it is called in messages, which inputs it may read."""

    text: str
    pos: ir.Pos
    what: str
    step: str | None
    names: frozenset[str]


def expression_findings(process: ir.Process, holders: tuple[Any, ...]) -> list[Diagnostic]:
    """Findings in the expressions of `process` itself (not of what its steps run), with `holders` the
    enclosing steps and workflows (innermost first), whose requirements it inherits."""
    found: list[Diagnostic] = []
    if isinstance(process, ir.Workflow):
        for step in process.steps:
            js = declares((step, process, *holders), JS_REQUIREMENT)
            found += _findings(_step_sites(step), js, "the step")
    else:
        js = process.requirement(JS_REQUIREMENT) is not None or declares(holders, JS_REQUIREMENT)
        found += _findings(_tool_sites(process), js, "the tool")
    return found


def _findings(sites: Iterator[Site], js_allowed: bool, owner: str) -> list[Diagnostic]:
    found = []
    for site in sites:
        parts = expressions(site.text)
        code = next((p for p in parts if is_javascript(p)), None)
        if code is not None and not js_allowed:
            found.append(Diagnostic(
                site.pos,
                f"{site.what} is JavaScript ({_short(code)}), which needs InlineJavascriptRequirement: "
                f"add it to the requirements",
                site.step, "error", "cwl-javascript-requirement"))
        for name in dict.fromkeys(n for p in parts for n in input_names(p)):
            if name not in site.names:
                known = ", ".join(sorted(site.names)) or "none"
                found.append(Diagnostic(
                    site.pos,
                    f"{site.what} reads inputs.{name}, but {owner} has no input '{name}' (its inputs: {known})",
                    site.step, "warning", "cwl-undefined-input"))
    return found


def expressions(text: str) -> list[str]:
    """The `$(...)` and `${...}` of `text`, each with its `$`, as cwl-utils' interpolate finds them."""
    from cwl_utils.errors import SubstitutionError
    from cwl_utils.expression import scanner

    found = []
    rest = text
    try:
        while (span := scanner(rest)) is not None:
            start, end = span
            if rest[start] == "$":
                found.append(rest[start:end])
            rest = rest[end:] if rest[start] == "$" else rest[end + 1:]
    except SubstitutionError:
        pass  # an unfinished `$(`: cwl-utils refuses it where it is evaluated; nothing more to say here
    return found


def is_javascript(expression: str) -> bool:
    """cwl-utils' `evaluator`: True unless `$(...)` is a parameter reference of inputs, self or runtime."""
    from cwl_utils.sandboxjs import param_re

    if expression.startswith("${"):
        return True
    match = param_re.match(expression[1:])
    return match is None or match.group(1) not in (*_SYMBOLS, "null")


def input_names(expression: str) -> list[str]:
    """The inputs `expression` reads by name (`inputs.x`, `inputs['x']`)."""
    if not is_javascript(expression):
        match = _PARAM_REF.match(expression[1:])
        return [next(g for g in match.groups() if g is not None)] if match else []
    return [m.group(1) or m.group(3) for m in _JS_REF.finditer(expression)
            if (m.group(1) or m.group(3)) not in _OBJECT_METHODS]


def _short(code: str) -> str:
    flat = " ".join(code.split())
    return f"`{flat}`" if len(flat) <= 60 else f"`{flat[:57]}...`"


def _step_sites(step: ir.Step) -> Iterator[Site]:
    names = frozenset(i.id for i in step.inputs)
    if step.when:
        yield Site(step.when, step.pos, "`when`", step.id, names)
    for inp in step.inputs:
        if inp.value_from:
            yield Site(inp.value_from, inp.pos, f"input '{inp.id}': valueFrom", step.id, names)
    if step.loop is not None:
        yield Site(step.loop.when, step.loop.pos, "loopWhen", step.id, names)
        for entry in step.loop.inputs:
            if entry.value_from:
                yield Site(entry.value_from, entry.pos, f"loop '{entry.id}': valueFrom", step.id, names)


def _tool_sites(tool: ir.CommandLineTool | ir.ExpressionTool) -> Iterator[Site]:
    names = frozenset(p.id for p in tool.inputs)

    def site(value: Any, pos: ir.Pos, what: str) -> Iterator[Site]:
        for text in _strings(value):
            if "$(" in text or "${" in text:
                yield Site(text, pos, what, None, names)

    for p in tool.inputs:
        yield from site(_binding_values(p.binding), p.pos, f"input '{p.id}'")
        yield from site((p.format, p.secondary_files), p.pos, f"input '{p.id}'")
    for o in tool.outputs:
        binding = o.binding
        values = (binding.glob, binding.output_eval) if binding else ()
        yield from site((values, o.format, o.secondary_files), o.pos, f"output '{o.id}'")
    if isinstance(tool, ir.ExpressionTool):
        yield from site(tool.expression, tool.pos, "the expression")
    else:
        for arg in tool.arguments:
            yield from site(_binding_values(arg.binding), arg.pos, "an argument")
        for name in ("stdin", "stdout", "stderr"):
            yield from site(getattr(tool, name), tool.pos, f"`{name}`")
    for req in (*tool.requirements, *tool.hints):
        if req.cls in _EVALUATED:
            yield from site(req.fields, req.pos, req.cls)


def _binding_values(binding: ir.InputBinding | None) -> tuple[Any, ...]:
    return (binding.value_from, binding.position) if binding else ()


def _strings(value: Any) -> Iterator[str]:
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, Mapping):
            todo.extend(item.values())
        elif isinstance(item, (list, tuple)):
            todo.extend(item)
