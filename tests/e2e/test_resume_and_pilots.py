"""Crash safety and pilots: SIGKILL the runner with its children at any moment, resume; pilots sharing a store."""

import contextlib
import os
import signal
import sqlite3
import time

import psutil
import pytest

from .helpers import attempts, cwlpilot, processes_of_run, stage, start_cwlpilot, states, write_plan

# Each stage appends "start NAME" when it begins and "end NAME" when it is done to a ledger in the workdir.
LEDGER = "echo start {n} >> ../ledger; sleep {s}; echo end {n} >> ../ledger"


def chain_plan(path, n=12, sleep=0.15):
    stages = []
    for i in range(n):
        needs = [f"s{i - 2}"] if i >= 2 else []
        stages.append(stage(f"s{i}", LEDGER.format(n=f"s{i}", s=sleep), needs, cwd="work"))
    return write_plan(path, stages)


def kill_everything(proc):
    """SIGKILL the runner and every process below it, the way a batch system's OOM killer or kill -9 would."""
    try:
        tree = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    os.kill(proc.pid, signal.SIGKILL)
    for child in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    proc.wait()


def ledger(workdir):
    path = workdir / "ledger"
    return path.read_text().split("\n")[:-1] if path.exists() else []


@pytest.mark.parametrize("delay", [0.05, 0.3, 0.7, 1.1])
def test_sigkill_at_any_moment_then_the_same_command_resumes(tmp_path, delay):
    plan = chain_plan(tmp_path / "p.json")
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work, "-j", 2)
    time.sleep(delay)
    kill_everything(proc)
    done_before = {n for n, s in states(work).items() if s == "done"}
    started_before = {line.split()[1] for line in ledger(work) if line.startswith("start")}
    count_before = {n: ledger(work).count(f"start {n}") for n in done_before}
    result = cwlpilot("run", plan, "--workdir", work, "-j", 2, check=0)
    assert "12 stages: 12 done" in result.stdout
    lines = ledger(work)
    for name in done_before:  # finished work is neither lost nor run again
        assert lines.count(f"start {name}") == count_before[name]
    for i in range(12):  # everything finished in the end, each stage at least once
        assert f"end s{i}" in lines
    interrupted = started_before - done_before
    for name in interrupted:  # interrupted stages ran again, to completion
        assert lines.count(f"start {name}") == 2 or f"end {name}" in lines


def test_two_pilots_share_one_store_and_every_stage_runs_exactly_once(tmp_path):
    stages = [stage(f"t{i}", LEDGER.format(n=f"t{i}", s=0.1), cwd="work") for i in range(30)]
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    store = f"sqlite:///{work / 'cwlpilot.db'}"
    runner = start_cwlpilot("run", plan, "--workdir", work, "-j", 1, log=tmp_path / "run.log")
    helper = start_cwlpilot("pilot", "--store", store, "-j", 2, log=tmp_path / "pilot.log")
    assert runner.wait(timeout=120) == 0, (tmp_path / "run.log").read_text()
    assert helper.wait(timeout=120) == 0, (tmp_path / "pilot.log").read_text()
    lines = ledger(work)
    for i in range(30):
        assert lines.count(f"start t{i}") == 1 and lines.count(f"end t{i}") == 1
    pilots = {a[5] for a in attempts(work)}
    assert len(pilots) == 2, "the second pilot took no stage"
    assert "30 stages: 30 done" in (tmp_path / "run.log").read_text()


def test_a_dead_pilots_stages_are_taken_over_and_run_once_more(tmp_path):
    stages = [stage("blocker", "sleep 2", timeframe=1), stage("blocker_done", "true", ["blocker"], timeframe=1),
              stage("held", "echo start held >> ledger; sleep 4; echo end held >> ledger", timeframe=2),
              stage("after", "echo after >> ledger", ["held"], timeframe=2)]
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    store = f"sqlite:///{work / 'cwlpilot.db'}"
    runner = start_cwlpilot("run", plan, "--workdir", work, "-j", 1, "--heartbeat-interval", 0.2,
                            log=tmp_path / "run.log")
    deadline = time.time() + 20
    while time.time() < deadline and states(work).get("blocker") != "running":
        time.sleep(0.05)  # the run's pilot holds 'blocker'; the next pilot takes 'held'
    helper = start_cwlpilot("pilot", "--store", store, "-j", 1)
    deadline = time.time() + 20
    while "start held" not in ledger(work) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(helper.pid, signal.SIGKILL)  # the pilot dies; its guard ends the stage it started
    helper.wait()
    assert runner.wait(timeout=60) == 0, (tmp_path / "run.log").read_text()
    log = (tmp_path / "run.log").read_text()
    assert "is gone: 1 interrupted stage(s) will run again\n" in log  # nothing was left running to kill
    assert ledger(work) == ["start held", "start held", "end held", "after"]
    held = [(a[2], a[5]) for a in attempts(work) if a[0] == "held"]
    assert [state for state, _ in held] == ["lost", "done"] and held[0][1] != held[1][1]


def test_ctrl_c_stops_running_stages_and_they_run_again_next_time(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("long", "echo start >> ledger; sleep 30; echo end >> ledger"),
                                            stage("next", "echo next >> ledger", ["long"])])
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work, log=tmp_path / "run.log")
    deadline = time.time() + 20
    while not ledger(work) and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGINT)
    assert proc.wait(timeout=30) == 1
    assert "interrupted: running stages were stopped and will run again next time" in (tmp_path / "run.log").read_text()
    assert [a[2] for a in attempts(work)] == ["lost"]
    assert processes_of_run(work, "long") == []
    write_plan(tmp_path / "p.json", [stage("long", "echo start >> ledger; echo end >> ledger"),
                                     stage("next", "echo next >> ledger", ["long"])])
    cwlpilot("run", plan, "--workdir", work, check=0)
    assert ledger(work) == ["start", "start", "end", "next"]


