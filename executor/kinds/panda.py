"""PanDA step kinds: `panda_prun`, `panda_junction`, `panda_gate` (a loop's exit) and `panda_outputs`.

Each stage's `data.panda` is written by `compiler/panda` (see its `leaf.py` and `loop.py`). Datasets are
folders under the workdir (`datasets/...`, see `cwlpilot.panda.datasets`); a stage that succeeded writes
`<cwd>/.cwlpilot/outputs.json`, which is how its consumers know a dataset is complete.

prun: each job runs in `<cwd>/jobN` with its input files linked in under their own names; `%IN` is
their comma-separated names (each input dataset read with its `type`, at most `n_files` of them),
`%NAME` those of the secondary stream NAME, `%{DSn}` and `%{SECDSn}` the datasets' local folders, in
the order PanDA's server numbers them. What PanDA leaves as written stays as written (`%{name}` and
`%{i}` at the top level, where `count` is null). A stage runs the jobs the plan gives it (`jobs`:
`--nJobs`, or its share of a local dataset split by `--nFilesPerJob`). Over files made upstream, `--nFilesPerJob` is a
split at run time: the splitter stage (`role: split`) lists the files when it runs and its `expand` adds
one stage per job (`jobs: [J]`, `files`: its share) and makes the gather stage (`role: gather`, named
after the step) wait for them all; the gather writes the step's outputs.json once every job succeeded.
The files listed in `--outputs` are copied into the step's dataset; a job that did not write one
fails the stage. On a failure branch (the step has a condition) inputs whose producers failed are
dropped, so the command runs without them, as PanDA runs it without --inDS.

junction: one job over all inputs in `<cwd>` itself; then `results.json` there is read (see
`cwlpilot.panda.junction`). In a loop, `expand` adds the next iteration from the templates the junction
carries, unless it decided to stop or the loop reached its max-iteration guard; the loop's gate then
points the loop's outputs at the last iteration's datasets.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cwlpilot.executor.kinds import Expansion, KindError, Prepared, StageContext
from cwlpilot.executor.plan import Stage
from cwlpilot.semantics.panda import placeholders as ph
from cwlpilot.semantics.panda.datasets import chunks, dataset_files, output_name
from cwlpilot.semantics.panda.junction import JunctionError, decide
from cwlpilot.semantics.panda.loops import FIRST, MARK, instantiate

META = ".cwlpilot"


def _data(stage: Stage) -> dict[str, Any]:
    extra = json.loads(stage.extra) if stage.extra else {}
    data = (extra.get("data") or {}).get("panda")
    if not isinstance(data, dict):
        raise KindError("the stage has no PanDA data (data.panda)")
    return data


def _done(workdir: Path, stage: str) -> bool:
    return (workdir / stage / META / "outputs.json").is_file()


def _write_json(ctx: StageContext, name: str, value: Any) -> None:
    meta = ctx.cwd / META
    meta.mkdir(exist_ok=True)
    tmp = meta / f"{name}.tmp"
    tmp.write_text(json.dumps(value, sort_keys=True, indent=1), encoding="utf-8")
    os.replace(tmp, meta / name)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise KindError(f"cannot read {path}: {exc}") from None


def _params(d: Mapping[str, Any]) -> dict[str, str]:
    """What %{name} stands for: the sub-workflow's inputs as written (`param_values`), then the loop
    dictionary's entries (`param_map`)."""
    values = {k: str(v) for k, v in (d.get("param_values") or {}).items()}
    loop = d.get("params") or {}
    for name, (key, index) in (d.get("param_map") or {}).items():
        value = loop.get(key)
        values[name] = ph.format_value(value[index] if index is not None and isinstance(value, list) else value)
    return values


def _folders(refs: list[Mapping[str, Any]], ctx: StageContext, optional: bool, what: str) -> list[Path]:
    """The folders of the datasets whose producers all succeeded; a missing one fails unless optional."""
    return [path for path, _ in _folders_of(refs, ctx, optional, what)]


def _folders_of(refs: list[Mapping[str, Any]], ctx: StageContext, optional: bool, what: str) -> list[tuple[Path, int]]:
    """(folder, position of its dataset in `refs`) for each dataset that can be read."""
    out = []
    for index, ref in enumerate(refs):
        missing = [p for p in ref.get("producers") or () if not _done(ctx.workdir, p)]
        if missing:
            if optional:
                continue  # a failure branch runs without the failed parent's data
            raise KindError(f"{what} {ref.get('name')}: stage '{missing[0]}' did not produce it")
        path = ctx.workdir / ref["path"]
        if not path.is_dir():
            if not ref.get("producers"):
                raise KindError(f"{what} {ref.get('name')}: no such folder {path}")
            if not path.is_symlink():  # a loop's alias of a step that did not run in the last iteration: empty
                path.mkdir(parents=True, exist_ok=True)  # a parent that produced no file at all
        out.append((path, index))
    return out


