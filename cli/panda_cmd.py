"""Entry points for PanDA documents: `analyse` (for `check`), `compile`, and the plan `cwlpilot run` executes.

Options beyond the CWL commands' own: `--outDS NAME` (the base of the datasets' names, default
`user.local.<workflow>`), `--dataset NAME=DIR` (repeatable) and `--datasets FILE` (a YAML mapping of
dataset names to folders, relative to the file) for datasets given as workflow inputs, and
`--max-loop-iterations N` (default 10). `cwlpilot run WF.cwl` takes them from the environment
(CWLPILOT_OUTDS, CWLPILOT_DATASETS, CWLPILOT_MAX_LOOP_ITERATIONS) and reads `datasets.yaml` beside the
inputs file (or the workflow) when it is there. `--panda-client VERSION` names the client release PanDA's
server runs: what that release refuses is an error, what only other releases refuse is not reported.

`analyse` gives PanDA's verdict, for `cwlpilot check` (cwlpilot.check_one): an error where PanDA's server
(with its client's dry run) refuses the workflow, a warning where it accepts something very likely wrong
or what cannot run here (`panda-not-local`: an error of `compile` and `run`).
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from ruamel.yaml.error import MarkedYAMLError

from cwlpilot.argparsing import RaisingParser, UsageError, loop_limit
from cwlpilot.compiler import fastyaml
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.limits import MAX_STAGES
from cwlpilot.compiler.panda import prunopts
from cwlpilot.compiler.panda.check import check_workflows
from cwlpilot.compiler.panda.cwlload import server_load
from cwlpilot.compiler.panda.dump import notes_text
from cwlpilot.compiler.panda.emit import emit_plan
from cwlpilot.compiler.panda.ir import Workflow
from cwlpilot.compiler.panda.parse import Reader, load_workflow
from cwlpilot.compiler.panda.values import Emitted, LocalDataset, Options
from cwlpilot.compiler.sourcefile import SourceError, read_text
from cwlpilot.compiler.yamlsrc import yaml_diagnostic
from cwlpilot.semantics.panda.datasets import dataset_files

EXIT_OK, EXIT_INVALID, EXIT_USAGE = 0, 1, 2
DEFAULT_MAX_ITERATIONS = 10


class Result(NamedTuple):
    workflow: Workflow | None
    plan: dict[str, Any] | None
    emitted: Emitted
    diagnostics: tuple[Diagnostic, ...]


def _parser(command: str) -> argparse.ArgumentParser:
    p = RaisingParser(prog=f"cwlpilot {command}", description=f"{command} a PanDA-style CWL workflow")
    p.add_argument("workflow")
    p.add_argument("inputs", nargs="?")
    p.add_argument("--outDS", dest="out_ds", help="base name of the output datasets (user.local.<workflow>)")
    p.add_argument("--dataset", action="append", default=[], metavar="NAME=DIR", help="a dataset's local folder")
    p.add_argument("--datasets", metavar="FILE", help="YAML mapping of dataset names to local folders")
    p.add_argument("--max-loop-iterations", type=int, default=None, help="stop every loop after N iterations")
    p.add_argument("--panda-client", metavar="VERSION", help="the panda-client release PanDA's server runs")
    p.add_argument("-o", "--output", help="write the plan here instead of standard output")
    return p


def options(
    workflow: str,
    inputs: str | None,
    out_ds: str | None,
    pairs: list[str],
    mapping: str | None,
    max_iterations: int | None,
    check_only: bool,
    client: str | None = None,
) -> Options:
    """The emission options; raises UsageError for a malformed option or an unreadable mapping file."""
    folders: dict[str, str] = {}
    default_map = Path(inputs or workflow).resolve().parent / "datasets.yaml"
    for source in (os.environ.get("CWLPILOT_DATASETS"), str(default_map) if default_map.exists() else None, mapping):
        if source:
            folders.update(_mapping_file(source))
    for pair in pairs:
        name, eq, folder = pair.partition("=")
        if not eq or not name or not folder:
            raise UsageError(f"--dataset wants NAME=DIR, not '{pair}'")
        folders[name] = os.path.abspath(folder)
    datasets = {}
    for name, folder in folders.items():
        if not os.path.isdir(folder):
            raise UsageError(f"dataset '{name}': no such folder {folder}")
        files = tuple(str(p.relative_to(folder)) for p in dataset_files(folder))
        datasets[name] = LocalDataset(folder, files)
    limit = loop_limit(max_iterations, DEFAULT_MAX_ITERATIONS, MAX_STAGES)
    release = prunopts.parse_version(client) if client else None
    if client and release is None:
        raise UsageError(f"--panda-client wants a release number such as 2.0.2, not '{client[:40]}'")
    stem = Path(workflow).stem
    return Options(
        out_ds or os.environ.get("CWLPILOT_OUTDS") or f"user.local.{stem}",
        datasets,
        limit,
        str(Path(workflow).resolve().parent),
        check_only,
        release,
    )


def _mapping_file(path: str) -> dict[str, str]:
    try:
        data = fastyaml.load(read_text(path), "safe") or {}
    except SourceError as exc:
        raise UsageError(f"the datasets file: {exc.diagnostic.located}") from None
    except MarkedYAMLError as exc:
        raise UsageError(f"the datasets file: {yaml_diagnostic(exc, path).located}") from None
    if not isinstance(data, Mapping):
        raise UsageError(f"the datasets file {path} must map dataset names to folders")
    base = os.path.dirname(os.path.abspath(path))
    return {str(k): os.path.join(base, str(v)) for k, v in data.items()}


def analyse(workflow: str, inputs: str | None, opts: Options) -> Result:
    """Parse, check and emit: every finding in the workflow (and its inputs), and the plan when it has
    no error. PanDA's server first loads every document with cwl-utils; what that refuses stops it, and
    is all that is reported then."""
    reader = Reader()
    wf = load_workflow(workflow, reader)
    diags = list(reader.diags)
    job, job_diag = _job(inputs, wf)
    if job_diag:
        diags.append(job_diag)
    if wf is None:
        return Result(None, None, Emitted(), tuple(sorted(set(diags))))
    folders: set[str] = set()
    for path in reader.order:
        refused = server_load(path, folders, reader.shown)
        if refused:
            return Result(wf, None, Emitted(), tuple(sorted(set(refused))))
    diags += check_workflows(wf, opts.sandbox, opts.check_only)
    plan, emitted = emit_plan(wf, job if inputs else None, opts)
    diags += emitted.diags
    unique = _once_per_place(diags)
    if not any(d.is_error for d in unique):
        problems = plan_problems(plan)
        if problems:  # the compiler's mistake, not the user's: say so plainly
            where = Pos(wf.file, 1, 1)
            unique += tuple(
                Diagnostic(where, f"internal error, the plan does not match the schema: {p}",
                    rule="internal-plan-schema") for p in problems
            )
    return Result(wf, None if any(d.is_error for d in unique) else plan, emitted, unique)


def _once_per_place(diags: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Sorted, without repeats: a warning or note said at one place by one rule is said once (the
    instances of a scatter would each say it, naming their own datasets)."""
    seen: set[tuple[Pos, str | None, str | None]] = set()
    kept = []
    for d in sorted(set(diags)):
        key = (d.pos, d.step, d.rule)
        if not d.is_error and d.rule is not None and key in seen:
            continue
        seen.add(key)
        kept.append(d)
    return tuple(kept)


