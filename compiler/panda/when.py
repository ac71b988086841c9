"""`when:` on a step: the PanDA condition checked against the step's inputs and translated for the executor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cwlpilot.compiler.panda import condition as cond
from cwlpilot.compiler.panda.ir import Step
from cwlpilot.compiler.panda.values import Bound, Emitted, Lit, at, producers


def translate_when(step: Step, ins: Mapping[str, Bound], out: Emitted) -> tuple[str | None, list[str]]:
    """The executor condition of the step's `when`, and the stages it tests (None when there is none)."""
    if step.when is None:
        return None, []
    try:
        tree = cond.parse(step.when)
    except cond.ConditionSyntaxError as exc:
        out.error(at(step.when_pos, exc.offset), f"when: {exc}", step.id, rule="panda-when")
        return None, []
    problem = cond.server_problem(step.when)
    if problem is not None:
        out.error(step.when_pos, f"when: {problem}", step.id, rule="panda-when")
    tested: dict[str, None] = {}
    ok = True

    def stages_of(ref: cond.Ref) -> Sequence[str]:
        nonlocal ok
        found = _tested_stages(step, ins, ref, out)
        if not found:
            ok = False
            return ["?"]
        tested.update(dict.fromkeys(found))
        return found

    text = cond.translate(tree, stages_of)
    return (text if ok else None), list(tested)


def _tested_stages(step: Step, ins: Mapping[str, Bound], ref: cond.Ref, out: Emitted) -> list[str]:
    where = at(step.when_pos, ref.at)
    bound = ins.get(ref.name)
    if bound is None:
        known = ", ".join(sorted(ins)) or "none"
        out.error(where, f"when: self.{ref.name} names no input of this step (its inputs: {known})", step.id,
            rule="panda-when")
        return []
    value = bound.value
    if ref.item is not None:
        if ref.item >= len(bound.parts):
            out.error(
                where,
                f"when: self.{ref.name}[{ref.item}] is out of range: {ref.name} has {len(bound.parts)} source(s)",
                step.id, rule="panda-when")
            return []
        value = bound.parts[ref.item]
    found = list(producers(value))
    if not found and isinstance(value, Lit):  # a dataset made by no step (an upstream mistake says so itself)
        out.error(
            where,
            f"when: self.{ref.name} does not come from another step's output, so there is no parent step to test",
            step.id, rule="panda-when")
    return found


def guard_stages(step: Step, ins: Mapping[str, Bound], stages: list[dict[str, Any]], out: Emitted) -> None:
    """A conditional sub-workflow: every stage inside runs only when the step's condition holds."""
    outer, tested = translate_when(step, ins, out)
    if outer is None:
        return
    for stage in stages:
        if (stage.get("data") or {}).get("panda", {}).get("role") == "gather":
            continue  # it needs its splitter, which is guarded: a guard that fails skips both
        own = stage.get("condition")
        if own is None:
            own = " && ".join(f"done({n})" for n in stage["needs"]) or "true"
        stage["condition"] = f"({outer}) && ({own})"
        stage["needs"] = sorted(set(stage["needs"]) | set(tested))