def _input_files(d: Mapping[str, Any], ctx: StageContext) -> tuple[list[Path], list[Path]]:
    """The primary input folders and their files: each dataset's files of its type (the producing step's
    first output unless opt_inDsType names one), the first `n_files` of them when --nFiles limits them."""
    refs = d.get("inputs") or []
    found = _folders_of(refs, ctx, bool(d.get("optional")), "input dataset")
    files = [f for path, i in found for f in dataset_files(path, refs[i].get("type"))]
    limit = d.get("n_files")
    return [path for path, _ in found], files[:limit] if limit else files


def _stream_files(stream: Mapping[str, Any], ctx: StageContext, optional: bool) -> list[Path]:
    """A secondary stream's files: its datasets' files of their type, matching its pattern, after the
    files it skips (STREAM:NFILES:DATASET:PATTERN:NSKIP)."""
    refs = stream.get("inputs") or []
    found = _folders_of(refs, ctx, optional, f"secondary dataset ({stream['name']})")
    files = [f for path, i in found for f in dataset_files(path, refs[i].get("type"))]
    if stream.get("pattern"):
        files = [f for f in files if re.search(stream["pattern"], f.name)]
    return files[int(stream.get("skip") or 0) :]


def _link(files: list[Path], job_dir: Path) -> list[str]:
    names = []
    for f in files:
        target = job_dir / f.name
        if f.name in names:
            raise KindError(f"two input files are both named {f.name}: cannot stage them into one job folder")
        if target.is_symlink() or target.exists():
            target.unlink()
        target.symlink_to(f.resolve())
        names.append(f.name)
    return names


def _link_sandbox(sandbox: str | None, job_dir: Path) -> None:
    """The files of the workflow's folder, linked into the job's folder: PanDA ships that folder with
    every job (its sub-folders and hidden files are left out here)."""
    if not sandbox or not os.path.isdir(sandbox):
        return
    for entry in sorted(os.scandir(sandbox), key=lambda e: e.name):
        target = job_dir / entry.name
        if entry.name.startswith(".") or not entry.is_file() or target.exists() or target.is_symlink():
            continue
        target.symlink_to(entry.path)


class _Job:
    def __init__(self, sn: int, folder: Path, streams: dict[str, list[Path]]) -> None:
        self.sn, self.folder, self.streams = sn, folder, streams


def _jobs(
    d: Mapping[str, Any],
    ctx: StageContext,
    in_files: list[Path],
    stream_files: dict[str, list[Path]],
    streams: list[Mapping[str, Any]],
    junction: bool,
) -> list[_Job]:
    planned, size = d.get("jobs"), d.get("files_per_job")
    if not d.get("inputs"):
        per_job: dict[int, list[Path]] = {sn: [] for sn in planned or [0]}
    elif d.get("files") is not None:  # a job stage added by a run-time split: its own share of the files
        per_job = {sn: [ctx.workdir / f for f in d["files"]] for sn in planned or [0]}
    elif planned is None:  # inputs made upstream, in a plan that leaves the split to this stage: split here
        per_job = dict(enumerate(chunks(in_files, size)))
    elif size:  # split by the compiler over a local dataset: this stage runs its own chunk
        split = chunks(in_files, size)
        per_job = {sn: split[sn] if sn < len(split) else [] for sn in planned}
    else:
        per_job = {sn: in_files for sn in planned}
    jobs = []
    for sn, mine in per_job.items():
        files = {"IN": mine} if d.get("inputs") else {}
        for s in streams:
            files[s["name"]] = _secondary_files(stream_files[s["name"]], s.get("files"), sn)
        jobs.append(_Job(sn, ctx.cwd if junction else ctx.cwd / f"job{sn}", files))
    return jobs


def _secondary_files(pool: list[Path], n: int | None, sn: int) -> list[Path]:
    """Job sn's share of a secondary stream: n files, taken in turn and reused once all were used."""
    if not n or not pool:
        return pool
    return [pool[(sn * n + k) % len(pool)] for k in range(min(n, len(pool)))]


