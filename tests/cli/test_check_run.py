"""Tests for cwlpilot.check_run: `cwlpilot check PATH...` over files and folders, its options and exit codes
(0 clean, 1 errors or --strict warnings, 2 usage, 70 a bug), in-process and as a real process."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cwlpilot import check_one
from cwlpilot.check_cmd import main
from cwlpilot.main import main as cwlpilot_main

REPO = Path(__file__).resolve().parents[2]
TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
requirements: {ResourceRequirement: {coresMin: 1}}
inputs:
  message: {type: string, inputBinding: {position: 1}}
stdout: out.txt
outputs: {out: stdout}
"""
WF = """\
cwlVersion: v1.2
class: Workflow
inputs:
  message: string
  unused: int
outputs: {o: {type: File, outputSource: say/out}}
steps:
  say: {run: tools/echo.cwl, in: {message: message}, out: [out]}
"""


def run(*argv: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *map(str, argv)], out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A folder like a repository's: a workflow with a warning, its tool, a plan, a broken document, notes."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "echo.cwl").write_text(TOOL)
    (tmp_path / "wf.cwl").write_text(WF)
    (tmp_path / "plan.json").write_text(json.dumps({"stages": [{"name": "a", "cmd": "true", "needs": ["b"]}]}))
    (tmp_path / "notes.json").write_text('{"author": "me"}')
    return tmp_path


def test_a_folder_is_reported_in_one_run(repo: Path) -> None:
    code, out, err = run(repo)
    assert code == 1 and out == ""  # no graph for a folder
    lines = err.splitlines()
    assert lines == [
        f"{repo}/notes.json: note: skipped: a JSON file that is neither a stages plan (no `stages` list of stages) "
        "nor a CWL document",
        f"{repo}/plan.json:1:42: error: stage 'a': needs unknown stage 'b' [plan-needs]",
        f"{repo}/wf.cwl:5:3: warning: input 'unused' is read by no step and no output [cwl-unused-input]",
        "3 files checked: 1 error, 1 warning, 1 skipped",
    ]


def test_jobs_give_the_same_report(repo: Path) -> None:
    for n in range(3):  # more files
        (repo / f"copy{n}.cwl").write_text(WF)
    one = run(repo, "--format", "json")
    assert run(repo, "--format", "json", "--jobs", "3") == one
    assert json.loads(one[1])["summary"]["files"] == 6


def test_strict_select_ignore_and_comments(repo: Path) -> None:
    (repo / "plan.json").unlink()
    assert run(repo)[0] == 0
    assert run(repo, "--strict")[0] == 1
    assert run(repo, "--strict", "--ignore", "cwl-unused-*")[0] == 0
    assert run(repo, "--strict", "--select", "plan-*,cwl-docker-requirement")[0] == 0
    code, _, err = run(repo, "--select", "cwl-unused-inputs")
    assert code == 2 and err == ("cwlpilot check: no rule matches 'cwl-unused-inputs' "
                                 "(did you mean 'cwl-unused-input'?)\n")
    (repo / "wf.cwl").write_text(WF.replace("  unused: int\n", "  unused: int  # cwlpilot: ignore[cwl-unused-input]\n"))
    code, _, err = run(repo, "--strict")
    assert code == 0 and err.endswith("2 files checked: 0 errors, 1 skipped, 1 ignored\n")


def test_one_document_gives_its_graph_unless_told_not_to(repo: Path) -> None:
    code, out, err = run(repo / "wf.cwl")
    assert code == 0 and out.startswith("workflow ") and "[cwl-unused-input]" in err
    assert run(repo / "wf.cwl", "--no-graph")[1] == ""
    code, out, _ = run(repo, "--graph")
    assert out.count("workflow ") == 2  # the workflow and the tool


def test_output_files(repo: Path, tmp_path: Path) -> None:
    code, out, err = run(repo, "--format", "github", "-o", tmp_path / "annotations.txt", "--sarif",
                         tmp_path / "report.sarif")
    assert (code, out, err) == (1, "", "")
    annotations = (tmp_path / "annotations.txt").read_text().splitlines()
    assert annotations[0].endswith("note: skipped: a JSON file that is neither a stages plan (no `stages` list of "
                                   "stages) nor a CWL document")
    assert annotations[1].startswith("::error file=") and annotations[2].startswith("::warning file=")
    assert json.loads((tmp_path / "report.sarif").read_text())["version"] == "2.1.0"
    code, _, err = run(repo, "-o", tmp_path / "missing" / "x.txt")
    assert code == 2 and err.startswith(f"cwlpilot check: -o {tmp_path}/missing/x.txt: cannot write it: ")


def test_inputs_files_pair_with_documents(repo: Path) -> None:
    (repo / "job.yml").write_text("message: 3\n")
    code, _, err = run(repo / "wf.cwl", repo / "job.yml", repo / "tools" / "echo.cwl")
    assert code == 1
    assert f"{repo}/job.yml:1:1: error: input 'message': expected string, got a number (3) [cwl-inputs]" in err
    assert f"{repo}/job.yml:1:1: error: required input 'unused' (int) is missing" in err
    assert err.endswith("2 files checked: 2 errors, 1 warning\n")  # the job is no file of its own


def test_a_bug_in_a_worker_is_an_internal_error(repo: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(repo))
    monkeypatch.setattr(check_one, "check_target", _broken)
    for jobs in ("1", "2"):  # in this process, and in a forked worker
        assert cwlpilot_main(["check", str(repo), "--jobs", jobs]) == 70
        assert "internal error (a bug in cwlpilot, not in your input): KeyError" in capsys.readouterr().err


def _broken(target: object, settings: object) -> object:
    raise KeyError("a key the check forgot")


@pytest.mark.e2e
def test_exit_codes_as_a_real_process(repo: Path) -> None:
    def cwlpilot(*argv: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "cwlpilot", "check", *map(str, argv)],
                              capture_output=True, text=True, timeout=120, check=False)

    assert cwlpilot(repo / "wf.cwl", "--no-graph").returncode == 0
    assert cwlpilot(repo, "--format", "sarif").returncode == 1
    assert cwlpilot(repo, "--jobs", "0").returncode == 2
    done = cwlpilot(repo, "--format", "github", "--jobs", "2")
    assert done.returncode == 1 and done.stderr == ""
    assert done.stdout.splitlines()[1].startswith("::error file=")
