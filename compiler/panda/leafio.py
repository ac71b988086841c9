"""A leaf step's inputs as PanDA reads them: opt_args through prun's parser, the datasets opt_inDS and
opt_secondaryDSs name (and the names the server gives them), the secondary streams, the text the server
shows and submits, and what its `Node.verify` and the client's dry run refuse.

Each check says whose behaviour it follows; `leaf.py` turns the result into stages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from cwlpilot.compiler.errors import Pos
from cwlpilot.compiler.panda import condition as cond
from cwlpilot.compiler.panda import prunopts, server
from cwlpilot.compiler.panda.inputs import dataset_refs, local_kind, parent_type, strings, text_input
from cwlpilot.compiler.panda.ir import Step
from cwlpilot.compiler.panda.prunargs import PrunArgs, parse_args
from cwlpilot.compiler.panda.secondary import Stream, find_secondaries, find_streams
from cwlpilot.compiler.panda.values import Bound, DatasetRef, Datasets, Emitted, Lit, LoopRef, Options, Scope, at
from cwlpilot.semantics.panda import placeholders as ph

FSS = prunopts.SPANS["--forceStagedSecondary"]


class Io(NamedTuple):
    """What a leaf step reads and runs, resolved and checked."""

    exec_text: str
    args_text: str
    args: PrunArgs
    primary: list[DatasetRef]
    kinds: list[str | None]  # the type each primary dataset is read with
    secondaries: list[DatasetRef]  # opt_secondaryDSs, in order (%{SECDSn})
    streams: list[Stream]
    view: server.View
    in_ds: list[str]  # the server's names of the opt_inDS datasets
    sec_ds: list[str]


def suppressed(step: Step) -> set[str]:
    """Inputs a `!self.X` in the step's condition leaves out of the task (suppress_inputs_based_on_condition
    compares the whole operand with the input's name, so `!self.X[0]` leaves X in)."""
    if step.when is None:
        return set()
    try:
        tree = cond.parse(step.when)
    except cond.ConditionSyntaxError:
        return set()
    found: set[str] = set()

    def walk(node: cond.Cond) -> None:
        if isinstance(node, cond.Not) and isinstance(node.arg, cond.Ref) and node.arg.item is None:
            found.add(node.arg.name)
        for child in getattr(node, "args", ()) or ([node.arg] if isinstance(node, cond.Not) else []):
            walk(child)

    walk(tree)
    return found


def resolve(step: Step, ins: Mapping[str, Bound], task: str, scope: Scope, out: Emitted, opts: Options) -> Io:
    """The leaf step's inputs, read as PanDA's server and client read them; every finding goes to `out`."""
    exec_text = text_input(ins, "opt_exec", step, out) or ""
    args_text = text_input(ins, "opt_args", step, out) or ""
    exec_in, args_in = step.input("opt_exec"), step.input("opt_args")
    exec_pos = exec_in.value_pos if exec_in else step.pos
    args_pos = args_in.value_pos if args_in else step.pos
    if exec_in is not None and not exec_text:
        out.error(exec_pos, "opt_exec is empty: panda-client refuses the step (you need to give --exec)", step.id,
            rule="panda-exec")
    pa = parse_args(args_text)
    _client_findings(step, pa, args_pos, ins, out)
    off = suppressed(step)
    primary, kinds, in_ds = _primary(step, ins, off, out, opts)
    secondaries, sec_ds = find_secondaries(step, ins, out, opts)
    streams = find_streams(step, pa, args_text, args_pos, secondaries, sec_ds, in_ds, ins, out, opts)
    leaf = server.Leaf(
        kind=step.kind,
        exec_text=exec_text,
        args_text=args_text,
        in_ds=in_ds,
        secondary=sec_ds,
        loop_params=list(scope.params) if scope.in_sub else [],
        locals=local_texts(scope) if scope.in_sub else {},
        in_sub=scope.in_sub,
        task=task,
        container=next(iter(strings(ins, "opt_containerImage")), None),
        athena=strings(ins, "opt_useAthenaPackages")[:1] in (["True"], ["true"]) and step.kind != "reana",
    )
    view = server.view(leaf)
    _verify(step, ins, off, view, scope, out)
    _local_limits(step, pa, args_pos, in_ds, out)
    _placeholders(step, exec_text, exec_pos, primary, streams, scope, out)
    _ds_in_args(step, pa, args_text, args_pos, out)
    if step.kind == "junction" and in_ds:
        out.client_refusal(
            step.pos,
            "PanDA's server adds --forceStagedSecondary to every junction that reads a dataset "
            "(workflow_utils.Node.make_task_params)",
            step.id,
            "panda-junction-force-staged-secondary",
            FSS,
        )
    return Io(exec_text, args_text, pa, primary, kinds, secondaries, streams, view, in_ds, sec_ds)