def _script(d: Mapping[str, Any], ctx: StageContext, junction: bool) -> tuple[str, list[int]]:
    optional = bool(d.get("optional"))
    primary, in_files = _input_files(d, ctx)
    streams = d.get("streams") or []
    stream_files = {s["name"]: _stream_files(s, ctx, optional) for s in streams}
    secondary = [str(p) for p in _folders(d.get("secondary") or [], ctx, optional, "secondary dataset")]
    lines = ["set -u"]
    numbers = []
    for job in _jobs(d, ctx, in_files, stream_files, streams, junction):
        job.folder.mkdir(parents=True, exist_ok=True)
        names = {n: _link(files, job.folder) for n, files in job.streams.items()}
        _link_sandbox(d.get("sandbox"), job.folder)
        values = ph.Values(
            streams=names,
            job=job.sn,
            datasets=[str(p) for p in primary],
            secondary=secondary,
            iteration=d.get("count"),
            params=_params(d),
        )
        command = ph.substitute(d.get("exec") or "", values, keep=True)  # the compiler said what is left
        lines.append(f"echo '--- job {job.sn}: '{shlex.quote(command)}")
        # the job's folder holds the sandbox: a script of it named by itself (`top.sh`) is found on PATH
        lines.append(f'(cd {shlex.quote(str(job.folder))} && PATH="$PATH:." && {command}) || exit $?')
        numbers.append(job.sn)
    return "\n".join(lines) + "\n", numbers


def _prepare(stage: Stage, ctx: StageContext, junction: bool) -> Prepared:
    d = _data(stage)
    if junction:
        stale = ctx.cwd / "results.json"
        if stale.exists():
            stale.unlink()  # a previous attempt's decision must never be read as this one's
    script, numbers = _script(d, ctx, junction)
    meta = ctx.cwd / META
    meta.mkdir(exist_ok=True)
    (meta / "run.sh").write_text(script, encoding="utf-8")
    _write_json(ctx, "jobs.json", numbers)
    return Prepared(f"bash {shlex.quote(str(meta / 'run.sh'))}", {})


def _collect(d: Mapping[str, Any], ctx: StageContext, junction: bool) -> tuple[Path, list[str]] | str:
    """Copy each job's --outputs into the dataset; the message of the first one missing, if any."""
    dataset = ctx.workdir / d["dataset"]
    dataset.mkdir(parents=True, exist_ok=True)
    numbers = _read_json(ctx.cwd / META / "jobs.json")
    patterns = list(d.get("outputs") or [])
    written = []
    for sn in numbers:
        folder = ctx.cwd if junction else ctx.cwd / f"job{sn}"
        for pattern in patterns:
            found = sorted(p for p in folder.glob(pattern) if p.is_file())
            if not found:
                return f"job {sn} did not write '{pattern}' (listed in --outputs) in {folder}"
            for f in found:
                target = dataset / output_name(str(dataset), sn, f.name)
                shutil.copyfile(f, target)
                written.append(target.name)
    return dataset, written


class Prun:
    """`run: prun`: the command of each job, then its --outputs collected into the step's dataset. The
    stages of a split made at run time have a `role`: the splitter (`split`) and the gather (`gather`)."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        d = _data(stage)
        if d.get("role") == "split":
            return _split(d, ctx)
        if d.get("role") == "gather":
            return _gather(d, ctx)
        return _prepare(stage, ctx, junction=False)

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        d = _data(stage)
        if d.get("role"):
            return None  # the splitter and the gather did their work in prepare
        result = _collect(d, ctx, junction=False)
        if isinstance(result, str):
            return result
        _write_json(ctx, "outputs.json", {"outDS": str(result[0]), "files": result[1]})
        return None

    def expand(self, stage: Stage, ctx: StageContext) -> Expansion | None:
        """The splitter's job stages, and the gather's need of each of them."""
        d = _data(stage)
        if d.get("role") != "split":
            return None
        jobs = _read_json(ctx.cwd / META / "outputs.json")["jobs"]
        common = {k: v for k, v in d.items() if k not in ("role", "gather")}
        stages = tuple(
            {
                "name": job["name"],
                "cmd": d.get("exec") or "",
                "needs": [stage.name],
                "kind": "panda_prun",
                "cwd": job["name"],
                "data": {"panda": {**common, "jobs": [job["sn"]], "files": job["files"]}},
            }
            for job in jobs
        )
        return Expansion(stages, tuple((d["gather"], job["name"]) for job in jobs))


def _split(d: Mapping[str, Any], ctx: StageContext) -> Prepared:
    """The splitter of a step over files made upstream: which files each job reads, as PanDA would split
    them (--nFilesPerJob files per job, in name order); its `expand` adds the jobs as stages."""
    _, files = _input_files(d, ctx)
    gather = str(d["gather"])
    jobs = [
        {"name": f"{gather}.job{sn}", "sn": sn, "files": [_relative(f, ctx.workdir) for f in share]}
        for sn, share in enumerate(chunks(files, d.get("files_per_job")))
    ]
    _write_json(ctx, "outputs.json", {"jobs": jobs, "files_per_job": d.get("files_per_job")})
    return Prepared("true", {})


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _gather(d: Mapping[str, Any], ctx: StageContext) -> Prepared:
    """After every job of a run-time split: the step's dataset is complete; this stage's outputs.json
    says so, as an unsplit step's does. A job that did not succeed fails the gather."""
    jobs = [job["name"] for job in _read_json(ctx.workdir / d["split"] / META / "outputs.json")["jobs"]]
    missing = [name for name in jobs if not _done(ctx.workdir, name)]
    if missing:
        raise KindError(f"job stage '{missing[0]}' did not succeed")
    files = [f for name in jobs for f in _read_json(ctx.workdir / name / META / "outputs.json")["files"]]
    dataset = ctx.workdir / d["dataset"]
    dataset.mkdir(parents=True, exist_ok=True)
    _write_json(ctx, "outputs.json", {"outDS": str(dataset), "files": files, "jobs": jobs})
    return Prepared("true", {})


