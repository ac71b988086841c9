"""Crash safety: stages die with their pilot, nothing a stage starts outlives it, signals lose nothing.

Real runs of `cwlpilot run` in subprocesses, real SIGKILLs; no mocks.
"""

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import time

import psutil
import pytest

from .helpers import attempts, cwlpilot, processes_of_run, stage, start_cwlpilot, states, write_plan


def _alive(token):
    """Live (non-zombie) processes whose command line holds `token`."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        if proc.info["status"] != psutil.STATUS_ZOMBIE and token in " ".join(proc.info["cmdline"] or []):
            found.append(proc)
    return found


def _wait_for(predicate, timeout=20.0, step=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def _gone_within(token, seconds):
    """True when no process with `token` is alive `seconds` after now (measured, polled)."""
    return _wait_for(lambda: not _alive(token), timeout=seconds, step=0.01)


def test_sigkill_of_the_runner_alone_ends_its_stage_at_once(tmp_path):
    token = f"sleep 2.{os.getpid()}1"
    plan = write_plan(tmp_path / "p.json", [stage("long", f"echo start >> ledger; {token}; echo end >> ledger")])
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work)
    assert _wait_for(lambda: bool(_alive(token)))
    os.kill(proc.pid, signal.SIGKILL)  # the runner only: its stage is in a session of its own
    proc.wait()
    assert _gone_within(token, 0.5), "the stage outlived its pilot"
    cwlpilot("run", plan, "--workdir", work, check=0, timeout=120)
    assert (work / "ledger").read_text() == "start\nstart\nend\n"  # the first one never finished
    assert [a[2] for a in attempts(work)] == ["lost", "done"]


def test_sigkill_of_the_whole_process_group_ends_the_stages(tmp_path):
    tokens = [f"sleep 32.{os.getpid()}{i}" for i in range(3)]
    stages = [stage(f"s{i}", f"{t}") for i, t in enumerate(tokens)]
    work = tmp_path / "w"
    proc = start_cwlpilot("run", write_plan(tmp_path / "p.json", stages), "--workdir", work, "-j", 3,
                          "--cpu-limit", 3)
    assert _wait_for(lambda: all(_alive(t) for t in tokens))
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 -PGID, as a closed terminal or a batch system does
    proc.wait()
    for t in tokens:
        assert _gone_within(t, 0.5), f"{t} outlived its pilot"


def test_when_the_guard_dies_too_the_resume_ends_the_orphans_before_running_again(tmp_path):
    token = f"sleep 2.{os.getpid()}3"
    plan = write_plan(tmp_path / "p.json", [stage("long", f"echo start >> ledger; {token}; echo end >> ledger")])
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work)
    assert _wait_for(lambda: bool(_alive(token)))
    guards = [p for p in psutil.Process(proc.pid).children() if "guard.py" in " ".join(p.cmdline())]
    assert len(guards) == 1
    os.kill(guards[0].pid, signal.SIGKILL)  # first the guard, so nothing reacts: the stage survives
    assert _wait_for(lambda: not guards[0].is_running() or guards[0].status() == psutil.STATUS_ZOMBIE)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _alive(token), "expected the orphan to survive without its guard"
    result = cwlpilot("run", plan, "--workdir", work, check=0, timeout=120)
    assert "interrupted stage(s) will run again; killed what 1 of them left running" in result.stderr
    assert (work / "ledger").read_text() == "start\nstart\nend\n"  # the orphan never finished
    assert [a[2] for a in attempts(work)] == ["lost", "done"]


DAEMON_CASES = {
    "background job": "sleep {t} & echo started",
    "nohup and disown": "nohup sleep {t} >/dev/null 2>&1 & disown; echo started",
    "new session (setsid)": "setsid sleep {t} >/dev/null 2>&1 < /dev/null & echo started",
    "double fork daemon": "( setsid sh -c 'sleep {t} &' & ) ; sleep 0.2; echo started",
    "daemon with a clean environment": "env -i setsid /bin/sleep {t} >/dev/null 2>&1 < /dev/null & echo started",
}


@pytest.mark.parametrize("case", sorted(DAEMON_CASES))
def test_nothing_a_stage_starts_outlives_it(tmp_path, case):
    token = f"4{abs(hash(case)) % 1000}.{os.getpid()}"
    plan = write_plan(tmp_path / "p.json", [stage("daemon", DAEMON_CASES[case].format(t=token))])
    result = cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)
    assert "1 done" in result.stdout
    assert _gone_within(f"sleep {token}", 1.0), f"{case}: a process of the stage outlived it"


def test_a_daemon_lives_while_its_stage_runs_and_ends_with_it(tmp_path):
    token = f"45.{os.getpid()}"
    stages = [stage("server", f"setsid sleep {token} >/dev/null 2>&1 < /dev/null & sleep 1.5; "
                              f"pgrep -f 'sleep {token}' > alive")]
    result = cwlpilot("run", write_plan(tmp_path / "p.json", stages), "--workdir", tmp_path / "w", check=0)
    assert "1 done" in result.stdout
    assert (tmp_path / "w" / "alive").read_text().strip(), "the stage's daemon was killed while it ran"
    assert _gone_within(f"sleep {token}", 1.0)


def test_keep_stage_daemons_leaves_them_running(tmp_path):
    token = f"46.{os.getpid()}"
    stages = [stage("daemon", f"setsid sleep {token} >/dev/null 2>&1 < /dev/null & echo started")]
    plan = write_plan(tmp_path / "p.json", stages)
    try:
        cwlpilot("run", plan, "--workdir", tmp_path / "w", "--keep-stage-daemons", check=0)
        time.sleep(0.3)
        assert _alive(f"sleep {token}"), "--keep-stage-daemons did not keep the daemon"
    finally:
        for proc in _alive(f"sleep {token}"):
            proc.kill()


def test_a_timed_out_stage_takes_its_background_processes_with_it(tmp_path):
    token = f"47.{os.getpid()}"
    stages = [stage("slow", f"setsid sleep {token} >/dev/null 2>&1 < /dev/null & sleep 30", timeout=0.5)]
    result = cwlpilot("run", write_plan(tmp_path / "p.json", stages), "--workdir", tmp_path / "w", check=1)
    assert "timeout" in result.stdout
    assert _gone_within(f"sleep {token}", 1.0)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_stage_that_ends_during_shutdown_keeps_its_real_outcome(tmp_path, sig):
    """`quick` ignores the stop and ends by itself while the runner shuts down: it is recorded done.
    `slow` is stopped: it is handed back (lost, not charged an attempt) and runs again next time."""
    stages = [
        stage("quick", "trap '' TERM INT; echo quick >> ../ledger; sleep 0.6", cwd="a"),
        stage("slow", f"sleep 30.{os.getpid()}", cwd="b"),
    ]
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work, "-j", 2, "--cpu-limit", 2)
    assert _wait_for(lambda: (work / "ledger").exists())
    os.kill(proc.pid, sig)
    assert proc.wait(timeout=30) != 0
    recorded = {(a[0], a[2]) for a in attempts(work)}
    assert ("quick", "done") in recorded, recorded
    assert ("slow", "lost") in recorded, recorded


def test_a_stage_exiting_non_zero_on_the_batch_systems_sigterm_is_handed_back_not_failed(tmp_path):
    """Regression: Slurm ends a job (scancel, preemption, the time limit) by sending SIGTERM to every process
    of it, the pilot's stages too. A stage that handles it and exits non-zero (a shell's `trap 'exit 143'
    TERM`, a JVM's 143, a handler's exit 1) and whose end the pilot saw with the signal was recorded as
    failed, counted an attempt, and its failure asked the whole run to stop. It is given back with the pilot's
    other stages, as one killed by the signal is. The pilot is held (SIGSTOP) while the signal reaches its
    stages, so that it sees their ends and its own SIGTERM at once, whatever the machine's timing."""
    token = f"30.{os.getpid()}7"
    stages = [stage("trapper", f"trap 'exit 143' TERM; echo start >> ../ledger; sleep {token} & wait", cwd="a"),
              stage("dies", f"echo start >> ../ledger; exec sleep {token}", cwd="b"),
              stage("after", "true", ["trapper", "dies"])]
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    proc = start_cwlpilot("run", plan, "--workdir", work, "-j", 2, "--cpu-limit", 2)
    assert _wait_for(lambda: sum(p.info["cmdline"][0] == "sleep" for p in _alive(f"sleep {token}")) == 2)
    pilot = psutil.Process(proc.pid)
    leaders = [p for p in pilot.children() if token in " ".join(p.cmdline())]
    assert len(leaders) == 2, leaders
    os.kill(proc.pid, signal.SIGSTOP)
    for p in pilot.children(recursive=True):  # as slurmstepd signals a job: every process of it
        with contextlib.suppress(psutil.NoSuchProcess):
            p.send_signal(signal.SIGTERM)
    assert _wait_for(lambda: all(p.status() == psutil.STATUS_ZOMBIE for p in leaders))  # ended, not yet reaped
    os.kill(proc.pid, signal.SIGTERM)
    os.kill(proc.pid, signal.SIGCONT)
    assert proc.wait(timeout=30) == 1
    recorded = [(a[0], a[2]) for a in attempts(work)]
    assert sorted(recorded) == [("dies", "lost"), ("trapper", "lost")], recorded
    assert states(work) == {"trapper": "ready", "dies": "ready", "after": "pending"}
    assert _gone_within(f"sleep {token}", 1.0)
    db = sqlite3.connect(work / "cwlpilot.db")
    try:  # not charged an attempt, and the run was not asked to stop (its next invocation just goes on)
        assert db.execute("SELECT max(counted) FROM stages").fetchone() == (0,)
        assert db.execute("SELECT value FROM meta WHERE key = 'stop'").fetchall() == []
    finally:
        db.close()


