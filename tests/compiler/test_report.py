"""Tests for compiler.report: the GNU text form, the JSON report against schemas/check-report.schema.json (real
reports of `check`), and GitHub annotations within what GitHub shows."""

from __future__ import annotations

import io
import json
from pathlib import Path

import jsonschema
import pytest

from cwlpilot import schemas
from cwlpilot.check_cmd import main
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.report import FileResult, Report, Skipped, github_annotation, github_report, text_report

REPO = Path(__file__).resolve().parents[2]


def diag(line: int, severity: str = "error", rule: str = "cwl-source", step: str | None = None) -> Diagnostic:
    return Diagnostic(Pos("wf.cwl", line, 3), f"finding {line}", step, severity, rule)


def report(*diags: Diagnostic, strict: bool = False, files: int = 1) -> Report:
    checked = tuple(FileResult(f"f{n}.cwl", "cwl", None, diags if n == 0 else ()) for n in range(files))
    return Report(checked, (), diags, 0, strict)


def test_text_is_gnu_style_with_the_rule_and_a_summary() -> None:
    text = text_report(report(diag(4, step="s"), diag(9, "warning", "cwl-unused-input")))
    assert text == (
        "wf.cwl:4:3: error: step 's': finding 4 [cwl-source]\n"
        "wf.cwl:9:3: warning: finding 9 [cwl-unused-input]\n"
        "f0.cwl: 1 error, 1 warning\n"
    )
    assert text_report(report()) == ""  # one clean file: nothing to say (its graph is on standard output)
    many = Report((FileResult("a.cwl", "cwl"), FileResult("b.json", "plan")), (Skipped("c.yml", "why"),), (), 4)
    assert text_report(many) == "c.yml: note: skipped: why\n2 files checked: 0 errors, 1 skipped, 4 ignored\n"


def test_strict_makes_warnings_fail() -> None:
    warned = report(diag(1, "warning", "cwl-unused-input"))
    assert not warned.failed
    strict = report(diag(1, "warning", "cwl-unused-input"), strict=True)
    assert strict.failed and text_report(strict).endswith("(--strict: warnings fail the check)\n")


def test_github_annotation_escapes_data_and_properties() -> None:
    found = Diagnostic(Pos("dir,x/a:b.cwl", 3, 4), "50% done\nnext line", "s,1", "warning", "cwl-unused-output")
    assert github_annotation(found, "warning") == (
        "::warning file=dir%2Cx/a%3Ab.cwl,line=3,col=4,title=cwl-unused-output::step 's,1': 50%25 done%0Anext line"
    )


def test_github_annotates_ten_errors_and_ten_warnings_and_sums_up_the_rest() -> None:
    diags = [diag(n) for n in range(1, 14)] + [diag(n, "warning", "cwl-unused-input") for n in range(20, 32)]
    lines = github_report(report(*diags)).splitlines()
    assert [line.split(" ", 1)[0] for line in lines[:20]] == ["::error"] * 10 + ["::warning"] * 10
    # the rest as plain log lines, in GNU form
    assert lines[20:25] == [
        "wf.cwl:11:3: error: finding 11 [cwl-source]",
        "wf.cwl:12:3: error: finding 12 [cwl-source]",
        "wf.cwl:13:3: error: finding 13 [cwl-source]",
        "wf.cwl:30:3: warning: finding 30 [cwl-unused-input]",
        "wf.cwl:31:3: warning: finding 31 [cwl-unused-input]",
    ]
    assert lines[25] == ("::notice title=cwlpilot check::3 errors, 2 warnings more than GitHub annotates (10 of each "
                         "kind): they are listed in this step's log")
    assert lines[26] == "f0.cwl: 13 errors, 12 warnings"


def test_github_within_the_limits_has_no_notice() -> None:
    lines = github_report(report(*[diag(n) for n in range(1, 11)])).splitlines()
    assert len(lines) == 11 and not any(line.startswith("::notice") for line in lines)


def check_json(*argv: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    main(["check", *argv, "--format", "json"], out, err)
    return json.loads(out.getvalue())


@pytest.mark.parametrize(
    "argv",
    [
        ["examples/cwl/greet.cwl", "examples/cwl/greet-job.yml"],  # one document: its graph
        ["examples/panda/loop.cwl"],  # a PanDA document: its graph as the server converts it
        ["examples"],  # a folder: CWL, PanDA, a plan, errors and warnings
        ["examples", "--strict", "--ignore", "cwl-unused-output", "--graph"],
        ["examples/o2dpg/sim_workflow.json"],
        ["examples/cwl/invalid/syntax.cwl"],
    ],
)
def test_json_reports_match_their_schema(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    data = check_json(*argv)
    schema = schemas.load("check-report")
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)
    summary = data["summary"]
    assert summary["files"] == len(data["files"]) and summary["skipped"] == len(data["skipped"])
    assert summary["errors"] == sum(1 for d in data["diagnostics"] if d["severity"] == "error")
    assert summary["errors"] == sum(f["errors"] for f in data["files"])
    assert data["valid"] is (summary["errors"] == 0 and not (data["strict"] and summary["warnings"]))


def test_the_schema_refuses_what_is_not_a_report() -> None:
    schema = schemas.load("check-report")
    data = check_json(str(REPO / "examples/cwl/invalid/many-errors.cwl"))
    data["diagnostics"][0]["severity"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)
