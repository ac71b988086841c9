"""prun and junction steps -> stages: datasets in and out, job splits, placeholders checked, conditions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

from cwlpilot.compiler import limits
from cwlpilot.compiler.budget import json_size
from cwlpilot.compiler.errors import Pos
from cwlpilot.compiler.panda.ir import Step, StepIn
from cwlpilot.compiler.panda.prunargs import PrunArgs, parse_args
from cwlpilot.compiler.panda.values import (
    Bound,
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
)
from cwlpilot.compiler.panda.when import translate_when
from cwlpilot.semantics.panda import placeholders as ph
from cwlpilot.semantics.panda.datasets import DATASETS


def shown_inputs(ins: Mapping[str, Bound]) -> tuple[tuple[str, str], ...]:
    """The step's inputs as the dump prints them."""
    return tuple((k, _shown(b.value)) for k, b in sorted(ins.items()))


def _shown(value: Value) -> str:
    if isinstance(value, Datasets):
        names = [r.name for r in value.refs]
        return ",".join(names) if not value.listed else "[" + ", ".join(names) + "]"
    if isinstance(value, LoopRef):
        return f"%{{{value.key}}}" + (f"[{value.item}]" if value.item is not None else "")
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


class _Io(NamedTuple):
    """A leaf step's command, options and datasets, as resolved (and checked) at emission."""

    exec_text: str
    args_text: str
    args: PrunArgs
    primary: list[DatasetRef]
    secondaries: list[list[DatasetRef]]
    streams: list[dict[str, Any]]
    in_types: list[str]


def _io(step: Step, ins: Mapping[str, Bound], scope: Scope, out: Emitted, opts: Options) -> _Io:
    exec_text = _text(ins, "opt_exec", step, out)
    if exec_text is None:
        out.error(step.pos, f"a {step.kind} step needs opt_exec (the command to run)", step.id)
        exec_text = ""
    args_text = _text(ins, "opt_args", step, out) or ""
    pa = parse_args(args_text)
    args_in = step.input("opt_args")
    args_pos = args_in.value_pos if args_in else step.pos
    for offset, message in pa.errors:
        out.error(at(args_pos, offset), f"opt_args: {message}", step.id)
    _notes(step, ins, pa, out)
    _check_outputs(step, pa, args_text, args_pos, scope, out)
    in_ds = ins["opt_inDS"].value if "opt_inDS" in ins else None
    primary = dataset_refs(in_ds, step.input("opt_inDS"), step, out, opts)
    parts = ins["opt_secondaryDSs"].parts if "opt_secondaryDSs" in ins else ()
    secondaries = [dataset_refs(p, step.input("opt_secondaryDSs"), step, out, opts) for p in parts]
    streams = _streams(step, pa, secondaries, _strings(ins, "opt_secondaryDsTypes"), primary, args_pos, out)
    _check_placeholders(step, exec_text, primary, secondaries, streams, scope, out)
    return _Io(exec_text, args_text, pa, primary, secondaries, streams, _strings(ins, "opt_inDsType"))


def emit_leaf(
    step: Step, ins: Mapping[str, Bound], name: str, display: str, scope: Scope, out: Emitted, opts: Options
) -> dict[str, Value]:
    """The stages of a prun or junction step (one per job known now), and its output dataset."""
    io = _io(step, ins, scope, out, opts)
    nnn = out.next_id()
    ds_name = f"{opts.out_ds}_{nnn:03d}_{dataset_part(name)}"
    condition, tested = translate_when(step, ins, out)
    made_by = {p for r in [*io.primary, *(r for refs in io.secondaries for r in refs)] for p in r.producers}
    needs = sorted(made_by | set(tested))
    base = _data(step, display, io, ds_name, scope, opts)
    jobs = _jobs(step, io.args, io.primary, io.in_types, opts)
    if jobs is None:
        stages = _split_stages(name, base, needs, condition)
        complete: tuple[str, ...] = (name,)  # the stage that gathers the jobs completes the dataset
    else:
        names = [name if len(jobs) == 1 else f"{name}.job{k}" for k in range(len(jobs))]
        stages = [_stage(n, io.exec_text, needs, step.kind, {**base, "jobs": jobs[k]}) for k, n in enumerate(names)]
        for stage in stages if condition is not None else ():
            stage["condition"] = condition
        complete = tuple(names)
    for problem in {p for p in map(limits.name_problem, (s["name"] for s in stages)) if p}:
        out.error(step.pos, problem, step.id)
    out.stages.extend(stages)
    # the jobs share `base`, which is written out once per stage: a 4 MB opt_exec run by 20,000 jobs is 80 GB
    out.size += len(stages) * json_size(base)
    out.node_of_stage.update((s["name"], nnn) for s in stages)
    parents = tuple(sorted({out.node_of_stage[p] for p in needs if p in out.node_of_stage}))
    node = Node(nnn, display, step.kind, parents, shown_inputs(ins), (ds_name,), tuple(s["name"] for s in stages))
    split = io.args.files_per_job if jobs is None else None
    loop = scope.loop.gate if scope.loop else None
    out.nodes.append(replace(node, condition=step.when, translated=condition, loop=loop, split=split))
    return {port: Datasets((DatasetRef(f"{DATASETS}/{ds_name}", ds_name, complete),)) for port in step.out}