def _local_limits(step: Step, pa: PrunArgs, pos: Pos, in_ds: list[str], out: Emitted) -> None:
    """What PanDA accepts in opt_args but cwlpilot does not do locally: a note of check, an error of run."""
    if pa.in_ds is not None and not in_ds:
        out.local(
            pos,
            "--inDS in opt_args: the task reads that dataset, but cwlpilot reads input datasets only "
            "from opt_inDS; give it there",
            step.id,
            "panda-not-local",
        )
    if any(o.startswith("regex|") for o in pa.outputs):
        out.local(
            pos,
            "--outputs regex|...: cwlpilot collects outputs by file name or glob pattern only",
            step.id,
            "panda-not-local",
        )


def local_texts(scope: Scope) -> dict[str, str]:
    """The sub-workflow's other inputs as the server writes them into opt_exec (`f"{value}"`); a dataset
    input gives its name."""
    out = {}
    for k, v in scope.locals.items():
        if isinstance(v, Datasets):
            names = [r.name for r in v.refs]
            out[k] = ph.format_local(names if v.listed or len(names) != 1 else names[0])
        elif isinstance(v, Lit):
            out[k] = ph.format_local(v.value)
    return out


def _client_findings(step: Step, pa: PrunArgs, pos: Pos, ins: Mapping[str, Bound], out: Emitted) -> None:
    """panda-client's dry run of the step (PrunScript.main(True, args, dry_mode=True)), run by the server."""
    for offset, message in pa.errors:
        out.error(at(pos, offset), f"opt_args: {message}", step.id, rule="panda-opt-args")
    for offset, message, rule in pa.warnings:
        out.warn(at(pos, offset), f"opt_args: {message}", step.id, rule)
    for offset, option, rule, span in pa.versioned:
        out.client_refusal(
            at(pos, offset), f"opt_args: {option} is no option of some prun releases", step.id, rule, span
        )
    if pa.memory is not None and pa.memory > prunopts.MEMORY_LIMIT and not pa.confirmed:
        out.client_refusal(
            pos,
            f"opt_args: --memory {pa.memory} (MB per core, above {prunopts.MEMORY_LIMIT}) without -y makes prun ask "
            "'Are you sure with the memory requirement?', which the server cannot answer (EOF when reading a "
            "line); add -y",
            step.id,
            "panda-client-memory-question",
            prunopts.MEMORY_QUESTION,
        )
    athena = strings(ins, "opt_useAthenaPackages")[:1] in (["True"], ["true"])
    if "--athenaTag" in pa.options and "--cmtConfig" not in pa.options and not athena:
        out.error(
            pos,
            "opt_args: --athenaTag without --cmtConfig in a step without opt_useAthenaPackages: "
            "panda-client refuses it on the server (CMTCONFIG is undefined. Please set --cmtConfig)",
            step.id, rule="panda-opt-args")
    first = pa.output_specs[0] if pa.output_specs else ""
    if ":" in first and not first.startswith("regex|"):
        suffix, _, name = first.partition(":")
        out.warn(
            pos,
            f"--outputs {suffix}:{name}: the dataset is named ..._{suffix}/, but the steps reading it "
            f"look for ..._{name}/ (the server takes the type from the file name)",
            step.id,
            "panda-output-suffix",
        )


def _primary(
    step: Step, ins: Mapping[str, Bound], off: set[str], out: Emitted, opts: Options
) -> tuple[list[DatasetRef], list[str | None], list[str]]:
    """The opt_inDS datasets, the type each is read with, and the server's names for them."""
    bound = ins.get("opt_inDS")
    if bound is None:
        return [], [], []
    refs = dataset_refs(bound.value, step.input("opt_inDS"), step, out, opts)
    listed = isinstance(bound.value, Datasets) and (bound.value.listed or len(refs) != 1)
    listed = listed or (isinstance(bound.value, Lit) and isinstance(bound.value.value, list))
    given = (
        ins["opt_inDsType"].value.value
        if "opt_inDsType" in ins and isinstance(ins["opt_inDsType"].value, Lit)
        else None
    )
    names: Any = [r.name for r in refs] if listed else (refs[0].name if refs else None)
    in_ds = server.input_datasets(names, given, [parent_type(r) for r in refs])
    if listed and isinstance(given, str) and given:
        shown = ", ".join(in_ds)
        out.warn(
            step.input("opt_inDsType").pos if step.input("opt_inDsType") else step.pos,  # type: ignore[union-attr]
            f"opt_inDsType is one type but opt_inDS is a list of {len(refs)} datasets: PanDA's server pairs "
            f"the datasets with the characters of '{given}' ({shown}); give a list of types",
            step.id,
            "panda-intype-characters",
        )
    if "opt_inDS" in off:  # the task is made without --inDS: the job reads none of them
        return [], [], []
    if given:
        kinds: list[str | None] = [str(k) for k in (given if listed else [given])]
        kinds = kinds[: len(refs)]
        refs = refs[: len(kinds)]  # zip() there drops the datasets beyond the types
    else:
        kinds = [local_kind(r) if r.producers else None for r in refs]
    return refs, kinds, in_ds


