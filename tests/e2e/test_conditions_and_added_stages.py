"""Conditions over how needs ended, and stages added at run time, end to end with real processes."""

import os
import signal
import time

from .helpers import attempts, cwlpilot, stage, start_cwlpilot, states, write_plan


def test_a_failure_branch_runs_and_the_run_succeeds(tmp_path):
    plan = write_plan(tmp_path / "p.json", [
        stage("top", "exit 2"),
        stage("bottom_OK", "echo ok > ok.txt", ["top"], condition="done(top)"),
        stage("bottom_NG", "echo hard luck > ng.txt", ["top"], condition="failed(top)"),
        stage("after_ok", "true", ["bottom_OK"])])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert states(tmp_path / "w") == {"top": "failed", "bottom_OK": "skipped", "bottom_NG": "done",
                                      "after_ok": "skipped"}
    assert (tmp_path / "w" / "ng.txt").read_text() == "hard luck\n" and not (tmp_path / "w" / "ok.txt").exists()
    assert "exit code 2 (handled by a condition)" in proc.stdout
    assert "condition false: done(top)" in proc.stdout
    assert "needs skipped stage 'bottom_OK' (condition false: done(top))" in proc.stdout


def test_success_takes_the_other_branch(tmp_path):
    plan = write_plan(tmp_path / "p.json", [
        stage("top", "true"), stage("bottom_OK", "true", ["top"], condition="done(top)"),
        stage("bottom_NG", "true", ["top"], condition="failed(top)")])
    cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)
    assert states(tmp_path / "w") == {"top": "done", "bottom_OK": "done", "bottom_NG": "skipped"}


def test_a_bad_condition_is_a_plan_error_with_the_column(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("a", "true"), stage("b", "true", ["a"], condition="done(a) &&"),
                                            stage("c", "true", ["a"], condition="done(z)")])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w")
    assert proc.returncode == 1
    assert "stage 'b': condition: expected a condition at the end at column 11" in proc.stderr
    assert "stage 'c': condition: tests 'z', which is not one of the stage's needs" in proc.stderr


# A loop made of added stages: iteration i records its number and, until the last, adds iteration i+1 and
# makes the gate wait for it. Plain shell: the mechanism under test is the executor's own.
ITERATION = """i=$1
echo $i >> ../iterations
sleep {pause}
if [ $i -lt {last} ]; then
  n=$((i+1))
  printf '{{"stages": [{{"name": "it%s", "cmd": "bash ../iter.sh %s", "needs": ["it%s"], "cwd": "it%s",
           "data": {{"adds": "adds.json"}}}}], "needs": [["gate", "it%s"]]}}' $n $n $i $n $n > adds.json
fi
"""


def loop_plan(tmp_path, last, pause=0.0):
    work = tmp_path / "w"
    work.mkdir(parents=True, exist_ok=True)
    (work / "iter.sh").write_text(ITERATION.format(last=last, pause=pause))
    return write_plan(tmp_path / "p.json", [
        stage("it0", "bash ../iter.sh 0", cwd="it0", data={"adds": "adds.json"}),
        stage("gate", "cat iterations > final.txt", ["it0"], cwd="."),
    ])


def test_added_stages_make_a_loop_that_stops_when_it_decides(tmp_path):
    plan = loop_plan(tmp_path, last=3)
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)
    assert (tmp_path / "w" / "final.txt").read_text() == "0\n1\n2\n3\n"
    assert [a[0] for a in attempts(tmp_path / "w")] == ["it0", "it1", "it2", "it3", "gate"]
    assert "5 stages: 5 done" in proc.stdout
    again = cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)  # nothing left to do
    assert len(attempts(tmp_path / "w")) == 5 and "5 stages: 5 done" in again.stdout


def test_a_loop_survives_sigkill_and_resumes_where_it_was(tmp_path):
    plan = loop_plan(tmp_path, last=4, pause=0.4)
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work)
    deadline = time.time() + 30
    while states(work).get("it2") != "running" and time.time() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    cwlpilot("run", plan, "--workdir", work, check=0)
    lines = (work / "iterations").read_text().split()
    assert sorted(set(lines)) == ["0", "1", "2", "3", "4"]
    assert lines.count("0") == 1 and lines.count("1") == 1  # finished iterations did not run again
    assert (work / "final.txt").read_text().split()[-1] == "4"
    assert [a[0] for a in attempts(work) if a[2] == "done"] == ["it0", "it1", "it2", "it3", "it4", "gate"]


def test_invalid_added_stages_fail_the_stage_that_adds_them(tmp_path):
    plan = write_plan(tmp_path / "p.json", [
        stage("adder", """echo '{"stages": [{"name": "x y", "cmd": "true"}]}' > adds.json""",
              data={"adds": "adds.json"})])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w")
    assert proc.returncode == 1
    assert "adder: the stages it adds are not valid: added stages:" in proc.stderr
    assert "'x y' does not match" in proc.stderr
