"""Checks of a PanDA workflow that need no emission: references, step kinds, inputs, scatter, loops, junctions.

Every workflow document is checked once (sub-workflows included); each mistake is a Diagnostic with its
position. Emission adds the checks that need values (placeholders, datasets, conditions).
"""

from __future__ import annotations

import os
import re
import shlex
from difflib import get_close_matches

from cwlpilot.compiler.errors import Diagnostic
from cwlpilot.compiler.panda.detect import KINDS
from cwlpilot.compiler.panda.ir import ALLOWED_INPUTS, LOCAL_KINDS, WORKFLOW, Step, Workflow

SCATTER_METHODS = ("dotproduct", "flat_crossproduct", "nested_crossproduct")
# commands that cannot write a file by themselves (only a redirection could)
_QUIET = {"echo", "printf", "true", "false", ":", "sleep", "exit", "pwd", "ls", "cat", "date", "env", "hostname"}
_INTERPRETERS = {"python", "python3", "bash", "sh", "source", ".", "perl", "root", "Rscript"}
_CANNOT_RUN = {
    "phpo": "phpo (hyperparameter optimisation) runs on PanDA's HPO service and cannot run locally",
    "reana": "reana steps are sent to a REANA cluster and cannot run locally",
    "gitlab": "gitlab steps trigger a GitLab CI pipeline and cannot run locally",
}


def check_workflows(root: Workflow, sandbox: str) -> list[Diagnostic]:
    """Every mistake found in `root` and the workflows it runs."""
    diags: list[Diagnostic] = []
    seen: set[str] = set()

    def visit(wf: Workflow) -> None:
        if wf.path in seen:
            return
        seen.add(wf.path)
        _check_workflow(wf, sandbox, diags)
        for step in wf.steps:
            if step.body is not None:
                visit(step.body)

    visit(root)
    return diags


def _check_workflow(wf: Workflow, sandbox: str, diags: list[Diagnostic]) -> None:
    steps = {s.id: s for s in wf.steps}
    inputs = {i.id for i in wf.inputs}
    for out in wf.outputs:
        if out.source is None:
            diags.append(Diagnostic(out.pos, f"output '{out.id}' has no outputSource"))
        else:
            _check_ref(out.source, out.source_pos, None, steps, inputs, diags, f"output '{out.id}': outputSource")
    for step in wf.steps:
        for inp in step.inputs:
            for src in inp.sources:
                _check_ref(src.ref, src.pos, step.id, steps, inputs, diags, f"input {inp.name}")
        _check_step(wf, step, sandbox, diags)
    _check_cycles(wf, diags)


def _check_ref(
    ref: str,
    pos: object,
    step: str | None,
    steps: dict[str, Step],
    inputs: set[str],
    diags: list[Diagnostic],
    what: str,
) -> None:
    if "/" not in ref:
        if ref not in inputs:
            hint = _hint(ref, [*inputs, *steps])
            diags.append(Diagnostic(pos, f"{what}: '{ref}' is no input of this workflow{hint}", step))  # type: ignore[arg-type]
        return
    name, _, port = ref.partition("/")
    if not name:
        diags.append(Diagnostic(pos, f"{what}: '{ref}' names no step: write STEP/{port or 'OUTPUT'}", step))  # type: ignore[arg-type]
    elif name not in steps:
        diags.append(Diagnostic(pos, f"{what}: '{ref}' names unknown step '{name}'{_hint(name, steps)}", step))  # type: ignore[arg-type]
    elif port not in steps[name].out:
        outs = ", ".join(steps[name].out) or "none"
        diags.append(Diagnostic(pos, f"{what}: step '{name}' has no output '{port}' (its outputs: {outs})", step))  # type: ignore[arg-type]


def _hint(name: str, known: object) -> str:
    close = get_close_matches(name, list(known), n=1)  # type: ignore[call-overload]
    return f"; did you mean '{close[0]}'?" if close else ""


