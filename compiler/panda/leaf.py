"""prun and junction steps -> stages: datasets in and out, job splits, placeholders checked, conditions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from compiler.errors import Pos
from compiler.panda import condition as cond
from compiler.panda.ir import Step, StepIn
from compiler.panda.prunargs import PrunArgs, parse_args
from compiler.panda.values import (
    DatasetRef,
    Datasets,
    Emitted,
    Lit,
    LoopRef,
    Node,
    Options,
    Scope,
    Value,
    at,
    producers,
)
from cwlpilot.panda import placeholders as ph
from cwlpilot.panda.datasets import DATASETS

if TYPE_CHECKING:
    from compiler.panda.emit import Bound


def shown_inputs(ins: Mapping[str, Bound]) -> tuple[tuple[str, str], ...]:
    """The step's inputs as the dump prints them."""
    return tuple((k, _shown(b.value)) for k, b in sorted(ins.items()))


def _shown(value: Value) -> str:
    if isinstance(value, Datasets):
        names = [r.name for r in value.refs]
        return ",".join(names) if not value.listed else "[" + ", ".join(names) + "]"
    if isinstance(value, LoopRef):
        return f"%{{{value.key}}}" + (f"[{value.index}]" if value.index is not None else "")
    return "" if value.value is None else str(value.value)


def _text(ins: Mapping[str, Bound], key: str, step: Step, out: Emitted) -> str | None:
    bound = ins.get(key)
    if bound is None or (isinstance(bound.value, Lit) and bound.value.value is None):
        return None
    if isinstance(bound.value, Lit) and isinstance(bound.value.value, str):
        return bound.value.value
    where = step.input(key)
    out.error(where.pos if where else step.pos, f"{key} must be a string", step.id)
    return None


def _strings(ins: Mapping[str, Bound], key: str) -> list[str]:
    bound = ins.get(key)
    if bound is None or not isinstance(bound.value, Lit) or bound.value.value is None:
        return []
    v = bound.value.value
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def dataset_refs(
    value: Value | None, where: StepIn | None, step: Step, out: Emitted, opts: Options
) -> list[DatasetRef]:
    """The datasets a value names: upstream outputs as they are, dataset names through the local mapping."""
    if value is None:
        return []
    if isinstance(value, Datasets):
        return list(value.refs)
    names = value.value if isinstance(value, Lit) else None
    names = names if isinstance(names, list) else [names]
    refs = []
    for name in names:
        if name is None:
            continue
        local = opts.datasets.get(str(name)) or opts.datasets.get(str(name).rstrip("/"))
        if local is not None:
            refs.append(DatasetRef(local.path, str(name), ()))
            continue
        pos = where.pos if where else step.pos
        if opts.check_only:
            out.note(f"dataset '{name}' has no local folder yet (map it for `run`)", step.id)
        else:
            out.error(
                pos,
                f"dataset '{name}' has no local folder: give --dataset '{name}'=DIR, or map it in a "
                "datasets file (--datasets FILE, or datasets.yaml beside the inputs file)",
                step.id,
            )
        refs.append(DatasetRef("", str(name), ()))
    return refs