def _stage(name: str, cmd: str, needs: list[str], kind: str, panda: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "cmd": cmd, "needs": needs, "kind": f"panda_{kind}", "cwd": name, "data": {"panda": panda}}


def _split_stages(name: str, base: dict[str, Any], needs: list[str], condition: str | None) -> list[dict[str, Any]]:
    """A split over files made upstream: `name.split` lists them when it runs and adds one stage `name.jobJ`
    per --nFilesPerJob files (see executor/kinds/panda.py); `name` waits for every job and completes the
    step's dataset, so consumers and conditions read `name` as they read an unsplit step."""
    split = f"{name}.split"
    splitter = _stage(split, "true", needs, "prun", {**base, "jobs": None, "role": "split", "gather": name})
    gather = _stage(
        name,
        "true",
        [split],
        "prun",
        {"type": "prun", "role": "gather", "step": base["step"], "dataset": base["dataset"], "split": split},
    )
    if condition is not None:
        splitter["condition"] = condition  # a skipped or failed splitter skips the gather: !self.X holds
    for stage in (splitter, gather):
        stage["resources"] = {"cpu": 0, "mem": 0}
    return [splitter, gather]


def _data(step: Step, display: str, io: _Io, ds_name: str, scope: Scope, opts: Options) -> dict[str, Any]:
    """What the kind reads at run time (see executor/kinds/panda.py); `jobs` is added per stage."""
    return {
        "type": step.kind,
        "step": display,
        "exec": io.exec_text,
        "args": io.args_text,
        "outputs": list(io.args.outputs),
        "dataset": f"{DATASETS}/{ds_name}",
        "inputs": [_ref_data(r) for r in io.primary],
        "in_types": io.in_types,
        "streams": io.streams,
        "secondary": [r.path for refs in io.secondaries for r in refs],
        "files_per_job": io.args.files_per_job,
        "optional": step.when is not None,  # on a failure branch, inputs whose producers failed are dropped
        "param_map": _param_map(scope),
        "param_values": _param_values(scope),
        "iteration": None,
        "sandbox": opts.sandbox,
        "params": dict(scope.loop.params) if scope.loop else {},
    }


def dataset_part(name: str) -> str:
    """A stage name as part of a dataset name: `a[1,2].b` -> `a_1_2.b`, so a shell never reads it as a glob."""
    return name.replace("[", "_").replace("]", "").replace(",", "_")


def _ref_data(ref: DatasetRef) -> dict[str, Any]:
    return {"path": ref.path, "name": ref.name, "producers": list(ref.producers)}


def _param_map(scope: Scope) -> dict[str, list[Any]]:
    return {k: [v.key, v.item] for k, v in sorted(scope.params.items()) if isinstance(v, LoopRef)}


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
    elif pa.n_jobs and "opt_inDS" in ins:
        out.note("--nJobs with an input dataset: the jobs follow --nFilesPerJob (one job without it)", step.id)


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
    t = tokens[0] if len(tokens) == 1 else None
    if isinstance(t, ph.Dataset) and t.n is not None:
        n = t.n
        if t.secondary and 1 <= n <= len(secondaries):
            return n - 1
        if not t.secondary:
            src = step.input("opt_inDS")
            refs = [x.ref for x in src.sources] if src and src.sources else [r.name for r in primary]
            shown = refs[n - 1] if 0 < n <= len(refs) else "nothing"
            out.error(
                where,
                f"--secondaryDSs IN{entry.stream} reads {ph.spelling(t)}, which is opt_inDS's dataset "
                f"({shown}), not one of opt_secondaryDSs; write %{{SECDS{n}}} (older PanDA documentation "
                "wrote %{DSn} for secondary datasets)",
                step.id,
            )
            return n - 1
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


def _check_outputs(step: Step, pa: PrunArgs, args_text: str, pos: Pos, scope: Scope, out: Emitted) -> None:
    """--outputs may name files after loop parameters and the loop count (%{name}, %{i}), nothing else."""
    values = ph.Values(iteration=0 if scope.loop else None, params={k: 0 for k in scope.params})
    for pattern in pa.outputs:
        start = args_text.find(pattern)
        for token in ph.tokenize(pattern):
            if isinstance(token, ph.Text):
                continue
            why = ph.unresolved(token, values)
            if not isinstance(token, (ph.Param, ph.Iteration)):
                why = "cannot name an output file (only %{name} and %{i} can)"
            if why is not None:
                out.error(at(pos, max(start, 0) + token.at), f"--outputs: {ph.spelling(token)} {why}", step.id)


def _jobs(
    step: Step, pa: PrunArgs, primary: list[DatasetRef], types: list[str], opts: Options
) -> list[list[int]] | None:
    """One entry per stage: the job serial numbers it runs; None when the jobs are known only at run time.

    Inputs known now (local datasets) are split into stages here. Inputs made upstream with --nFilesPerJob
    are split at run time (their files do not exist yet): None; without it they are one job.
    """
    if step.kind == "junction":
        return [[0]]
    if not primary:
        return [[j] for j in range(pa.n_jobs or 1)]
    if not pa.files_per_job:
        return [[0]]
    if all(not r.producers and r.path for r in primary):
        local = {d.path: d for d in opts.datasets.values()}
        count = sum(
            1
            for r in primary
            for f in getattr(local.get(r.path), "files", ())
            if not types or any(f == t or f.endswith("." + t) for t in types)
        )
        return [[j] for j in range(max(1, -(-count // pa.files_per_job)))]
    return None