def test_sigusr1_drains_a_run_its_running_stages_end_and_no_others_start(tmp_path):
    """What a batch system's early warning (sbatch --signal=B:USR1@N) asks of a pilot: the stages running
    finish and are recorded done; nothing else is claimed, nothing is lost; the run goes on next time."""
    plan = write_plan(tmp_path / "p.json", [stage(f"t{i}", LEDGER.format(n=f"t{i}", s=1.5), cwd="work")
                                            for i in range(6)])
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work, "-j", 2, "--cpu-limit", 2, log=tmp_path / "run.log")
    deadline = time.time() + 20
    while sum(line.startswith("start") for line in ledger(work)) < 2 and time.time() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGUSR1)
    assert proc.wait(timeout=30) == 1
    log = (tmp_path / "run.log").read_text()
    assert "draining (signal SIGUSR1): no more stages are claimed" in log, log
    assert "drained: the running stages ended and no others were started; run again to go on" in log, log
    lines = ledger(work)
    started = [line.split()[1] for line in lines if line.startswith("start")]
    assert len(started) == 2 and all(f"end {n}" in lines for n in started), lines
    assert sorted(a[2] for a in attempts(work)) == ["done", "done"]  # none lost, none cut short
    assert sorted(states(work).values()) == ["done"] * 2 + ["ready"] * 4
    result = cwlpilot("run", plan, "--workdir", work, "-j", 2, "--cpu-limit", 2, check=0)
    assert "6 stages: 6 done" in result.stdout
    assert all(ledger(work).count(f"start t{i}") == 1 for i in range(6))


def _stage_sigtermed(tmp_path, pilot_too):
    """A run of one long stage; SIGTERM to the stage's processes (from outside, as a batch system sends it),
    and 0.3 s later, with `pilot_too`, to the pilot. The run's exit code, its log, its attempts."""
    plan = write_plan(tmp_path / "p.json", [stage("victim", LEDGER.format(n="victim", s=30), cwd="work")])
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work, log=tmp_path / "run.log")
    deadline = time.time() + 20
    while not ledger(work) and time.time() < deadline:
        time.sleep(0.05)
    (leader,) = [p for p in processes_of_run(work, "victim") if p.pid == os.getpgid(p.pid)]
    os.killpg(leader.pid, signal.SIGTERM)
    if pilot_too:
        time.sleep(0.3)
        os.kill(proc.pid, signal.SIGTERM)
    code = proc.wait(timeout=30)
    return code, (tmp_path / "run.log").read_text(), attempts(work)


def test_a_stage_the_stops_sigterm_reached_first_goes_back_with_the_pilot(tmp_path):
    """A batch system signals a job's processes one by one: the stage may die, and the pilot learn of it,
    before the pilot's own SIGTERM comes. Its record waits a moment for it (executor.pilot.STOP_HOLD)."""
    code, log, tries = _stage_sigtermed(tmp_path, pilot_too=True)
    assert code == 1 and "interrupted: running stages were stopped and will run again next time" in log, log
    assert [(a[0], a[2]) for a in tries] == [("victim", "lost")], tries  # not failed, not counted


def test_a_stage_ended_by_somebody_elses_sigterm_fails_once_the_pilot_was_not_stopped(tmp_path):
    t0 = time.monotonic()
    code, log, tries = _stage_sigtermed(tmp_path, pilot_too=False)
    assert code == 1 and "killed by signal 15" in log, log
    assert [(a[0], a[2]) for a in tries] == [("victim", "failed")], tries
    assert time.monotonic() - t0 >= 2.0  # held for STOP_HOLD first


def test_a_pilot_without_a_run_says_so(tmp_path):
    proc = cwlpilot("pilot", "--store", f"sqlite:///{tmp_path}/none.db", "--wait", 0.3)
    assert proc.returncode == 1 and "no store there after 0.3 s" in proc.stderr
    assert not (tmp_path / "none.db").exists()


def _started(work):
    """Attempts recorded so far; 0 while the store is still being made."""
    try:
        return len(attempts(work))
    except sqlite3.Error:
        return 0


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_is_obeyed_at_once_while_stages_start_and_end(tmp_path, signum):
    """The loop runs in a thread of its own and the main thread takes the signals: a stop must still reach
    the loop at once, while short stages keep starting and ending (SIGCHLD arriving all the time)."""
    stages = [stage("long", "sleep 30")] + [stage(f"t{i}", "true") for i in range(20000)]
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work, "-j", "3", "--cpu-limit", "3", log=tmp_path / "run.log")
    deadline = time.time() + 30
    while time.time() < deadline and _started(work) < 300:
        time.sleep(0.05)
    sent = time.monotonic()
    os.kill(proc.pid, signum)
    assert proc.wait(timeout=30) == 1
    assert time.monotonic() - sent < 5  # `sleep` obeys the SIGTERM it is sent at once
    log = (tmp_path / "run.log").read_text()
    assert "interrupted: running stages were stopped and will run again next time" in log
    ended = {a[0]: a[2] for a in attempts(work)}
    assert ended["long"] == "lost"
    assert 200 <= sum(state == "done" for state in ended.values()) < 20000  # it came while stages flowed
    assert processes_of_run(work, "long") == []