@pytest.mark.slow
def test_kill_campaign_no_stage_finishes_twice_and_none_is_lost(tmp_path):
    """Random SIGKILLs of the whole process group over a DAG, then resumes until the run completes.

    Each stage appends `start NAME` and, when it is done, `end NAME TIME` to a ledger. A stage that ended
    but whose end the killed pilot had not yet committed runs again (the at-least-once window): such a
    repeat is allowed only when its first end came within WINDOW seconds of a kill."""
    window, rng, n = 0.05, random.Random(1234), 100
    stages = []
    for i in range(n):
        needs = [f"s{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 2)))]
        cmd = (f"echo start s{i} >> ../ledger; sleep {rng.uniform(0.1, 0.6):.3f}; "
               f"echo end s{i} $(date +%s.%N) >> ../ledger")
        stages.append(stage(f"s{i}", cmd, needs, cwd="work"))
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    kills: list[float] = []
    for _ in range(15):
        proc = start_cwlpilot("run", plan, "--workdir", work, "-j", 4, "--cpu-limit", 4)
        time.sleep(rng.uniform(0.4, 1.0))
        if proc.poll() is not None:
            break
        kills.append(time.time())
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        time.sleep(0.6)  # the guard's work is done well within this
    final = cwlpilot("run", plan, "--workdir", work, check=0, timeout=300)
    assert len(kills) >= 8, "the run ended before the campaign killed it often enough"
    assert f"{n} stages: {n} done" in final.stdout
    assert not processes_of_run(work)
    lines = (work / "ledger").read_text().split("\n")
    ends: dict[str, list[float]] = {}
    for line in lines:
        if line.startswith("end "):
            _, name, when = line.split()
            ends.setdefault(name, []).append(float(when))
    assert set(ends) == {f"s{i}" for i in range(n)}, "a stage was lost"
    for name, times in ends.items():
        if len(times) > 1:
            near = [k for k in kills if -window <= k - times[0] <= window]
            assert near, f"{name} finished twice, its first end {times[0]:.3f} far from every kill"
    assert all(s == "done" for s in states(work).values())


def test_the_store_and_the_script_are_private(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("a", "true", env={"TOKEN": "s3cret"})])
    work = tmp_path / "w"
    cwlpilot("run", plan, "--workdir", work, check=0)
    for name in os.listdir(work):
        if name.startswith("cwlpilot.db"):
            assert os.stat(work / name).st_mode & 0o077 == 0, name
    script = tmp_path / "run.sh"
    script.write_text("old")
    os.chmod(script, 0o644)
    cwlpilot("run", plan, "--produce-script", script, check=0)
    assert os.stat(script).st_mode & 0o777 == 0o600
    assert "s3cret" in script.read_text()
    subprocess.run(["bash", str(script)], cwd=tmp_path, check=True, env={"PATH": "/usr/bin:/bin"})
    for args in (("--dry-run",), ("--list-tasks",)):
        shown = cwlpilot("run", plan, *args, "--workdir", tmp_path / "x", check=0)
        assert "s3cret" not in shown.stdout + shown.stderr