def emit_leaf(
    step: Step, ins: Mapping[str, Bound], name: str, display: str, scope: Scope, out: Emitted, opts: Options
) -> dict[str, Value]:
    exec_text = _text(ins, "opt_exec", step, out)
    if exec_text is None:
        out.error(step.pos, f"a {step.kind} step needs opt_exec (the command to run)", step.id)
        exec_text = ""
    args_text = _text(ins, "opt_args", step, out) or ""
    pa = parse_args(args_text)
    args_pos = step.input("opt_args").value_pos if step.input("opt_args") else step.pos  # type: ignore[union-attr]
    for offset, message in pa.errors:
        out.error(at(args_pos, offset), f"opt_args: {message}", step.id)
    _notes(step, ins, pa, out)
    primary = dataset_refs(
        ins["opt_inDS"].value if "opt_inDS" in ins else None, step.input("opt_inDS"), step, out, opts
    )
    secondaries = [
        dataset_refs(p, step.input("opt_secondaryDSs"), step, out, opts)
        for p in (ins["opt_secondaryDSs"].parts if "opt_secondaryDSs" in ins else ())
    ]
    streams = _streams(step, pa, secondaries, _strings(ins, "opt_secondaryDsTypes"), primary, args_pos, out)
    _check_placeholders(step, exec_text, primary, secondaries, streams, scope, out)
    nnn = out.next_id()
    ds_name = f"{opts.out_ds}_{nnn:03d}_{dataset_part(name)}"
    condition, cond_stages = translate_when(step, ins, out)
    needs = sorted(
        set(producers(ins["opt_inDS"].value) if "opt_inDS" in ins else ())
        | {p for refs in secondaries for r in refs for p in r.producers}
        | set(cond_stages)
    )
    jobs = _jobs(step, pa, primary, _strings(ins, "opt_inDsType"), opts)
    names = [name] if len(jobs) == 1 else [f"{name}.job{j}" for j in range(len(jobs))]
    base = {
        "type": step.kind,
        "step": display,
        "exec": exec_text,
        "args": args_text,
        "outputs": list(pa.outputs),
        "dataset": f"{DATASETS}/{ds_name}",
        "inputs": [_ref_data(r) for r in primary],
        "in_types": _strings(ins, "opt_inDsType"),
        "streams": streams,
        "secondary": [r.path for refs in secondaries for r in refs],
        "files_per_job": pa.files_per_job,
        "optional": step.when is not None,
        "param_map": _param_map(scope),
        "param_values": _param_values(scope),
        "iteration": None,
        "sandbox": opts.sandbox,
        "params": dict(scope.loop.params) if scope.loop else {},
    }
    for stage_name, job in zip(names, jobs, strict=True):
        stage: dict[str, Any] = {
            "name": stage_name,
            "cmd": exec_text,
            "needs": needs,
            "kind": f"panda_{step.kind}",
            "cwd": stage_name,
            "data": {"panda": {**base, "jobs": job}},
        }
        if condition is not None:
            stage["condition"] = condition
        out.stages.append(stage)
        out.node_of_stage[stage_name] = nnn
    parents = tuple(sorted({out.node_of_stage[p] for p in needs if p in out.node_of_stage}))
    out.nodes.append(
        Node(
            nnn,
            display,
            step.kind,
            parents,
            shown_inputs(ins),
            (ds_name,),
            tuple(names),
            step.when,
            condition,
            scope.loop.gate if scope.loop else None,
        )
    )
    return {port: Datasets((DatasetRef(f"{DATASETS}/{ds_name}", ds_name, tuple(names)),)) for port in step.out}


def dataset_part(name: str) -> str:
    """A stage name as part of a dataset name: `a[1,2].b` -> `a_1_2.b`, so a shell never reads it as a glob."""
    return name.replace("[", "_").replace("]", "").replace(",", "_")


def _ref_data(ref: DatasetRef) -> dict[str, Any]:
    return {"path": ref.path, "name": ref.name, "producers": list(ref.producers)}


def _param_map(scope: Scope) -> dict[str, list[Any]]:
    return {k: [v.key, v.index] for k, v in sorted(scope.params.items()) if isinstance(v, LoopRef)}


def _param_values(scope: Scope) -> dict[str, Any]:
    return {k: v.value for k, v in sorted(scope.params.items()) if isinstance(v, Lit)}


def _notes(step: Step, ins: Mapping[str, Bound], pa: PrunArgs, out: Emitted) -> None:
    for option in pa.ignored:
        out.note(f"prun option {option} has no local meaning (accepted, ignored)", step.id)
    if _strings(ins, "opt_useAthenaPackages") in (["True"], ["true"]):
        out.note("opt_useAthenaPackages: runs in this machine's environment; no Athena release is set up", step.id)
    if _strings(ins, "opt_containerImage"):
        out.note("opt_containerImage: runs directly on this machine, without the container", step.id)
    if step.kind == "junction" and (pa.n_jobs or pa.files_per_job):
        out.note("a junction always runs one job over all its inputs (--nJobs/--nFilesPerJob ignored)", step.id)


def _streams(
    step: Step,
    pa: PrunArgs,
    secondaries: list[list[DatasetRef]],
    types: list[str],
    primary: list[DatasetRef],
    args_pos: Pos,
    out: Emitted,
) -> list[dict[str, Any]]:
    """Secondary input streams (IN2, IN3, ...): which datasets each reads and how many files per job."""

    def stream(n: int, index: int, n_files: int | None) -> dict[str, Any]:
        refs = secondaries[index] if index < len(secondaries) else []
        kind = types[index : index + 1] if index < len(types) else []
        return {"n": n, "files": n_files, "inputs": [_ref_data(r) for r in refs], "types": kind}

    if not pa.secondary:  # no --secondaryDSs: each secondary dataset is its own stream, all files
        return [stream(k + 2, k, None) for k in range(len(secondaries))]
    result = []
    for entry in pa.secondary:
        index = _secondary_index(step, entry, secondaries, primary, args_pos, out)
        result.append(stream(entry.stream, max(index, 0), entry.n_files))
    return result