def _check_step(wf: Workflow, step: Step, sandbox: str, diags: list[Diagnostic]) -> None:
    if step.kind in _CANNOT_RUN:
        diags.append(Diagnostic(step.run_pos, _CANNOT_RUN[step.kind], step.id))
    if step.kind in KINDS:
        allowed = ALLOWED_INPUTS[step.kind]
        for inp in step.inputs:
            if inp.name not in allowed:
                diags.append(
                    Diagnostic(
                        inp.pos,
                        f"unknown input parameter '{inp.name}' for {step.kind}{_hint(inp.name, allowed)}",
                        step.id,
                    )
                )
    elif step.body is not None:
        body_inputs = {i.id: i for i in step.body.inputs}
        for inp in step.inputs:
            if inp.name not in body_inputs:
                diags.append(
                    Diagnostic(
                        inp.pos, f"'{inp.name}' is no input of {step.run}{_hint(inp.name, body_inputs)}", step.id
                    )
                )
        for b in step.body.inputs:
            if not b.has_default and step.input(b.id) is None and not (step.loop and b.is_param):
                diags.append(Diagnostic(step.pos, f"required input '{b.id}' of {step.run} is not given", step.id))
    if step.when is not None and not wf.version.startswith("v1.2") and wf.version[:2] == "v1":
        diags.append(
            Diagnostic(step.when_pos, f"`when` needs cwlVersion v1.2 or later (this document is {wf.version})", step.id)
        )
    _check_scatter(step, diags)
    if step.loop:
        _check_loop(step, diags)
    if step.kind in LOCAL_KINDS:
        _check_exec(step, sandbox, diags)


def _check_scatter(step: Step, diags: list[Diagnostic]) -> None:
    for name in step.scatter:
        if step.input(name) is None:
            diags.append(Diagnostic(step.pos, f"scatter over '{name}', which is no input of the step", step.id))
    if step.scatter_method and step.scatter_method not in SCATTER_METHODS:
        diags.append(
            Diagnostic(
                step.pos,
                f"unknown scatterMethod '{step.scatter_method}' (one of {', '.join(SCATTER_METHODS)})",
                step.id,
            )
        )
    if len(step.scatter) > 1 and not step.scatter_method:
        diags.append(Diagnostic(step.pos, "scatter over several inputs needs a scatterMethod", step.id))


def _check_loop(step: Step, diags: list[Diagnostic]) -> None:
    if step.kind != WORKFLOW:
        diags.append(Diagnostic(step.pos, f"the loop hint iterates a sub-workflow, not a {step.kind} step", step.id))


def _check_exec(step: Step, sandbox: str, diags: list[Diagnostic]) -> None:
    inp = step.input("opt_exec")
    if inp is None or not isinstance(inp.default, str):
        return
    commands = _commands(inp.default)
    for words in commands:
        script = _script(words)
        if script and not os.path.exists(os.path.join(sandbox, script)):
            diags.append(
                Diagnostic(
                    inp.value_pos,
                    f"opt_exec runs '{script}', which is not in the workflow's "
                    f"folder {sandbox} (PanDA ships that folder as the job's sandbox)",
                    step.id,
                )
            )
    if (
        step.kind == "junction"
        and "results.json" not in inp.default
        and commands
        and all(w and w[0] in _QUIET for w in commands)
    ):
        diags.append(
            Diagnostic(
                inp.value_pos,
                f"junction opt_exec '{inp.default}' never writes results.json: a "
                "junction's command must write results.json in its working folder "
                '(e.g. {"to_terminate": true}) to update the loop and decide',
                step.id,
            )
        )


def _commands(text: str) -> list[list[str]]:
    """The simple commands of a shell line, as words (redirections dropped), best effort."""
    out = []
    for part in re.split(r"&&|\|\||;|\|", text):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        words = [w for w in words if not re.match(r"^\d*[<>]", w)]
        if words:
            out.append(words)
    return out


def _script(words: list[str]) -> str | None:
    """The local script a command runs (`python x.py`, `bash run.sh`, `./run.sh`), if it names one."""
    first = words[0]
    if first.startswith("./"):
        return first[2:]
    if first in _INTERPRETERS and len(words) > 1 and not words[1].startswith("-") and "%" not in words[1]:
        candidate = words[1]
        if "/" not in candidate or not candidate.startswith("/"):
            return candidate if re.search(r"\.(py|sh|C|pl|R)$", candidate) else None
    return None


def _check_cycles(wf: Workflow, diags: list[Diagnostic]) -> None:
    ids = {s.id for s in wf.steps}
    deps = {s.id: [src.step for i in s.inputs for src in i.sources if src.step in ids] for s in wf.steps}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in deps[node]:
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                step = next(s for s in wf.steps if s.id == nxt)
                diags.append(Diagnostic(step.pos, "cycle: " + " -> ".join(cycle), nxt))
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for s in wf.steps:
        if s.id not in state:
            visit(s.id, [s.id])