class Junction:
    """`run: junction`: one job over all inputs, then results.json updates the loop and may end it."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        return _prepare(stage, ctx, junction=True)

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        d = _data(stage)
        path = ctx.cwd / "results.json"
        if not path.is_file():
            return f"the junction did not write results.json in {ctx.cwd}"
        try:
            decision = decide(path.read_text(encoding="utf-8"), d.get("params") or {})
        except (JunctionError, OSError) as exc:
            return f"junction: {exc}"
        for warning in decision.warnings:
            ctx.note(f"stage '{stage.name}': warning: {warning}")
        result = _collect(d, ctx, junction=True)
        if isinstance(result, str):
            return result
        loop, iteration = d.get("loop"), int(d.get("iteration") or FIRST)
        end = None
        if decision.terminate:
            end = "to_terminate"
        elif loop and iteration - FIRST + 1 >= int(loop.get("max") or 1):
            end = "max-loop-iterations"
            ctx.note(
                f"loop '{loop['gate']}': stopped by the max-iteration guard after {iteration - FIRST + 1} iteration(s)"
            )
        _write_json(
            ctx,
            "outputs.json",
            {
                "outDS": str(result[0]),
                "files": result[1],
                "iteration": iteration,
                "params": decision.params,
                "end": end,
                "warnings": list(decision.warnings),
            },
        )
        return None

    def expand(self, stage: Stage, ctx: StageContext) -> Expansion | None:
        d = _data(stage)
        loop = d.get("loop")
        if not loop:
            return None
        decision = _read_json(ctx.cwd / META / "outputs.json")
        if decision.get("end"):
            return None
        iteration = int(d.get("iteration") or FIRST) + 1
        stages = []
        for template in loop["templates"]:
            new = instantiate(template, iteration, decision["params"])
            if template["name"] == loop["junction"]:
                new["data"]["panda"]["loop"] = loop
            stages.append(new)
        waits = [name.replace(MARK, str(iteration)) for name in loop.get("gate_needs") or [loop["junction"]]]
        return Expansion(tuple(stages), tuple((loop["gate"], name) for name in waits))


class Gate:
    """A loop's exit: finds the last iteration and points the loop's output datasets at its datasets."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        d = _data(stage)
        last, decision = _last_iteration(d, ctx)
        outputs: list[str] = []
        for entry in d.get("outputs") or []:
            alias = ctx.workdir / entry["alias"]
            target = ctx.workdir / entry["template"].replace(MARK, str(last))
            alias.parent.mkdir(parents=True, exist_ok=True)
            if alias.is_symlink() or alias.exists():
                alias.unlink()
            alias.symlink_to(os.path.relpath(target, alias.parent), target_is_directory=True)
            outputs.append(str(alias))
        _write_json(
            ctx,
            "outputs.json",
            {
                "iterations": last - FIRST + 1,
                "params": decision.get("params"),
                "end": decision.get("end"),
                "datasets": outputs,
            },
        )
        return Prepared("true", {})

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        return None


def _last_iteration(d: Mapping[str, Any], ctx: StageContext) -> tuple[int, dict[str, Any]]:
    for i in range(FIRST, FIRST + int(d.get("max") or 1)):
        name = d["junction"].replace(MARK, str(i))
        path = ctx.workdir / name / META / "outputs.json"
        if not path.is_file():
            raise KindError(f"the loop's junction '{name}' left no decision")
        decision = _read_json(path)
        if decision.get("end"):
            return i, decision
    raise KindError(f"no iteration of the loop ended it within {d.get('max')} iterations")


class Outputs:
    """The workflow's outputs: each output's dataset folder(s), or null when its step did not succeed."""

    def prepare(self, stage: Stage, ctx: StageContext) -> Prepared:
        d = _data(stage)
        result: dict[str, Any] = {}
        for port, spec in sorted((d.get("outputs") or {}).items()):
            paths = [
                str(ctx.workdir / r["path"]) if all(_done(ctx.workdir, p) for p in r["producers"]) else None
                for r in spec.get("refs") or []
            ]
            result[port] = paths if spec.get("listed") else (paths[0] if paths else None)
        _write_json(ctx, "outputs.json", result)
        return Prepared("true", {})

    def finish(self, stage: Stage, ctx: StageContext) -> str | None:
        return None