def _secondary_index(
    step: Step, entry: Any, secondaries: list[list[DatasetRef]], primary: list[DatasetRef], args_pos: Pos, out: Emitted
) -> int:
    tokens = [t for t in ph.tokenize(entry.dataset) if not isinstance(t, ph.Text) or t.text.strip()]
    where = at(args_pos, entry.dataset_at)
    names = [r.name for refs in secondaries for r in refs]
    if len(tokens) == 1 and isinstance(tokens[0], ph.Dataset) and tokens[0].n is not None:
        t = tokens[0]
        if t.secondary and 1 <= t.n <= len(secondaries):
            return t.n - 1
        if not t.secondary:
            src = step.input("opt_inDS")
            refs = [x.ref for x in src.sources] if src and src.sources else [r.name for r in primary]
            shown = refs[t.n - 1] if 0 < t.n <= len(refs) else "nothing"
            out.error(
                where,
                f"--secondaryDSs IN{entry.stream} reads {ph.spelling(t)}, which is opt_inDS's dataset "
                f"({shown}), not one of opt_secondaryDSs; write %{{SECDS{t.n}}} (older PanDA documentation "
                "wrote %{DSn} for secondary datasets)",
                step.id,
            )
            return t.n - 1
        out.error(
            where,
            f"--secondaryDSs: {ph.spelling(t)} is out of range: opt_secondaryDSs has {len(secondaries)} dataset(s)",
            step.id,
        )
        return -1
    if entry.dataset in names:
        return names.index(entry.dataset)
    out.error(
        where,
        f"--secondaryDSs IN{entry.stream}: '{entry.dataset}' is none of opt_secondaryDSs; "
        "write %{SECDSn} for the n-th of them",
        step.id,
    )
    return -1


def _check_placeholders(
    step: Step,
    text: str,
    primary: list[DatasetRef],
    secondaries: list[list[DatasetRef]],
    streams: list[dict[str, Any]],
    scope: Scope,
    out: Emitted,
) -> None:
    values = ph.Values(
        streams={1: ()} if primary or step.input("opt_inDS") is not None else {},
        job=0,
        datasets=[r.name for r in primary],
        secondary=[r.name for refs in secondaries for r in refs],
        iteration=0 if scope.loop else None,
        params={k: 0 for k in scope.params},
    )
    values = values._replace(streams={**values.streams, **{s["n"]: () for s in streams}})
    where = step.input("opt_exec")
    pos = where.value_pos if where else step.pos
    for token in ph.tokenize(text):
        why = ph.unresolved(token, values)
        if why is not None:
            out.error(at(pos, token.at), f"opt_exec: {ph.spelling(token)} {why}", step.id)


def _jobs(
    step: Step, pa: PrunArgs, primary: list[DatasetRef], types: list[str], opts: Options
) -> list[list[int] | None]:
    """One entry per stage: the job serial numbers it runs, or None for jobs decided at run time.

    Inputs known now (local datasets) are split into stages here; inputs made upstream are split into
    jobs by the stage itself at run time, since their files do not exist yet.
    """
    if step.kind == "junction":
        return [[0]]
    if not primary:
        return [[j] for j in range(pa.n_jobs or 1)]
    if pa.files_per_job and all(not r.producers and r.path for r in primary):
        local = {d.path: d for d in opts.datasets.values()}
        count = sum(
            1
            for r in primary
            for f in getattr(local.get(r.path), "files", ())
            if not types or any(f == t or f.endswith("." + t) for t in types)
        )
        return [[j] for j in range(max(1, -(-count // pa.files_per_job)))]
    return [None]


def translate_when(step: Step, ins: Mapping[str, Bound], out: Emitted) -> tuple[str | None, list[str]]:
    """The executor condition of the step's `when`, and the stages it tests (None when there is none)."""
    if step.when is None:
        return None, []
    try:
        tree = cond.parse(step.when)
    except cond.ConditionSyntaxError as exc:
        out.error(at(step.when_pos, exc.offset), f"when: {exc}", step.id)
        return None, []
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
        out.error(where, f"when: self.{ref.name} names no input of this step (its inputs: {known})", step.id)
        return []
    value = bound.value
    if ref.index is not None:
        if ref.index >= len(bound.parts):
            out.error(
                where,
                f"when: self.{ref.name}[{ref.index}] is out of range: {ref.name} has {len(bound.parts)} source(s)",
                step.id,
            )
            return []
        value = bound.parts[ref.index]
    found = list(producers(value))
    if not found and isinstance(value, Lit):  # a dataset made by no step (an upstream mistake says so itself)
        out.error(
            where,
            f"when: self.{ref.name} does not come from another step's output, so there is no parent step to test",
            step.id,
        )
    return found


def guard_stages(step: Step, ins: Mapping[str, Bound], stages: list[dict[str, Any]], out: Emitted) -> None:
    """A conditional sub-workflow: every stage inside runs only when the step's condition holds."""
    outer, tested = translate_when(step, ins, out)
    if outer is None:
        return
    for stage in stages:
        own = stage.get("condition")
        if own is None:
            own = " && ".join(f"done({n})" for n in stage["needs"]) or "true"
        stage["condition"] = f"({outer}) && ({own})"
        stage["needs"] = sorted(set(stage["needs"]) | set(tested))
