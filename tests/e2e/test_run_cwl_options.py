"""`cwlpilot run WF.cwl` takes every option of `cwlpilot run PLAN.json`, and the PanDA options."""

import json

from .helpers import ROOT, attempts, cwlpilot


def test_run_of_a_cwl_workflow_takes_the_executor_options(tmp_path):
    proc = cwlpilot("run", ROOT / "examples/cwl/greet.cwl", ROOT / "examples/cwl/greet-job.yml", "--workdir", tmp_path,
                    "-j", 1, "--cpu-limit", 1, "--progress", "lines", "--keep-going", "--retry-on-failure", 1, check=0)
    assert "done " in proc.stderr  # the progress lines asked for
    assert json.loads((tmp_path / "outputs.json").read_text())
    dry = cwlpilot("run", ROOT / "examples/cwl/greet.cwl", ROOT / "examples/cwl/greet-job.yml",
                   "--workdir", tmp_path / "dry", "--dry-run", check=0)
    assert "would run" in dry.stderr + dry.stdout


def test_run_of_a_panda_workflow_takes_the_panda_options(tmp_path):
    cwlpilot("run", ROOT / "examples/panda/loop.cwl", "--workdir", tmp_path, "--max-loop-iterations", 2,
             "--outDS", "user.me.test", "-q", check=0)
    ran = [a[0] for a in attempts(tmp_path) if a[0].endswith("checkpoint")]
    assert ran == ["work_loop.1.checkpoint", "work_loop.2.checkpoint"]  # a loop counts its runs from 1, as iDDS
    assert any(p.name.startswith("user.me.test_") for p in (tmp_path / "datasets").iterdir())
    bad = cwlpilot("run", ROOT / "examples/panda/loop.cwl", "--workdir", tmp_path / "b", "--dataset", "nonsense")
    assert bad.returncode == 2 and "--dataset wants NAME=DIR, not 'nonsense'" in bad.stderr
