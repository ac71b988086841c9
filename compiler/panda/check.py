"""Checks of a PanDA workflow that need no values: references, step kinds, inputs, scatter, loops, scripts.

Each finding says what PanDA's server does (panda-server's `pcwl_utils.parse_workflow_file`,
`workflow_utils.resolve_nodes`, `Node.resolve_params`, `Node.verify`, as `workflow_processor.core_exec`
runs them): an **error** where the server refuses the workflow, a **warning** where it accepts
something very likely wrong, and also where it accepts what cannot run here (`panda-not-local`, an error
of `compile` and `run`). Every workflow document is checked once (sub-workflows included); emission adds the checks that
need values (placeholders, datasets, conditions, the client's option parser).
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from difflib import get_close_matches

from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.panda.detect import KINDS
from cwlpilot.compiler.panda.ir import ALLOWED_INPUTS, LOCAL_KINDS, WORKFLOW, Step, Workflow

SCATTER_METHODS = ("dotproduct", "flat_crossproduct", "nested_crossproduct")
# commands that cannot write a file by themselves (only a redirection could)
_QUIET = {"echo", "printf", "true", "false", ":", "sleep", "exit", "pwd", "ls", "cat", "date", "env", "hostname"}
_INTERPRETERS = {"python", "python3", "bash", "sh", "source", ".", "perl", "root", "Rscript"}
CANNOT_RUN = {
    "phpo": "phpo (hyperparameter optimisation) runs on PanDA's HPO service and cannot run locally",
    "reana": "reana steps are sent to a REANA cluster and cannot run locally",
    "gitlab": "gitlab steps trigger a GitLab CI pipeline and cannot run locally",
}
# inputs the server reads without a default (a KeyError there): workflow_utils.Node.make_task_params
REQUIRED = {
    "prun": ("opt_exec", "opt_args"),
    "reana": ("opt_exec", "opt_args"),
    "junction": ("opt_exec",),
    "phpo": ("opt_args",),
    "gitlab": ("opt_site", "opt_api", "opt_projectID", "opt_ref", "opt_triggerToken", "opt_accessToken"),
}


def check_workflows(root: Workflow, sandbox: str, check_only: bool = True) -> list[Diagnostic]:
    """Every finding in `root` and the workflows it runs."""
    diags: list[Diagnostic] = []
    seen: set[str] = set()

    def visit(wf: Workflow) -> None:
        if wf.path in seen:
            return
        seen.add(wf.path)
        _check_workflow(wf, sandbox, wf is root, check_only, diags)
        for step in wf.steps:
            if step.body is not None:
                visit(step.body)

    visit(root)
    return diags


def _warn(pos: Pos, message: str, step: str | None, rule: str) -> Diagnostic:
    return Diagnostic(pos, message, step, "warning", rule)


def ref_problem(ref: str, wf: Workflow) -> str | None:
    """Why the source `ref` (`step/out` or an input's name) gives nothing in `wf`, or None when it names
    something. As the server resolves it: a step output exists when it is in the step's `out` (an empty
    `out` makes `outDS`)."""
    steps = {s.id: s for s in wf.steps}
    if "/" not in ref:
        if wf.input(ref) is None:
            return f"'{ref}' is no input of this workflow{_hint(ref, [i.id for i in wf.inputs] + list(steps))}"
        return None
    name, _, port = ref.partition("/")
    if not name:
        return f"'{ref}' names no step: write STEP/{port or 'OUTPUT'}"
    if name not in steps:
        return f"'{ref}' names unknown step '{name}'{_hint(name, steps)}"
    outs = steps[name].out or ("outDS",)
    if port not in outs:
        return f"step '{name}' has no output '{port}' (its outputs: {', '.join(outs)})"
    return None


def _hint(name: str, known: object) -> str:
    close = get_close_matches(name, list(known), n=1)  # type: ignore[call-overload]
    return f"; did you mean '{close[0]}'?" if close else ""


def _check_workflow(wf: Workflow, sandbox: str, top: bool, check_only: bool, diags: list[Diagnostic]) -> None:
    for out in wf.outputs:
        if out.source is None or out.listed:
            # pcwl_utils.parse_workflow_file runs re.sub on every outputSource: None or a list fails
            diags.append(
                Diagnostic(
                    out.pos,
                    f"output '{out.id}' needs one outputSource STEP/OUTPUT (PanDA's server fails "
                    "without it: expected string or bytes-like object)", rule="panda-output-source")
            )
            continue
        problem = ref_problem(out.source, wf)
        if problem:  # the server uses outputs only to mark tail steps, and never checks them
            diags.append(
                _warn(
                    out.source_pos,
                    f"output '{out.id}': outputSource: {problem} (PanDA's server accepts it and ignores the output)",
                    None,
                    "panda-output-unknown-step",
                )
            )
    for step in wf.steps:
        _check_step(wf, step, sandbox, top, check_only, diags)
    _check_cycles(wf, diags)


def _check_step(wf: Workflow, step: Step, sandbox: str, top: bool, check_only: bool, diags: list[Diagnostic]) -> None:
    if step.kind in CANNOT_RUN:
        severity = "warning" if check_only else "error"
        diags.append(Diagnostic(step.run_pos, CANNOT_RUN[step.kind], step.id, severity, "panda-not-local"))
    if step.kind in KINDS:
        _check_leaf_inputs(step, top, diags)
    elif step.body is not None:
        _check_sub_inputs(step, diags)
    if step.loop and step.kind != WORKFLOW:
        diags.append(
            _warn(
                step.pos,
                f"the loop hint iterates a sub-workflow; PanDA's server ignores it on a {step.kind} step",
                step.id,
                "panda-loop-hint-ignored",
            )
        )
    if step.loop_ignored:
        diags.append(
            _warn(
                step.pos,
                f"`{step.loop_ignored}` is no loop for PanDA's server, which reads only "
                "`hints: [loop]`: the body runs once",
                step.id,
                "panda-loop-hint-ignored",
            )
        )
    _check_scatter(step, diags)
    if step.kind in LOCAL_KINDS:
        _check_exec(step, sandbox, diags)


def _check_leaf_inputs(step: Step, top: bool, diags: list[Diagnostic]) -> None:
    allowed = ALLOWED_INPUTS[step.kind]
    for inp in step.inputs:
        if inp.name in allowed:
            continue
        message = f"unknown input parameter '{inp.name}' for {step.kind}{_hint(inp.name, allowed)}"
        if top:  # Node.verify
            diags.append(Diagnostic(inp.pos, message, step.id, rule="panda-unknown-input"))
        else:
            diags.append(
                _warn(
                    inp.pos,
                    f"{message} (PanDA's server does not verify steps of sub-workflows: it ignores the input)",
                    step.id,
                    "panda-unverified-input",
                )
            )
    for name in REQUIRED.get(step.kind, ()):
        if step.input(name) is None:
            diags.append(
                Diagnostic(
                    step.pos,
                    f"a {step.kind} step needs {name}: PanDA's server fails without it (KeyError '{name}')",
                    step.id, rule="panda-required-input")
            )
    if step.kind == "phpo" and step.input("opt_trainingDsType") is not None and step.input("opt_inDsType") is None:
        where = step.input("opt_trainingDsType")
        diags.append(
            Diagnostic(
                where.pos if where else step.pos,
                "PanDA's server fails on opt_trainingDsType (it reads opt_inDsType instead: KeyError 'opt_inDsType')",
                step.id, rule="panda-required-input")
        )
    project = step.input("opt_projectID")
    if step.kind == "gitlab" and project is not None and project.has_default and not _is_int(project.default):
        diags.append(
            Diagnostic(
                project.value_pos,
                f"opt_projectID must be a whole number, not '{project.default}' (PanDA's server fails on it)",
                step.id, rule="panda-input-value")
        )


def _is_int(value: object) -> bool:
    try:
        int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return False
    return True


def _check_sub_inputs(step: Step, diags: list[Diagnostic]) -> None:
    """A sub-workflow's inputs: the server passes the step's inputs by name and ignores the others."""
    assert step.body is not None
    body_inputs = {i.id: i for i in step.body.inputs}
    for inp in step.inputs:
        if inp.name not in body_inputs:
            diags.append(
                _warn(
                    inp.pos,
                    f"'{inp.name}' is no input of {step.run}{_hint(inp.name, body_inputs)} (PanDA's server ignores it)",
                    step.id,
                    "panda-subworkflow-input",
                )
            )
    for b in step.body.inputs:
        if not b.has_default and step.input(b.id) is None and not (step.loop and b.is_param):
            diags.append(
                _warn(
                    step.pos,
                    f"input '{b.id}' of {step.run} is not given and has no default: its steps read nothing from it",
                    step.id,
                    "panda-subworkflow-input",
                )
            )


def _check_scatter(step: Step, diags: list[Diagnostic]) -> None:
    if step.scatter_text:  # pcwl_utils.parse_workflow_file iterates step.scatter: a name, letter by letter
        diags.append(
            Diagnostic(
                step.pos,
                f"scatter: {step.scatter[0]} must be a list for PanDA's server: write "
                f"scatter: [{step.scatter[0]}] (it fails on a single name: 'NoneType' "
                "object has no attribute 'group')",
                step.id, rule="panda-scatter")
        )
        return
    for name in step.scatter:
        inp = step.input(name)
        if inp is None:
            diags.append(
                Diagnostic(
                    step.pos,
                    f"scatter over '{name}', which is no input of the step (PanDA's server fails: KeyError)",
                    step.id, rule="panda-scatter")
            )
        elif not inp.sources:
            diags.append(
                Diagnostic(
                    inp.pos,
                    f"scatter over '{name}', which has no source: PanDA's server "
                    "scatters only values that come from a source (KeyError 'value')",
                    step.id, rule="panda-scatter")
            )
    if step.scatter_method and step.scatter_method != "dotproduct":
        diags.append(
            _warn(
                step.pos,
                f"PanDA's server ignores scatterMethod ({step.scatter_method}): it pairs "
                "the arrays element by element (dotproduct)",
                step.id,
                "panda-scatter-method",
            )
        )


def _check_exec(step: Step, sandbox: str, diags: list[Diagnostic]) -> None:
    inp = step.input("opt_exec")
    if inp is None or not isinstance(inp.default, str):
        return
    commands = _commands(inp.default)
    for words in commands:
        script = _script(words)
        if script and not os.path.exists(os.path.join(sandbox, script)):
            diags.append(
                _warn(
                    inp.value_pos,
                    f"opt_exec runs '{script}', which is not in the workflow's folder {sandbox} (PanDA "
                    "ships that folder as the job's sandbox; the job will not find it)",
                    step.id,
                    "panda-exec-script-missing",
                )
            )
    if (
        step.kind == "junction"
        and "results.json" not in inp.default
        and commands
        and all(w and w[0] in _QUIET for w in commands)
    ):
        diags.append(
            _warn(
                inp.value_pos,
                f"junction opt_exec '{inp.default}' never writes results.json: a junction's command must "
                'write results.json in its working folder (e.g. {"to_terminate": true}) to update the loop '
                "and decide",
                step.id,
                "panda-junction-no-results",
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
    if re.fullmatch(r"[\w.-]+\.(sh|py)", first):  # a script named by itself, found through PATH ('.' on the grid)
        return first
    return None


def step_parents(wf: Workflow) -> Mapping[str, list[str]]:
    """The steps each step reads an output of, as pcwl_utils.parse_workflow_file finds parents."""
    outputs = {f"{s.id}/{o}" for s in wf.steps for o in (s.out or ("outDS",))}
    return {
        s.id: list(dict.fromkeys(src.ref.split("/")[0] for i in s.inputs for src in i.sources if src.ref in outputs))
        for s in wf.steps
    }


def _check_cycles(wf: Workflow, diags: list[Diagnostic]) -> None:
    deps = step_parents(wf)
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in deps[node]:
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                step = next(s for s in wf.steps if s.id == nxt)
                diags.append(
                    Diagnostic(
                        step.pos,
                        "cycle: " + " -> ".join(cycle) + " (PanDA's server never ends "
                        "sorting it: maximum recursion depth exceeded)",
                        nxt, rule="panda-cycle")
                )
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for s in wf.steps:
        if s.id not in state:
            visit(s.id, [s.id])
