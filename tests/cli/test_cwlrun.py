"""cli/cwlrun.py: `cwlpilot run WF.cwl` writes only inside its workdir, and without --workdir into a new
folder it names (regression: `run WF.cwl INPUTS` with the default `--workdir .` overwrote ./plan.json and
./outputs.json, even with --dry-run)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..e2e.helpers import ROOT, env, states

EXAMPLES = ROOT / "examples" / "cwl"


@pytest.fixture
def here(tmp_path: Path) -> Path:
    """A working directory holding the user's own plan.json and outputs.json, and the example documents."""
    shutil.copytree(EXAMPLES, tmp_path / "cwl")
    (tmp_path / "plan.json").write_text('{"stages": [{"name": "mine", "cmd": "true"}]}\n')
    (tmp_path / "outputs.json").write_text('{"mine": 1}\n')
    return tmp_path


def run(cwd: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cwlpilot", "run", *map(str, args)], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_without_workdir_each_run_gets_a_new_folder_it_names(here: Path) -> None:
    before = _tree(here)
    first = run(here, "cwl/greet.cwl", "cwl/greet-job.yml", "-q")
    assert first.returncode == 0, first.stderr
    assert "cwlpilot run: running in greet-run-1, a new folder (`--workdir greet-run-1` runs there again" \
        in first.stderr
    outputs = json.loads((here / "greet-run-1" / "outputs.json").read_text())
    assert Path(outputs["greetings"]["path"]).read_text().startswith("hello Ada")
    second = run(here, "-q", "cwl/greet.cwl", "cwl/greet-job.yml")
    assert second.returncode == 0 and "running in greet-run-2" in second.stderr
    after = _tree(here)
    assert {k: v for k, v in after.items() if not k.startswith("greet-run-")} == before  # the user's files
    assert {p.name for p in here.iterdir()} == {"cwl", "plan.json", "outputs.json", "greet-run-1", "greet-run-2"}


def test_the_named_folder_given_back_as_workdir_resumes_the_run(here: Path) -> None:
    assert run(here, "cwl/greet.cwl", "cwl/greet-job.yml", "-q").returncode == 0
    again = run(here, "cwl/greet.cwl", "cwl/greet-job.yml", "--workdir", "greet-run-1", "--progress", "lines")
    assert again.returncode == 0, again.stderr
    assert "running in" not in again.stderr and "done    say" not in again.stderr  # nothing ran again
    assert states(here / "greet-run-1") == {"say[0]": "done", "say[1]": "done", "say[2]": "done", "join": "done"}


def test_a_workdir_holding_files_cwlpilot_did_not_write_is_refused(here: Path) -> None:
    before = _tree(here)
    proc = run(here, "cwl/greet.cwl", "cwl/greet-job.yml", "--workdir", ".")
    assert proc.returncode == 2
    assert proc.stderr == "cwlpilot run: plan.json is not a plan cwlpilot compiled (an O2DPG workflow file?) " \
                          "and is not overwritten\n"
    (here / "plan.json").unlink()
    proc = run(here, "cwl/greet.cwl", "cwl/greet-job.yml", "--workdir", ".")
    assert proc.returncode == 2 and "outputs.json was not written by a cwlpilot run" in proc.stderr
    assert _tree(here) == {k: v for k, v in before.items() if k != "plan.json"}


def test_show_options_write_nothing_and_make_no_folder(here: Path) -> None:
    before = _tree(here)
    for option in ("--dry-run", "--list-tasks"):
        proc = run(here, "cwl/greet.cwl", option, "cwl/greet-job.yml")
        assert proc.returncode == 0, proc.stderr
        assert "say[0]" in proc.stdout
        proc = run(here, "cwl/greet.cwl", "cwl/greet-job.yml", option, "--workdir", ".")  # foreign files: shown
        assert proc.returncode == 0, proc.stderr
    proc = run(here, "cwl/greet.cwl", "cwl/greet-job.yml", "--produce-script", "greet.sh")
    assert proc.returncode == 0 and (here / "greet.sh").is_file()  # the file the option names, and only it
    (here / "greet.sh").unlink()
    assert _tree(here) == before and sorted(os.listdir(here)) == ["cwl", "outputs.json", "plan.json"]


def test_a_failed_run_shows_the_failing_steps_log_and_says_where_the_rest_is(tmp_path: Path) -> None:
    tool = tmp_path / "bad.cwl"
    tool.write_text("cwlVersion: v1.2\nclass: CommandLineTool\n"
                    "baseCommand: [sh, -c, 'echo first line >&2; echo why it broke >&2; exit 4']\n"
                    "inputs: []\noutputs: {o: {type: File, outputBinding: {glob: none.txt}}}\n")
    proc = run(tmp_path, tool, "-q")
    assert proc.returncode == 1
    assert "step 'bad' failed: exit code 4; the end of its log:\n    first line\n    why it broke\n" in proc.stderr
    assert f"cwlpilot run: the run failed (plan and logs in {tmp_path / 'bad-run-1'}; outputs it did not make " \
           f"are null in outputs.json)" in proc.stderr
    assert json.loads((tmp_path / "bad-run-1" / "outputs.json").read_text()) == {"o": None}
