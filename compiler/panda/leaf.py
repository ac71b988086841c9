"""prun, junction and reana steps -> stages: datasets in and out, job splits, conditions (the reading and
checking of their inputs is `leafio.py`).

A step's dataset is named as PanDA's server names it (`workflow_utils.resolve_nodes`):
`{outDS}_{NNN}_{step}`, NNN the server's serial id of the step, and `.N` after it in iteration N of a
loop (the server writes `.___idds___num_run___`, which iDDS fills with the loop count).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from cwlpilot.compiler import limits
from cwlpilot.compiler.budget import json_size
from cwlpilot.compiler.panda.ir import Step
from cwlpilot.compiler.panda.leafio import Io, Stream, local_texts, resolve, strings
from cwlpilot.compiler.panda.server import NUM_RUN
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
)
from cwlpilot.compiler.panda.when import translate_when
from cwlpilot.semantics.panda import placeholders as ph
from cwlpilot.semantics.panda.datasets import DATASETS, matches
from cwlpilot.semantics.panda.loops import MARK


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


def dataset_name(opts: Options, nnn: int, step: Step, scope: Scope) -> tuple[str, str]:
    """(the server's name of the step's dataset, its local folder name): `{outDS}_{NNN}_{step}`, with the
    loop count after it inside a loop (the server's `.___idds___num_run___`, `.N` here)."""
    base = f"{opts.out_ds}_{nnn:03d}_{step.id}"
    if scope.in_loop:
        return f"{base}.{NUM_RUN}", f"{base}.{MARK}"
    return base, base


def emit_leaf(
    step: Step, ins: Mapping[str, Bound], name: str, display: str, scope: Scope, out: Emitted, opts: Options
) -> dict[str, Value]:
    """The stages of a prun or junction step (one per job known now), and its output dataset."""
    nnn = out.next_id()
    task, folder = dataset_name(opts, nnn, step, scope)
    io = resolve(step, ins, task, scope, out, opts)
    _notes(step, ins, io, out)
    condition, tested = translate_when(step, ins, out)
    made_by = {p for r in [*io.primary, *io.secondaries] for p in r.producers}
    needs = sorted(made_by | set(tested))
    base = _data(step, display, io, f"{DATASETS}/{folder}", scope, opts)
    jobs = _jobs(step, io, opts)
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
        out.error(step.pos, problem, step.id, rule="panda-stage-name")
    out.stages.extend(stages)
    # the jobs share `base`, which is written out once per stage: a 4 MB opt_exec run by 20,000 jobs is 80 GB
    out.size += len(stages) * json_size(base)
    out.node_of_stage.update((s["name"], nnn) for s in stages)
    parents = tuple(sorted({out.node_of_stage[p] for p in needs if p in out.node_of_stage}))
    node = Node(nnn, display, step.kind, parents, shown_inputs(ins), (task,), tuple(s["name"] for s in stages))
    split = io.args.files_per_job if jobs is None else None
    loop = scope.loop.gate if scope.loop else None
    view = _server_data(io, task)
    out.nodes.append(replace(node, condition=step.when, translated=condition, loop=loop, split=split, server=view))
    ref = DatasetRef(f"{DATASETS}/{folder}", task, complete, tuple(_outputs(step, io)))
    out.leaves.append(ref)
    return {port: Datasets((ref,)) for port in step.out or ("outDS",)}


def emit_remote(
    step: Step, ins: Mapping[str, Bound], display: str, scope: Scope, out: Emitted, opts: Options
) -> dict[str, Value]:
    """A phpo, reana or gitlab step: a node of the dump and a dataset name, no stage (they run only on PanDA;
    `check` says so, `compile` refuses them)."""
    nnn = out.next_id()
    task, folder = dataset_name(opts, nnn, step, scope)
    view = None
    if step.kind == "reana":
        view = _server_data(resolve(step, ins, task, scope, out, opts), task)
    out.nodes.append(Node(nnn, display, step.kind, (), shown_inputs(ins), (task,), (), server=view))
    ref = DatasetRef(f"{DATASETS}/{folder}", task, (), ())
    out.leaves.append(ref)
    return {port: Datasets((ref,)) for port in step.out or ("outDS",)}


def _server_data(io: Io, task: str) -> dict[str, Any]:
    """What PanDA's server shows for the step (pchain --check) and submits (the task's cliParams)."""
    return {
        "opt_exec": io.view.exec_shown,
        "opt_args": io.view.args_shown,
        "exec": io.view.exec_submitted,
        "cliParams": io.view.cli,
        "inDS": io.in_ds,
        "secondaryDSs": io.sec_ds,
        "outDS": task,
    }


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


def _data(step: Step, display: str, io: Io, dataset: str, scope: Scope, opts: Options) -> dict[str, Any]:
    """What the kind reads at run time (see executor/kinds/panda.py); `jobs` is added per stage."""
    files_per_job, n_files = _counts(io, bool(io.primary))
    return {
        "type": step.kind,
        "step": display,
        "exec": io.exec_text,
        "outputs": _outputs(step, io),
        "dataset": dataset,
        "inputs": [_ref_data(r, k) for r, k in zip(io.primary, io.kinds, strict=True)],
        "streams": [_stream_data(s) for s in io.streams],
        "secondary": [_ref_data(r, None) for r in io.secondaries],
        "files_per_job": files_per_job,
        "n_files": n_files,
        "optional": step.when is not None,  # on a failure branch, inputs whose producers failed are dropped
        "param_map": _param_map(scope),
        "param_values": _param_values(scope),
        "iteration": None,
        "count": _count(scope),
        "sandbox": opts.sandbox,
        "params": dict(scope.loop.params) if scope.loop else {},
    }


def _outputs(step: Step, io: Io) -> list[str]:
    """The files collected into the step's dataset: --outputs, and results.json for a junction (the server
    adds it to a junction's --outputs, workflow_utils.Node.make_task_params)."""
    outputs = list(io.args.outputs)
    if step.kind == "junction" and "results.json" not in outputs:
        outputs.append("results.json")
    return outputs


def _count(scope: Scope) -> str | None:
    """What %{i} reads: the loop count in a loop (filled per iteration), 1 in another sub-workflow (iDDS
    counts every run from 1), nothing at the top level (the server leaves %{i} as written there)."""
    if not scope.in_sub:
        return None
    return MARK if scope.loop is not None else "1"


def _counts(io: Io, has_input: bool) -> tuple[int | None, int | None]:
    """(--nFilesPerJob, --nFiles) as panda-client 2.0.1 and later derive them with --nJobs
    (CommonArgs.set_n_files_from_n_jobs): nFiles = nFilesPerJob x nJobs, or nFilesPerJob = nFiles / nJobs."""
    per_job, n_files, n_jobs = io.args.files_per_job, io.args.n_files or None, io.args.n_jobs
    if has_input and n_jobs:
        if per_job and not n_files:
            n_files = per_job * n_jobs
        elif not per_job and n_files:
            per_job = max(1, n_files // n_jobs)
    return per_job, n_files


def _ref_data(ref: DatasetRef, kind: str | None) -> dict[str, Any]:
    return {"path": ref.path, "name": ref.name, "producers": list(ref.producers), "type": kind}


def _stream_data(stream: Stream) -> dict[str, Any]:
    return {
        "name": stream.name,
        "files": stream.n_files,
        "inputs": [_ref_data(r, k) for r, k in zip(stream.refs, stream.kinds, strict=True)],
        "pattern": stream.pattern,
        "skip": stream.skip,
    }


def _param_map(scope: Scope) -> dict[str, list[Any]]:
    if not scope.in_sub:
        return {}
    return {k: [v.key, v.item] for k, v in sorted(scope.params.items()) if isinstance(v, LoopRef)}


def _param_values(scope: Scope) -> dict[str, str]:
    """%{k} of the sub-workflow's inputs that are no loop reference, written as the server writes them."""
    if not scope.in_sub:
        return {}
    values = local_texts(scope)
    for k, v in scope.params.items():
        if isinstance(v, Lit):
            values[k] = ph.format_value(v.value)
        elif isinstance(v, Datasets):
            values[k] = ",".join(r.name for r in v.refs)
    return dict(sorted(values.items()))


def _notes(step: Step, ins: Mapping[str, Bound], io: Io, out: Emitted) -> None:
    for option in io.args.ignored:
        out.note(f"prun option {option} has no local meaning (accepted, ignored)", step.id)
    if strings(ins, "opt_useAthenaPackages") in (["True"], ["true"]):
        out.note("opt_useAthenaPackages: runs in this machine's environment; no Athena release is set up", step.id)
    if strings(ins, "opt_containerImage"):
        out.note("opt_containerImage: runs directly on this machine, without the container", step.id)
    pa = io.args
    if step.kind == "junction" and (pa.n_jobs or pa.files_per_job):
        out.note("a junction always runs one job over all its inputs (--nJobs/--nFilesPerJob ignored)", step.id)
    elif pa.n_jobs and io.primary:
        out.note(
            "--nJobs with an input dataset: as panda-client 2.0.1 and later, it limits the files read to "
            "nJobs x nFilesPerJob (panda-client 2.0.0 and older ignore it)",
            step.id,
        )


def _jobs(step: Step, io: Io, opts: Options) -> list[list[int]] | None:
    """One entry per stage: the job serial numbers it runs; None when the jobs are known only at run time.

    Inputs known now (local datasets) are split into stages here. Inputs made upstream with --nFilesPerJob
    are split at run time (their files do not exist yet): None; without it they are one job.
    """
    if step.kind == "junction":
        return [[0]]
    if not io.primary:
        return [[j] for j in range(io.args.n_jobs or 1)]
    files_per_job, n_files = _counts(io, True)
    if not files_per_job:
        return [[0]]
    if all(not r.producers and r.path for r in io.primary):
        local = {d.path: d for d in opts.datasets.values()}
        count = sum(
            1
            for r, kind in zip(io.primary, io.kinds, strict=True)
            for f in getattr(local.get(r.path), "files", ())
            if matches(f, kind)
        )
        count = min(count, n_files) if n_files else count
        return [[j] for j in range(max(1, -(-count // files_per_job)))]
    return None