def _ds_in_args(step: Step, pa: PrunArgs, args_text: str, pos: Pos, out: Emitted) -> None:
    """`%{DSn}` elsewhere in opt_args also reaches the task as written (make_task_params splits opt_args first)."""
    spans = [(e.at, e.dataset_at + len(e.dataset)) for e in pa.secondary]
    for m in re.finditer(r"%\{DS(\d+|\*)\}", args_text):
        if any(a <= m.start() <= b for a, b in spans):
            continue
        out.warn(
            at(pos, m.start()),
            f"{m.group(0)} in opt_args reaches the task as it is written: PanDA's server "
            "replaces %{DSn} in opt_args only in what it shows and checks",
            step.id,
            "panda-ds-placeholder-in-args",
        )


def _verify(step: Step, ins: Mapping[str, Bound], off: set[str], view: server.View, scope: Scope, out: Emitted) -> None:
    """workflow_utils.Node.verify: every input has a value, no `%{...DSn}` is left (top-level steps only)."""
    top = not scope.in_sub
    for name, bound in sorted(ins.items()):
        if name in off or not (isinstance(bound.value, Lit) and bound.value.value is None):
            continue
        where = step.input(name)
        why = f": {bound.problem}" if bound.problem else ""
        out.verified(where.pos if where else step.pos, f"{name} is unresolved{why}", step.id, top, "panda-unresolved")
    left = server.unresolved(view.exec_shown, view.args_shown)
    if left is not None:
        placeholder, field = left
        where = step.input(field)
        text = where.default if where is not None and isinstance(where.default, str) else ""
        offset = text.find(placeholder) if placeholder in text else 0
        pos = at(where.value_pos, max(offset, 0)) if where else step.pos
        out.verified(pos, f"{placeholder} is unresolved in {field}", step.id, top, "panda-unresolved")


def _placeholders(
    step: Step, text: str, pos: Pos, primary: list[DatasetRef], streams: list[Stream], scope: Scope, out: Emitted
) -> None:
    """What is left as written in opt_exec (PanDA does not complain; the job gets the text)."""
    names = [s.name for s in streams]
    declared = set(names) | ({"IN"} if primary or step.input("opt_inDS") is not None else set())
    for token in ph.tokenize(text, names):
        where = at(pos, token.at)
        spelled = ph.spelling(token)
        if isinstance(token, ph.Stream) and token.name not in declared:
            why = "the step has no opt_inDS" if token.name == "IN" else f"no --secondaryDSs entry defines {token.name}"
            out.warn(where, f"opt_exec: {spelled} is left as written: {why}", step.id, "panda-unknown-stream")
        elif isinstance(token, (ph.Param, ph.Iteration)) and not scope.in_sub:
            out.warn(
                where,
                f"opt_exec: {spelled} is left as written: PanDA's server substitutes %{{name}} and "
                "%{i} only in the steps of a sub-workflow",
                step.id,
                "panda-toplevel-placeholder",
            )
        elif isinstance(token, ph.Param) and token.name not in scope.params and token.name not in scope.locals:
            out.warn(
                where,
                f"opt_exec: {spelled} names no input of the enclosing sub-workflow: it is left as written",
                step.id,
                "panda-unknown-placeholder",
            )
        elif isinstance(token, ph.Iteration) and scope.loop is None and "i" not in scope.locals:
            out.warn(
                where,
                "opt_exec: %{i} outside a loop: iDDS counts the run of a sub-workflow from 1, so it reads 1",
                step.id,
                "panda-iteration-outside-loop",
            )
        elif isinstance(token, ph.Bad):
            out.warn(
                where,
                f"opt_exec: {spelled} is no placeholder; it is left as written",
                step.id,
                "panda-unknown-placeholder",
            )


__all__ = ["Io", "LoopRef", "Stream", "dataset_refs", "resolve", "strings", "text_input"]
