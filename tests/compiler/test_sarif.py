"""Tests for compiler.sarif: real reports against the SARIF 2.1.0 JSON schema and the SARIF SDK's validator
(npm @microsoft/sarif-multitool-linux, fetched by .ci/sarif-multitool.sh), and the structure GitHub code
scanning reads, checked explicitly as well."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from cwlpilot.check_cmd import main
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.findings import registry
from cwlpilot.compiler.report import FileResult, Report, Skipped
from cwlpilot.compiler.sarif import FINGERPRINT, sarif_report

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / ".ci" / "sarif-multitool.sh"


@pytest.fixture(scope="module")
def multitool() -> Path:
    """The folder holding sarif-2.1.0.json and Sarif.Multitool: CWLPILOT_SARIF_MULTITOOL_DIR, or fetched with
    npm into the user's cache. Outside CI, a machine without npm skips; in CI it fails."""
    given = os.environ.get("CWLPILOT_SARIF_MULTITOOL_DIR")
    if given:
        return Path(given)
    if shutil.which("npm") is None and not os.environ.get("CI"):
        pytest.skip("npm is not installed: the SARIF schema cannot be fetched")
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def run(*argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *argv, "--format", "sarif"], out, err)
    return code, out.getvalue()


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[dict]:
    """SARIF logs of real checks: a folder with errors, warnings and skipped files, a clean document, a plan."""
    monkeypatch.chdir(REPO)
    (tmp_path / "notes.json").write_text('{"a": 1}')
    found = [run("examples/cwl", "examples/panda"), run("examples/cwl/greet.cwl"), run("examples/o2dpg"),
             run(str(tmp_path))]
    assert [code for code, _ in found] == [1, 0, 0, 0]
    return [json.loads(text) for _, text in found]


def test_reports_match_the_sarif_2_1_0_schema(logs: list[dict], multitool: Path) -> None:
    schema = json.loads((multitool / "sarif-2.1.0.json").read_text())
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    for log in logs:
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]
        assert problems == []
    assert logs[0]["runs"][0]["results"] and logs[3]["runs"][0]["invocations"][0]["toolExecutionNotifications"]


def test_the_sarif_sdk_validator_finds_no_error(logs: list[dict], multitool: Path, tmp_path: Path) -> None:
    """`Sarif.Multitool validate` with the SARIF rules and GitHub's ingestion rules (`--rule-kind Gh;Sarif`):
    only notes and the warning that the tool has no informationUri (cwlpilot has no web page to name)."""
    for n, log in enumerate(logs):
        path = tmp_path / f"log{n}.sarif"
        path.write_text(json.dumps(log))
        verdict = tmp_path / f"verdict{n}.sarif"
        done = subprocess.run(
            [str(multitool / "Sarif.Multitool"), "validate", "--rule-kind", "Gh;Sarif", "--level", "Error;Warning",
             "-o", str(verdict), str(path)],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"},
        )
        assert done.returncode == 0, done.stdout + done.stderr
        results = json.loads(verdict.read_text())["runs"][0]["results"]
        assert [r["ruleId"] for r in results if r["ruleId"] != "SARIF2005"] == [], results


def test_the_structure_code_scanning_reads(logs: list[dict]) -> None:
    log = logs[0]
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-schema-2.1.0.json")
    (run_,) = log["runs"]
    driver = run_["tool"]["driver"]
    assert driver["name"] == "cwlpilot" and driver["version"]
    ids = [r["id"] for r in driver["rules"]]
    assert ids == list(registry())
    for result in run_["results"]:
        assert ids[result["ruleIndex"]] == result["ruleId"]
        assert result["level"] in ("error", "warning", "note") and result["message"]["text"]
        (location,) = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert not physical["artifactLocation"]["uri"].startswith("/")
        assert physical["region"]["startLine"] >= 1 and physical["region"]["startColumn"] >= 1
        assert len(result["partialFingerprints"][FINGERPRINT]) == 32
    levels = {r["level"] for r in run_["results"]}
    assert levels == {"error", "warning"}
    assert run_["invocations"][0]["exitCode"] == 1


def test_fingerprints_do_not_move_with_lines_and_tell_twins_apart() -> None:
    def log(*diags: Diagnostic) -> list[str]:
        report = Report((FileResult("wf.cwl", "cwl", None, diags),), (), diags)
        data = json.loads(sarif_report(report, "1.0", root="/"))
        return [r["partialFingerprints"][FINGERPRINT] for r in data["runs"][0]["results"]]

    a = Diagnostic(Pos("wf.cwl", 3, 1), "input 'x' is read by no step and no output", None, "warning",
                   "cwl-unused-input")
    moved = Diagnostic(Pos("wf.cwl", 9, 5), a.message, None, "warning", "cwl-unused-input")
    other = Diagnostic(Pos("wf.cwl", 3, 1), "input 'y' is read by no step and no output", None, "warning",
                       "cwl-unused-input")
    assert log(a) == log(moved)
    assert log(a) != log(other)
    first, second = log(a, moved)  # the same finding twice in a file: one fingerprint each
    assert first != second


def test_paths_are_relative_to_the_source_root_or_absolute_uris() -> None:
    diags = (Diagnostic(Pos("odd dir/wf#1.cwl", 2, 0), "m", None, "error", "cwl-schema"),
             Diagnostic(Pos("/elsewhere/t.cwl", 0, 0), "m", None, "error", "cwl-schema"))
    report = Report((), (Skipped("notes.yml", "not a document"),), diags)
    data = json.loads(sarif_report(report, "1.0", root="/repo"))
    run_ = data["runs"][0]
    assert run_["originalUriBaseIds"]["%SRCROOT%"]["uri"] == "file:///repo/"
    locations = [r["locations"][0]["physicalLocation"] for r in run_["results"]]
    assert locations == [
        {"artifactLocation": {"uri": "odd%20dir/wf%231.cwl", "uriBaseId": "%SRCROOT%"}, "region": {"startLine": 2}},
        {"artifactLocation": {"uri": "file:///elsewhere/t.cwl"}, "region": {"startLine": 1}},  # line 0: unknown
    ]
    (note,) = run_["invocations"][0]["toolExecutionNotifications"]
    assert note["message"]["text"] == "skipped: not a document"