def plan_problems(plan: object) -> list[str]:
    """Schema violations of `plan` against schemas/stages.schema.json (empty when valid)."""
    import jsonschema

    from cwlpilot import schemas

    validator = jsonschema.Draft202012Validator(schemas.load("stages"))
    return sorted(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(plan))


def _job(inputs: str | None, wf: Workflow | None) -> tuple[dict[str, Any], Diagnostic | None]:
    if inputs is None:
        return {}, None
    try:
        job = fastyaml.load(read_text(inputs), "safe")
    except SourceError as exc:
        return {}, exc.diagnostic
    except MarkedYAMLError as exc:
        return {}, yaml_diagnostic(exc, inputs)
    if job is None:
        if wf is not None and wf.inputs:  # workflow_utils.resolve_nodes tests `name in data` on it
            return {}, Diagnostic(
                Pos(inputs, 1, 1),
                "the inputs file is empty, and the workflow has inputs: PanDA's server fails on it "
                "(argument of type 'NoneType' is not iterable); write {} or the inputs' values", rule="panda-inputs")
        return {}, None
    if not isinstance(job, dict):
        message = "the inputs file must be a mapping of input names to values"
        return {}, Diagnostic(Pos(inputs, 1, 1), message, rule="panda-inputs")
    return job, None


