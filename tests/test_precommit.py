""".pre-commit-hooks.yaml: the `cwlpilot-check` hook run by pre-commit itself (`pre-commit try-repo`, which
clones the hook's repository and pip-installs it into an environment of its own) on a repository of CWL
files. The hook's repository is a copy of this working tree committed in a temporary git repository, so
the hook tested is the one in the tree, committed or not."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
GOOD = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'true'\ninputs: []\noutputs: []\n"
BAD = "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs:\n  o: {type: File, outputSource: nope/out}\nsteps: []\n"
GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.invalid", "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, capture_output=True, text=True,
                          timeout=120, check=True)
    return done.stdout


def test_the_hook_is_declared_as_pre_commit_reads_it() -> None:
    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "cwlpilot-check" and hook["language"] == "python"
    assert hook["files"] == r"\.cwl$" and hook["entry"].startswith("cwlpilot check")
    assert hook["require_serial"] is True  # one process: one summary over every file


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This working tree's files (tracked and new, not ignored) committed in a git repository of their own."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path_factory.mktemp("hook-repo")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, root / name)
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the tree under test")
    return root


def try_repo(hook_repo: Path, workspace: Path, home: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = Path(sys.executable).parent  # pre-commit, installed with the tests' Python
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "PRE_COMMIT_COLOR": "never",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run([str(bin_dir / "pre-commit"), "try-repo", str(hook_repo), "cwlpilot-check", "--all-files"],
                          cwd=workspace, env=env, capture_output=True, text=True, timeout=900, check=False)


@pytest.mark.e2e
@pytest.mark.slow
def test_pre_commit_runs_the_hook_on_the_cwl_files(hook_repo: Path, tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    (workspace / "tools").mkdir(parents=True)
    (workspace / "tools" / "ok.cwl").write_text(GOOD)
    (workspace / "bad.cwl").write_text(BAD)
    (workspace / "notes.yml").write_text("not: [a document\n")  # not a .cwl file: the hook never sees it
    git(workspace, "init", "-q")
    git(workspace, "add", "-A")
    home = tmp_path / "pre-commit-home"
    done = try_repo(hook_repo, workspace, home)
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "cwlpilot check" in out and "Failed" in out
    assert "bad.cwl:5:3: error: output 'o': unknown source 'nope/out': no step 'nope' [cwl-source]" in out
    assert "2 files checked: 1 error" in out and "notes.yml" not in out
    (workspace / "bad.cwl").write_text(GOOD)
    done = try_repo(hook_repo, workspace, home)  # the hook's environment is made once, then reused
    assert done.returncode == 0 and "Passed" in done.stdout, done.stdout + done.stderr
