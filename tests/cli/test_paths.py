"""Output paths that cannot be written, and numbers the run cannot hold, are usage errors (exit 2), said
before anything runs: `-o` of `compile` (cli/check_cmd.py, cli/panda_cmd.py), `--workdir`/`--outdir` of
`run WF.cwl` and `cwl-runner` and the numbers of `cwl-runner` (cli/cwlrun.py, cli/cwlrunner.py),
`--workdir`/`--produce-script` and the numbers of `run PLAN.json` and `pilot` (cli/run_cmd.py, with the types
of cli/argparsing.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ..e2e.helpers import cwlpilot

GREET = ("examples/cwl/greet.cwl", "examples/cwl/greet-job.yml")
PANDA = ("examples/panda/simple_chain.cwl",)
PLAN = "examples/o2dpg/sim_workflow.json"


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "file.txt"
    path.write_text("not a folder\n")
    return path


@pytest.mark.parametrize("doc", [GREET, PANDA])
def test_compile_into_a_missing_folder_or_under_a_file(doc: tuple[str, ...], tmp_path: Path, a_file: Path) -> None:
    # regression: -o into a missing folder was a FileNotFoundError traceback
    for target, why in ((tmp_path / "no" / "plan.json", "No such file or directory"),
                        (a_file / "plan.json", "Not a directory"), (tmp_path, "Is a directory")):
        proc = cwlpilot("compile", *doc, "-o", target)
        assert proc.returncode == 2, proc.stderr
        assert f"-o {target}: cannot write it: {why}" in proc.stderr and "Traceback" not in proc.stderr


def test_cwl_runner_outdir_and_workdir_naming_a_file(a_file: Path, tmp_path: Path) -> None:
    # regression: FileExistsError tracebacks, after the workflow had been compiled
    for option in ("--outdir", "--workdir"):
        proc = cwlpilot("cwl-runner", option, a_file, *GREET)
        assert proc.returncode == 2
        assert proc.stderr == f"cwlpilot cwl-runner: {option} {a_file}: not a directory\n"
    proc = cwlpilot("cwl-runner", "--outdir", a_file / "sub", *GREET)
    assert proc.stderr == f"cwlpilot cwl-runner: --outdir {a_file / 'sub'}: {a_file} is not a directory\n"


def test_run_of_a_cwl_document_checks_workdir_and_script(a_file: Path, tmp_path: Path) -> None:
    proc = cwlpilot("run", *GREET, "--workdir", a_file)
    assert (proc.returncode, proc.stderr) == (2, f"cwlpilot run: --workdir {a_file}: not a directory\n")
    script = tmp_path / "no" / "run.sh"
    proc = cwlpilot("run", *GREET, "--workdir", tmp_path / "w", "--produce-script", script)
    assert proc.returncode == 2
    assert proc.stderr == f"cwlpilot run: --produce-script {script}: no such directory {script.parent}\n"
    assert not (tmp_path / "w").exists()  # refused before anything was written


def test_run_of_a_plan_checks_workdir_and_script(a_file: Path, tmp_path: Path) -> None:
    # regression: both were tracebacks from the executor
    proc = cwlpilot("run", PLAN, "--workdir", a_file)
    assert proc.returncode == 2 and f"--workdir {a_file}: not a directory" in proc.stderr
    proc = cwlpilot("run", PLAN, "--workdir", tmp_path / "w", "--produce-script", tmp_path / "no" / "run.sh")
    assert proc.returncode == 2 and f"no such directory {tmp_path / 'no'}" in proc.stderr
    proc = cwlpilot("run", PLAN, "--workdir", tmp_path / "w", "--produce-script", tmp_path)
    assert proc.returncode == 2 and f"--produce-script {tmp_path}: is a directory" in proc.stderr
    proc = cwlpilot("run", PLAN, "--workdir", tmp_path / "w", "--produce-script", tmp_path / "run.sh")
    assert proc.returncode == 0 and (tmp_path / "run.sh").is_file()


@pytest.mark.parametrize(("option", "value"), [("-j", "99999999999999999999999"), ("-j", "0"), ("--cpu-limit", "nan"),
                                               ("--mem-limit", "inf"), ("-j", "1e3")])
def test_cwl_runner_numbers_out_of_range_are_usage_errors(option: str, value: str) -> None:
    # regression (fuzz): -j 99999999999999999999999 was an OverflowError in the run's SQLite store
    proc = cwlpilot("cwl-runner", option, value, *GREET)
    assert proc.returncode == 2 and proc.stderr.startswith(f"cwlpilot cwl-runner: argument {option}")


@pytest.mark.parametrize(("option", "value"), [
    ("-j", "99999999999999999999999"), ("-j", "0"), ("-j", "1e3"), ("--cpu-limit", "nan"), ("--cpu-limit", "inf"),
    ("--mem-limit", "=-1e999"), ("--mem-limit", "nan"), ("--n-backfill", "-1"), ("--backfill-factor", "nan"),
    ("--mem-overuse-factor", "0"), ("--heartbeat-timeout", "nan"), ("--sample-interval", "-1"),
    ("--retry-on-failure", "9223372036854775808"),
])
def test_run_of_a_plan_numbers_out_of_range_are_usage_errors(option: str, value: str, tmp_path: Path) -> None:
    # regression (fuzz): -j 99999999999999999999999 was an OverflowError in the run's SQLite store (exit 70),
    # --cpu-limit nan an IntegrityError there, --sample-interval nan a ValueError in the pilot
    given = [option + value] if value.startswith("=") else [option, value]
    proc = cwlpilot("run", PLAN, "--workdir", tmp_path / "w", *given)
    assert proc.returncode == 2, proc.stderr
    assert re.search(rf"argument {re.escape(option)}\S*: .*number", proc.stderr), proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "w").exists()


def test_the_largest_job_count_runs_as_no_limit(tmp_path: Path) -> None:
    # regression: -j 2**63-1 passed the option's check and overflowed the store (the pilot asks it for a few
    # more ready stages than it has free slots)
    from ..e2e.helpers import write_plan

    plan = write_plan(tmp_path / "plan.json", [{"name": "a", "cmd": "true", "needs": [],
                                                 "resources": {"cpu": 1, "mem": 10}}])
    jobs = ("-j", 2**63 - 1)  # cwl-runner's options come before the document, as cwltool's
    for command in (("run", plan, "--workdir", tmp_path / "w", *jobs), ("cwl-runner", "--outdir", tmp_path / "o", *jobs,
                                                                        *GREET)):
        proc = cwlpilot(*command)
        assert proc.returncode == 0, proc.stderr


def test_pilot_and_loop_numbers_out_of_range_are_usage_errors(tmp_path: Path) -> None:
    proc = cwlpilot("pilot", "--store", f"sqlite:///{tmp_path}/none.db", "--wait", "nan")
    assert proc.returncode == 2 and "argument --wait: must be zero or a positive number below 2**63" in proc.stderr
    # a CWL workflow took any --max-loop-iterations; its loops now have the bound of PanDA's
    proc = cwlpilot("run", *GREET, "--workdir", tmp_path / "w", "--max-loop-iterations", "99999999999999999999999")
    assert proc.returncode == 2
    assert proc.stderr == "cwlpilot run: --max-loop-iterations must be from 1 to 20000, not 99999999999999999999999\n"