def main(argv: list[str], out: TextIO, err: TextIO) -> int:
    """`compile` (argv[0]) of a PanDA document (`check` of any document is cwlpilot.check_run's)."""
    command = argv[0]
    try:
        args = _parser(command).parse_args(argv[1:])
        opts = options(
            args.workflow,
            args.inputs,
            args.out_ds,
            args.dataset,
            args.datasets,
            args.max_loop_iterations,
            False,
            args.panda_client,
        )
    except UsageError as exc:
        err.write(f"{exc}\n")
        return EXIT_USAGE
    except SystemExit as exc:
        return int(exc.code or 0)
    for path in (args.workflow, args.inputs):
        if path and not os.path.exists(path):
            err.write(f"cwlpilot {command}: no such file: {path}\n")
            return EXIT_USAGE
    result = analyse(args.workflow, args.inputs, opts)
    if result.plan is None:
        _write_diagnostics(result, err)
        return EXIT_INVALID
    _write_diagnostics(result, err, summary=False)
    for note in notes_text(result.emitted):
        err.write(note + "\n")
    text = plan_json(result.plan)
    if not args.output:
        out.write(text)
        return EXIT_OK
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as exc:
        err.write(f"cwlpilot {command}: -o {args.output}: cannot write it: {exc.strerror or exc}\n")
        return EXIT_USAGE
    return EXIT_OK


def _write_diagnostics(result: Result, err: TextIO, summary: bool = True) -> None:
    for diag in result.diagnostics:
        err.write(f"{diag}\n")
    counts = {s: sum(1 for d in result.diagnostics if d.severity == s) for s in ("error", "warning")}
    if not summary or not (counts["error"] or counts["warning"]):
        return
    name = result.workflow.file if result.workflow else "workflow"
    parts = [f"{n} {s}{'s' if n != 1 else ''}" for s, n in counts.items() if n or s == "error"]
    err.write(f"{name}: {', '.join(parts)}\n")


def build_plan(
    workflow: str,
    inputs: str | None,
    err: TextIO,
    prog: str,
    out_ds: str | None = None,
    datasets: Sequence[str] = (),
    dataset_map: str | None = None,
    max_loop_iterations: int | None = None,
) -> tuple[dict[str, Any] | None, int]:
    """For `cwlpilot run WF.cwl`: the plan, or None and the exit code after saying why on `err`."""
    try:
        opts = options(workflow, inputs, out_ds, list(datasets), dataset_map, max_loop_iterations, False)
    except UsageError as exc:
        err.write(f"{prog}: {exc}\n")
        return None, EXIT_USAGE
    result = analyse(workflow, inputs, opts)
    if result.plan is None:
        _write_diagnostics(result, err)
        return None, EXIT_INVALID
    _write_diagnostics(result, err, summary=False)
    for note in notes_text(result.emitted):
        err.write(note + "\n")
    return result.plan, EXIT_OK


def plan_json(plan: object) -> str:
    """Sorted keys, one-space indent: equal plans are equal bytes."""
    return json.dumps(plan, sort_keys=True, indent=1) + "\n"
