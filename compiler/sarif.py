"""A check report as SARIF 2.1.0 (OASIS), the format GitHub code scanning uploads.

One run: `tool.driver` names cwlpilot, its version and every rule (`compiler.findings.registry`, with
its default level and help); each result has its `ruleId` and `ruleIndex`, `level`, `message`, one
`physicalLocation` (the file relative to `%SRCROOT%`, the working directory, and its `region`'s
`startLine`/`startColumn`: SARIF lines start at 1, so an unknown line is 1 and an unknown column is
left out), and `partialFingerprints` that stay the same when lines move. Skipped files are the
invocation's `toolExecutionNotifications`. tests/compiler/test_sarif.py validates the output against
the official schema (sarif-schema-2.1.0.json, errata01).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from cwlpilot.compiler.errors import Diagnostic
from cwlpilot.compiler.findings import registry, rule_of
from cwlpilot.compiler.report import Report
from cwlpilot.compiler.rules import Rule

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"
FINGERPRINT = "cwlpilotFinding/v1"
_LEVELS = {"error": "error", "warning": "warning", "note": "note"}


def sarif_report(report: Report, version: str, root: str | None = None) -> str:
    """The SARIF log of `report`; relative paths are relative to `root` (default: the working directory)."""
    rules = list(registry().values())
    index = {r.id: i for i, r in enumerate(rules)}
    base = Path(root or os.getcwd()).resolve().as_uri().rstrip("/") + "/"
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "cwlpilot",
                "version": version,
                "semanticVersion": version,
                "rules": [_rule(r) for r in rules],
            }
        },
        "originalUriBaseIds": {SRCROOT: {"uri": base}},
        "columnKind": "unicodeCodePoints",
        "results": _results(report.diagnostics, index),
        "invocations": [
            {
                "executionSuccessful": True,
                "exitCode": 1 if report.failed else 0,
                "toolExecutionNotifications": [
                    {
                        "level": "note",
                        "message": {"text": f"skipped: {s.reason}"},
                        "locations": [{"physicalLocation": {"artifactLocation": _artifact(s.file)}}],
                    }
                    for s in report.skipped
                ],
            }
        ],
    }
    log = {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=1, sort_keys=True) + "\n"


def _rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "name": "".join(word.capitalize() for word in rule.id.split("-")),
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": f"{rule.summary}. Fix: {rule.fix}."},
        "help": {"text": f"Fix: {rule.fix}.", "markdown": f"**Fix:** {rule.fix}."},
        "defaultConfiguration": {"level": _LEVELS[rule.severity]},
        "properties": {"tags": [rule.id.split("-", 1)[0]]},
    }


def _results(diags: tuple[Diagnostic, ...], index: dict[str, int]) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    results = []
    for diag in diags:
        rule = rule_of(diag)
        region: dict[str, int] = {"startLine": max(diag.pos.line, 1)}
        if diag.pos.col > 0:
            region["startColumn"] = diag.pos.col
        text = f"step '{diag.step}': {diag.message}" if diag.step else diag.message
        key = "\0".join((rule, diag.pos.file, diag.step or "", diag.message))
        seen[key] = seen.get(key, 0) + 1  # the same finding twice in one file: told apart by its rank
        digest = hashlib.sha256(f"{key}\0{seen[key]}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
        results.append({
            "ruleId": rule,
            "ruleIndex": index[rule],
            "level": _LEVELS[diag.severity],
            "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": _artifact(diag.pos.file), "region": region}}],
            "partialFingerprints": {FINGERPRINT: digest},
        })
    return results


def _artifact(path: str) -> dict[str, str]:
    """A file as SARIF names it: a URI relative to %SRCROOT%, or an absolute `file:` URI."""
    if os.path.isabs(path):
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path.replace(os.sep, "/"), safe="/"), "uriBaseId": SRCROOT}
