"""`cwlpilot check`: load a workflow, collect every mistake in it (and in its inputs file), sorted.

Order of work: YAML and schema errors from the loader; when cwl-utils rejected the top document, a
lenient reading of its YAML tree (compiler.rawshape) so that independent mistakes — unknown
sources, cycles, scatter over a non-array, `when` before v1.2 — are still found; then the
structural checks (compiler.validate), when given, the inputs file (compiler.jobcheck), and, when asked,
the lint rules (compiler.lint: warnings, and JavaScript without InlineJavascriptRequirement).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Diagnostic
from cwlpilot.compiler.jobcheck import check_job
from cwlpilot.compiler.lint import lint as lint_findings
from cwlpilot.compiler.loader import load
from cwlpilot.compiler.rawshape import lenient_process
from cwlpilot.compiler.subgraph import TargetError, extract
from cwlpilot.compiler.validate import validate


@dataclass(frozen=True)
class CheckResult:
    """The loaded process (None if it could not be loaded) and every finding, sorted; ok without errors."""

    process: ir.Process | None
    diagnostics: tuple[Diagnostic, ...]

    @property
    def ok(self) -> bool:
        return self.process is not None and not any(d.is_error for d in self.diagnostics)


def check(path: str, job_path: str | None = None, cwd: str | None = None,
          targets: Sequence[str] = (), lint: bool = False) -> CheckResult:
    """Check the workflow at `path` (and the inputs file at `job_path`), collecting all problems. With
    `targets` (cwltool's --target), the process is the part of the workflow they need
    (compiler.subgraph), and the inputs file is checked against that part; with `lint`, the lint rules'
    findings are added."""
    loaded = load(path, cwd)
    found = list(loaded.diagnostics)
    process = loaded.process
    checked = process
    if process is None and not loaded.refused:  # a document beyond a limit is not read again
        checked = _lenient(path, loaded.cache)
        if checked is not None:
            found = _drop_superseded(found, checked)
    found.extend(validate(checked))
    if targets and process is not None and not found:
        try:
            checked = process = extract(process, targets)
        except TargetError as exc:
            found.append(Diagnostic(process.pos, str(exc), rule="cwl-target"))
            checked = None  # the inputs are for a part of the workflow that is not known
    if job_path is not None and checked is not None:
        found.extend(check_job(checked, job_path, loaded.cache))
    if lint:
        found.extend(lint_findings(checked))
    return CheckResult(process, tuple(sorted(set(found))))


def _lenient(path: str, cache) -> ir.Process | None:  # type: ignore[no-untyped-def]
    if not os.path.exists(path) and "#" in path:
        path, fragment = path.rsplit("#", 1)
    else:
        fragment = ""
    node = cache.node(path)
    if node is None:
        return None
    if isinstance(node.value, dict) and "$graph" in node.value:
        from cwlpilot.compiler.yamlsrc import entry

        node = entry(node, "$graph", fragment or "main")

    def load_run(target: str) -> ir.Process | None:
        # a document that fails here was already reported by the schema validation of `path`
        return load(target, cache.cwd).process

    return lenient_process(node, cache, load_run)


def _drop_superseded(found: list[Diagnostic], process: ir.Process) -> list[Diagnostic]:
    """Schema errors that a clearer structural message replaces (`when` before v1.2)."""
    if process.cwl_version in ("v1.0", "v1.1"):
        return [d for d in found if not d.message.startswith("invalid field `when`")]
    return found
