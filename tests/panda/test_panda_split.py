"""A prun step split by --nFilesPerJob over a dataset made upstream: the split happens when the files exist,
as stages of their own (`S.split` adds `S.jobJ`, `S` gathers them), run end to end with real processes."""

import json
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import attempts, cwlpilot, start_cwlpilot, states, timeline
from tests.e2e.test_resume_and_pilots import kill_everything
from tests.panda.test_panda_e2e import EXAMPLES, outputs, run, text

pytestmark = pytest.mark.e2e
SPLIT = EXAMPLES / "split.cwl"
JOBS = ["count.job0", "count.job1", "count.job2"]
DATASET = "user.local.split_001_count"


def test_five_upstream_files_two_per_job_run_as_three_parallel_job_stages(tmp_path):
    exec_ = "sleep 1 && cat $(echo %IN | tr , ' ') | awk '{s += $1} END {print s}' > sum.txt"
    (tmp_path / "in.yaml").write_text(f'count_exec: "{exec_}"\n')
    run(tmp_path / "w", SPLIT, tmp_path / "in.yaml", "-j", "3", "--cpu-limit", "3")
    work = tmp_path / "w"
    got = states(work)
    assert [n for n in got if n.startswith("count")] == ["count.split", "count", *JOBS]  # jobs added at run time
    assert all(got[n] == "done" for n in ["count.split", "count", *JOBS]) and got["rescue"] == "skipped"
    spans = {e["name"]: (e["ts"], e["ts"] + e["dur"]) for e in timeline(work) if e["name"] in JOBS}
    assert max(a for a, _ in spans.values()) < min(b for _, b in spans.values()), "the jobs did not overlap"
    made = sorted((work / "datasets" / DATASET).iterdir())
    assert [p.name for p in made] == [f"{DATASET}._00000{j}.sum.txt" for j in range(3)]  # PanDA's file names
    assert [text(p) for p in made] == ["3", "7", "5"]  # files 1+2, 3+4, 5: each job read its own share
    assert text(work / "count.job2" / "job2" / "sum.txt") == "5"
    gathered = json.loads((work / "count" / ".cwlpilot" / "outputs.json").read_text())
    assert gathered["jobs"] == JOBS and gathered["files"] == [p.name for p in made]
    total = outputs(work)["outDS"]
    assert total.endswith("user.local.split_002_total") and text(next(Path(total).iterdir())) == "15"


def test_a_failing_job_makes_the_failure_branch_run_and_skips_the_success_branch(tmp_path):
    plan = tmp_path / "plan.json"
    cwlpilot("compile", SPLIT, EXAMPLES / "split-fail.yaml", "-o", plan, check=0)
    result = cwlpilot("run", plan, "--workdir", tmp_path / "w", "-q")  # no --keep-going needed: it is handled
    assert result.returncode == 0, result.stdout + result.stderr
    assert "exit code 1 (handled by a condition)" in result.stdout
    got = states(tmp_path / "w")
    assert [got[n] for n in JOBS] == ["done", "failed", "done"]
    assert got["count"] == "skipped" and "needs failed stage 'count.job1'" in result.stdout
    assert got["total"] == "skipped" and got["rescue"] == "done"  # $(self.X) false, $(!self.X) true
    written = json.loads((tmp_path / "w" / "@outputs" / ".cwlpilot" / "outputs.json").read_text())
    assert written["outDS"] is None and written["outDS_rescue"]


def test_a_split_killed_mid_way_resumes_and_keeps_the_jobs_that_finished(tmp_path):
    slow = tmp_path / "split.cwl"  # job J sleeps 3 J seconds, so that the kill lands between the jobs
    count = "default: \"cat $(echo %IN | tr , ' ') | awk '{s += $1} END {print s}' > sum.txt\""
    assert count in SPLIT.read_text()
    slow.write_text(SPLIT.read_text().replace(count, count.replace('"cat', '"sleep $((%RNDM:0 * 3)) && cat')))
    work = tmp_path / "w"
    proc = start_cwlpilot("run", slow, "--workdir", work, "-q", "-j", "3", "--cpu-limit", "3")
    deadline = time.time() + 30
    while states(work).get("count.job0") != "done" and time.time() < deadline:
        time.sleep(0.05)
    kill_everything(proc)
    before = states(work)
    assert before["count.split"] == before["count.job0"] == "done" and before["count"] != "done"
    assert before["count.job2"] != "done"
    cwlpilot("run", slow, "--workdir", work, "-q", check=0)
    assert all(states(work)[n] == "done" for n in ["count", *JOBS])
    runs = [row[0] for row in attempts(work)]
    assert runs.count("count.split") == 1 and runs.count("count.job0") == 1  # not run again
    assert text(next(Path(outputs(work)["outDS"]).iterdir())) == "15"


BODY = """cwlVersion: v1.2
class: Workflow
inputs:
  param_n: {type: int, default: 0}
outputs:
  outDS: {type: string, outputSource: s/outDS}
steps:
  top:
    run: prun
    in:
      opt_exec: {default: "echo %{i} %RNDM:0 > t.txt"}
      opt_args: {default: "--outputs t.txt --nJobs 3"}
    out: [outDS]
  s:
    run: prun
    in:
      opt_inDS: top/outDS
      opt_exec: {default: "cat $(echo %IN | tr , ' ') > s.txt"}
      opt_args: {default: "--outputs s.txt --nFilesPerJob 2"}
    out: [outDS]
  j:
    run: junction
    in:
      opt_inDS: s/outDS
      opt_exec:
        default: |-
          if [ %{i} -ge 2 ]; then echo '{"to_terminate": true}'; else echo '{"n": 1}'; fi > results.json
    out: []
"""
MAIN = """cwlVersion: v1.2
class: Workflow
requirements:
  SubworkflowFeatureRequirement: {}
inputs: []
outputs:
  outDS: {type: string, outputSource: after/outDS}
steps:
  L:
    run: body.cwl
    in: []
    out: [outDS]
    hints: [loop]
  after:
    run: prun
    in:
      opt_inDS: L/outDS
      opt_exec: {default: "cat $(echo %IN | tr , ' ') > all.txt"}
      opt_args: {default: "--outputs all.txt"}
    out: [outDS]
"""


def test_a_split_inside_a_loop_is_made_again_in_each_iteration(tmp_path):
    (tmp_path / "body.cwl").write_text(BODY)
    (tmp_path / "main.cwl").write_text(MAIN)
    check = cwlpilot("check", tmp_path / "main.cwl", check=0)
    assert (
        "  Stages: L.1.s.split L.1.s.job0 L.1.s.job1 ... L.1.s  (L.1.s.split adds one job stage per 2" in check.stdout
    )
    run(tmp_path / "w", tmp_path / "main.cwl")
    got = states(tmp_path / "w")
    for i in (1, 2):  # %{i} counts from 1: the junction stops the loop in its second iteration
        assert [got[f"L.{i}.s{part}"] for part in (".split", ".job0", ".job1", "")] == ["done"] * 4
        assert f"L.{i}.s.job2" not in got  # 3 files, 2 per job
    assert got["L.2.j"] == "done" and "L.3.j" not in got
    (last,) = Path(outputs(tmp_path / "w")["outDS"]).iterdir()
    # `after` reads every step's dataset of the body's last iteration (resolve_nodes' tails): top's three
    # files, the two files s's jobs wrote (through its gather), and j's results.json
    lines = text(last).splitlines()
    assert lines[:3] == ["2 0", "2 1", "2 2"] and lines[3:6] == ["2 0", "2 1", "2 2"]
    assert json.loads(lines[6]) == {"to_terminate": True}
