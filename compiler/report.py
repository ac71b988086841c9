"""The report of one `check` run over many files, and its text, JSON and GitHub Actions renderings.

Pure functions from data to strings; the CLI prints them (SARIF is in `compiler.sarif`). JSON follows
schemas/check-report.schema.json, with sorted keys so that equal reports are equal bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cwlpilot.compiler.errors import Diagnostic
from cwlpilot.compiler.findings import rule_of

REPORT_VERSION = 1
GITHUB_SHOWN = 10  # GitHub shows at most 10 error, 10 warning and 10 notice annotations of a step


@dataclass(frozen=True)
class FileResult:
    """One file checked: `kind` is `cwl`, `panda` or `plan`; `found` is every finding of its check (before
    --select, --ignore and comments); `graph`/`graph_text` its converted graph, when asked for."""

    file: str
    kind: str
    inputs: str | None = None
    found: tuple[Diagnostic, ...] = ()
    graph: Any = None
    graph_text: str | None = None


@dataclass(frozen=True)
class Skipped:
    file: str
    reason: str


@dataclass(frozen=True)
class Report:
    """What a run found: the files, those skipped, the findings reported (sorted, each once)."""

    files: tuple[FileResult, ...]
    skipped: tuple[Skipped, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    left_out: int = 0  # findings dropped by --select, --ignore or `# cwlpilot: ignore` comments
    strict: bool = False

    def count(self, severity: str) -> int:
        return sum(1 for d in self.diagnostics if d.severity == severity)

    @property
    def failed(self) -> bool:
        """Exit code 1: an error, or with --strict a warning."""
        return self.count("error") > 0 or (self.strict and self.count("warning") > 0)


def summary_line(report: Report) -> str:
    """`wf.cwl: 2 errors, 1 warning` (one file) or `12 files: ...`; `` when nothing is worth saying."""
    counts = {s: report.count(s) for s in ("error", "warning", "note")}
    checked = len(report.files)
    if not any(counts.values()) and checked <= 1 and not report.skipped:
        return ""
    name = report.files[0].file if checked == 1 else f"{checked} files checked"
    parts = [_plural(n, s) for s, n in counts.items() if n or s == "error"]
    if report.skipped:
        parts.append(f"{len(report.skipped)} skipped")
    if report.left_out:
        parts.append(f"{report.left_out} ignored")
    tail = ""
    if report.strict and counts["warning"] and not counts["error"]:
        tail = " (--strict: warnings fail the check)"
    return f"{name}: {', '.join(parts)}{tail}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def text_report(report: Report) -> str:
    """The findings in GNU style, one a line, the skipped files as notes, and the summary line."""
    lines = [f"{s.file}: note: skipped: {s.reason}" for s in report.skipped]
    lines += [d.gnu for d in report.diagnostics]
    summary = summary_line(report)
    return "".join(f"{line}\n" for line in [*lines, summary] if line)


def graphs_text(report: Report) -> str:
    return "".join(f.graph_text for f in report.files if f.graph_text)


def diagnostic_data(diag: Diagnostic) -> dict[str, Any]:
    return {
        "file": diag.pos.file,
        "line": diag.pos.line,
        "col": diag.pos.col,
        "step": diag.step,
        "severity": diag.severity,
        "rule": rule_of(diag),
        "message": diag.message,
    }


def json_report(report: Report, version: str) -> str:
    """The report as schemas/check-report.schema.json describes it."""
    kept = set(report.diagnostics)
    files = []
    for f in report.files:
        mine = [d for d in set(f.found) if d in kept]
        entry: dict[str, Any] = {
            "file": f.file,
            "kind": f.kind,
            "inputs": f.inputs,
            "valid": not any(d.is_error for d in mine),
            "errors": sum(1 for d in mine if d.severity == "error"),
            "warnings": sum(1 for d in mine if d.severity == "warning"),
        }
        if f.graph is not None:
            entry["graph"] = f.graph
        files.append(entry)
    data = {
        "version": REPORT_VERSION,
        "tool": {"name": "cwlpilot", "version": version},
        "valid": not report.failed,
        "strict": report.strict,
        "summary": {
            "files": len(report.files),
            "skipped": len(report.skipped),
            "errors": report.count("error"),
            "warnings": report.count("warning"),
            "notes": report.count("note"),
            "ignored": report.left_out,
        },
        "files": files,
        "skipped": [{"file": s.file, "reason": s.reason} for s in report.skipped],
        "diagnostics": [diagnostic_data(d) for d in report.diagnostics],
    }
    return json.dumps(data, sort_keys=True, indent=1) + "\n"


def github_report(report: Report) -> str:
    """GitHub Actions workflow commands: the first 10 errors, warnings and notes as annotations (GitHub
    shows no more of each kind for a step), the others as plain log lines, then a notice saying how
    many were not annotated."""
    levels = {"error": "error", "warning": "warning", "note": "notice"}
    shown = {s: 0 for s in levels}
    hidden = {s: 0 for s in levels}
    notes = sum(1 for d in report.diagnostics if d.severity == "note")
    annotated, plain = [], []
    overflow = any(report.count(s) > GITHUB_SHOWN for s in ("error", "warning")) or notes > GITHUB_SHOWN
    for diag in report.diagnostics:
        room = GITHUB_SHOWN - (1 if diag.severity == "note" and overflow else 0)  # the last notice says the rest
        if shown[diag.severity] < room:
            shown[diag.severity] += 1
            annotated.append(github_annotation(diag, levels[diag.severity]))
        else:
            hidden[diag.severity] += 1
            plain.append(diag.gnu)
    lines = [f"{s.file}: note: skipped: {s.reason}" for s in report.skipped] + annotated + plain
    if any(hidden.values()):
        parts = ", ".join(_plural(n, s) for s, n in hidden.items() if n)
        lines.append(
            f"::notice title=cwlpilot check::{parts} more than GitHub annotates (10 of each kind): "
            "they are listed in this step's log"
        )
    summary = summary_line(report)
    if summary:
        lines.append(summary)
    return "".join(f"{line}\n" for line in lines)


def github_annotation(diag: Diagnostic, level: str = "error") -> str:
    """A GitHub Actions workflow command (`::error file=…,line=…,col=…,title=RULE::message`)."""
    props = f"file={_escape_property(diag.pos.file)},line={max(diag.pos.line, 1)}"
    if diag.pos.col:
        props += f",col={diag.pos.col}"
    props += f",title={_escape_property(rule_of(diag))}"
    text = f"step '{diag.step}': {diag.message}" if diag.step else diag.message
    return f"::{level} {props}::{_escape_data(text)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
