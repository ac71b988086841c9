"""`cwlpilot check` of one file, a CWL document, a PanDA document or a stages plan, and of many in parallel.

The one place the checks of both packages meet: CWL documents go to `compiler.check` (with the lint
rules), PanDA documents to `cwlpilot.panda_cmd.analyse` (PanDA's verdict), stages plans to the executor's
plan checks (`executor.planload`, `executor.plancheck`), as `cwlpilot run` reads a plan. Each returns a
`compiler.report.FileResult`, which is plain data, so that `--jobs N` can check files in other processes.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from itertools import repeat

from cwlpilot.check_files import Target
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.report import FileResult
from cwlpilot.compiler.yamlsrc import display_path


@dataclass(frozen=True)
class Settings:
    """What every file is checked with: `graph` is the form of the graph to give (`text`, `json`, None)
    for documents without errors; the rest are the PanDA options (see cwlpilot.panda_cmd)."""

    graph: str | None = None
    panda_client: str | None = None
    out_ds: str | None = None
    datasets: tuple[str, ...] = ()
    datasets_file: str | None = None
    max_loop_iterations: int | None = None


def check_all(targets: list[Target], settings: Settings, jobs: int = 1) -> list[FileResult]:
    """Every target checked, in their order; with `jobs` > 1 in as many processes (forked, so that the
    compiler is imported once)."""
    if jobs <= 1 or len(targets) < 2:
        return [check_target(t, settings) for t in targets]
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=min(jobs, len(targets)), mp_context=context) as pool:
        return list(pool.map(check_target, targets, repeat(settings)))


def check_target(target: Target, settings: Settings) -> FileResult:
    if target.kind == "plan":
        return _plan(target)
    from cwlpilot.compiler.panda.detect import is_panda_document

    if target.kind == "panda" or (os.path.isfile(target.path.split("#")[0]) and is_panda_document(target.path)):
        return _panda(target, settings)
    return _cwl(target, settings)


def shown_name(path: str) -> str:
    """The file as messages show it (`FILE#ID` keeps its `#ID`)."""
    if not os.path.exists(path) and "#" in path:
        file, _, fragment = path.rpartition("#")
        return f"{display_path(file)}#{fragment}"
    return display_path(path)


def _cwl(target: Target, settings: Settings) -> FileResult:
    from cwlpilot.compiler.check import check
    from cwlpilot.compiler.graph import build_graph
    from cwlpilot.compiler.render import graph_data, graph_text

    result = check(target.path, target.inputs, lint=True)
    name = shown_name(target.path)
    graph = text = None
    if settings.graph and result.ok and result.process is not None:
        built = build_graph(result.process, name)
        graph, text = (graph_data(built), None) if settings.graph == "json" else (None, graph_text(built))
    return FileResult(name, "cwl", _shown(target.inputs), result.diagnostics, graph, text)


def _panda(target: Target, settings: Settings) -> FileResult:
    from cwlpilot.compiler.panda.dump import dump_data, dump_text, notes_text
    from cwlpilot.panda_cmd import analyse, options

    opts = options(target.path, target.inputs, settings.out_ds, list(settings.datasets), settings.datasets_file,
                   settings.max_loop_iterations, True, settings.panda_client)
    result = analyse(target.path, target.inputs, opts)
    graph = text = None
    if settings.graph and not any(d.is_error for d in result.diagnostics):
        if settings.graph == "json":
            graph = dump_data(result.emitted)
        else:
            text = dump_text(result.emitted) + "".join(f"{n}\n" for n in notes_text(result.emitted))
    return FileResult(shown_name(target.path), "panda", _shown(target.inputs), result.diagnostics, graph, text)


def _shown(path: str | None) -> str | None:
    return display_path(path) if path else None


def _plan(target: Target) -> FileResult:
    """The plan's findings as `cwlpilot run` reads and checks it for a run of all its stages."""
    from pathlib import Path

    from cwlpilot.executor.errors import PlanError
    from cwlpilot.executor.kinds import KINDS
    from cwlpilot.executor.plancheck import located
    from cwlpilot.executor.planfile import read_text
    from cwlpilot.executor.planload import read_plan

    name = display_path(target.path)
    try:
        plan = read_plan(read_text(Path(target.path)), name)
    except PlanError as exc:
        return FileResult(name, "plan", None, tuple(_unreadable(name, p) for p in exc.problems))
    found = tuple(
        Diagnostic(Pos(name, p.line, p.col), _stage_label(p.name, p.stage) + p.message, None,
                   "warning" if p.warning else "error", _plan_rule(p.key, p.message))
        for p in located(plan, None, KINDS)
    )
    return FileResult(name, "plan", None, found)


def _stage_label(name: str | None, index: int | None) -> str:
    """As executor.plancheck.report labels a problem: `stage 'name': `, or `stage #N: `."""
    return f"stage '{name}': " if name is not None else (f"stage #{index + 1}: " if index is not None else "")


def _unreadable(name: str, problem: str) -> Diagnostic:
    """A PlanError's line (`FILE:LINE:COL: message`) as a finding of the rule `plan-read`."""
    head, sep, rest = problem.partition(f"{name}:")
    line, col, message = (rest.split(":", 2) + ["", ""])[:3] if sep and not head else ("1", "1", problem)
    if not (line.isdigit() and col.isdigit()):
        line, col, message = "1", "1", problem
    return Diagnostic(Pos(name, int(line), int(col)), message.strip(), None, "error", "plan-read")


def _plan_rule(key: str, message: str) -> str:
    """The rule of a plan problem, by the key it is about and what it says (executor.plancheck's wording)."""
    if message.startswith("duplicate name"):
        return "plan-duplicate-name"
    if message.startswith("cycle:"):
        return "plan-cycle"
    if key == "needs" and message.startswith("needs "):
        return "plan-needs"
    if key == "kind" and message.startswith("unknown kind"):
        return "plan-kind"
    if key == "condition" and message.startswith("condition:"):
        return "plan-condition"
    return "plan-schema"
