"""Scale out, end to end, with a real PostgreSQL and a real Slurm (three virtual nodes on this host): pilots
sharing a run, `submit --slurm` draining a run over the nodes, `scancel` of a pilot mid-run, a pilot reaching
its time limit, a pilot told to drain, pilots preempted (requeued, or cancelled), and a PostgreSQL restart
mid-run. Every stage appends "start NAME" and "end NAME" to a ledger: each must end exactly once."""

import contextlib
import os
import shutil
import subprocess
import sys
import time

import pytest

from .helpers import ROOT, cwlpilot, env, stage, start_cwlpilot, write_plan

LEDGER = "echo start {n} >> ../ledger; sleep {s}; echo end {n} >> ../ledger"
# a stage that handles SIGTERM and exits non-zero, as a shell's trap (or a JVM, exiting 143) does
TRAPPING = "trap 'exit 143' TERM; echo start {n} >> ../ledger; sleep {s} & wait; echo end {n} >> ../ledger"


def plan_of(path, n, sleep, chains=0, trapping=False):
    """n stages writing to the ledger; with `chains`, stage i needs stage i - chains; with `trapping`, the
    odd ones exit 143 on SIGTERM instead of dying of it."""
    stages = [stage(f"t{i}", (TRAPPING if trapping and i % 2 else LEDGER).format(n=f"t{i}", s=sleep),
                    [f"t{i - chains}"] if chains and i >= chains else [], cwd="work") for i in range(n)]
    return write_plan(path, stages)


def ledger(workdir):
    path = workdir / "ledger"
    return path.read_text().split("\n")[:-1] if path.exists() else []


def ended_exactly_once(workdir, n):
    lines = ledger(workdir)
    return all(lines.count(f"end t{i}") == 1 for i in range(n))


def query(url, sql, params=(), missing_ok=False):
    """Rows of a query on the run's schema ([] while the schema is not made yet, if `missing_ok`)."""
    import psycopg

    from cwlpilot.executor.store.pg_connection import split_url

    conninfo, schema = split_url(url)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'SET search_path TO "{schema}"')
        try:
            return conn.execute(sql, params).fetchall()
        except psycopg.errors.UndefinedTable:
            if missing_ok:
                return []
            raise


@pytest.fixture
def slurm():
    """Slurm's client commands talking to a running controller with idle nodes (`.ci/services.sh start`)."""
    reason = None
    if not os.environ.get("CWLPILOT_TEST_SLURM") or shutil.which("sbatch") is None:
        reason = "no Slurm to test with (run `bash .ci/services.sh start` and `. /tmp/cwlpilot-services/env.sh`)"
    else:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=30)
        if "UP" not in ping.stdout:
            reason = f"the Slurm controller does not answer: {ping.stdout.strip()} {ping.stderr.strip()}"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"Slurm is required in CI: {reason}")
        pytest.skip(reason)
    nodes = subprocess.run(["sinfo", "-h", "-N", "-o", "%N"], capture_output=True, text=True, timeout=30)
    return sorted(set(nodes.stdout.split()))


def test_pilots_on_other_hosts_share_a_run_on_postgresql(tmp_path, pg_url):
    n = 40
    plan = plan_of(tmp_path / "p.json", n, 0.1, chains=8)
    work = tmp_path / "w"
    runner = start_cwlpilot("run", plan, "--workdir", work, "--store", pg_url, "-j", 1, log=tmp_path / "run.log")
    helpers = [start_cwlpilot("pilot", "--store", pg_url, "-j", 2, log=tmp_path / f"pilot{k}.log") for k in range(2)]
    assert runner.wait(timeout=120) == 0, (tmp_path / "run.log").read_text()
    for k, h in enumerate(helpers):
        assert h.wait(timeout=60) == 0, (tmp_path / f"pilot{k}.log").read_text()
    lines = ledger(work)
    assert all(lines.count(f"start t{i}") == 1 and lines.count(f"end t{i}") == 1 for i in range(n))
    per_pilot = dict(query(pg_url, "SELECT pilot, count(*) FROM attempts GROUP BY pilot"))
    assert len(per_pilot) == 3 and sum(per_pilot.values()) == n, per_pilot
    assert f"{n} stages: {n} done" in (tmp_path / "run.log").read_text()
    status = cwlpilot("status", "--store", pg_url, check=0).stdout
    assert f"stages: {n} targeted: {n} done, 0 running" in status and "pilots: 0 not ended of 3" in status


def test_submit_drains_a_run_over_three_nodes(tmp_path, pg_url, slurm):
    assert len(slurm) >= 3, slurm
    n = 48
    plan = plan_of(tmp_path / "p.json", n, 0.5)
    work = tmp_path / "w"
    cpus = os.cpu_count() or 1  # a pilot takes a whole virtual node: three pilots need three nodes
    result = cwlpilot("submit", plan, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 3,
                      "--cpus-per-pilot", cpus, "--mem-per-pilot", 300, "--time", "10", "--wait", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "submitted Slurm job array" in result.stdout and f"{n} stages: {n} done" in result.stdout
    script = (work / "cwlpilot-pilots.sbatch").read_text()
    assert "#SBATCH --array=0-2" in script and f"#SBATCH --cpus-per-task={cpus}" in script
    assert "#SBATCH --time=10" in script and "cwlpilot pilot --store" in script
    assert ended_exactly_once(work, n) and len(ledger(work)) == 2 * n
    nodes = {job.split("@")[1] for (job,) in query(pg_url, "SELECT batch_job FROM pilots")}
    worked = query(pg_url, "SELECT p.batch_job, count(*) FROM attempts a JOIN pilots p ON p.id = a.pilot "
                   "GROUP BY p.batch_job")
    # three pilots ran, one per node; Slurm may start one late on a busy machine, when the others have taken
    # most of the work, so the stages are asked to be spread over two nodes at least
    assert len(nodes) == 3 and len(worked) >= 2, worked
    assert len(os.listdir(work / "pilots")) == 3


def test_submit_of_a_cwl_workflow_writes_its_outputs_as_run_does(tmp_path, pg_url, slurm):
    """`submit WF.cwl INPUTS --wait` compiles the workflow into the workdir and, once the run is over, writes
    the output object to WORKDIR/outputs.json, the same as `cwlpilot run WF.cwl INPUTS` writes."""
    wf, job = ROOT / "examples" / "cwl" / "cross.cwl", ROOT / "examples" / "cwl" / "cross-job.yml"
    work = tmp_path / "w"
    result = cwlpilot("submit", wf, job, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 2,
                      "--cpus-per-pilot", 1, "--mem-per-pilot", 300, "--wait", timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"cwlpilot submit: outputs in {work / 'outputs.json'}" in result.stderr, result.stderr
    local = tmp_path / "local"
    cwlpilot("run", wf, job, "--workdir", local, check=0)
    submitted = (work / "outputs.json").read_text().replace(str(work), "WORKDIR")
    assert submitted == (local / "outputs.json").read_text().replace(str(local), "WORKDIR")
    assert '"checksum": "sha1$' in submitted
    # `cwlpilot run` takes the submitted run up again (here: nothing is left to run)
    again = cwlpilot("run", wf, job, "--workdir", work, "--store", pg_url, check=0)
    assert "7 stages: 6 done, 0 failed, 1 skipped" in again.stderr, again.stderr
    assert query(pg_url, "SELECT count(*) FROM attempts")[0][0] == 7


def test_submit_of_a_cwl_workflow_keeps_a_plan_it_did_not_compile(tmp_path, pg_url):
    work = tmp_path / "w"
    work.mkdir()
    (work / "plan.json").write_text('{"stages": [{"name": "mine", "cmd": "true"}]}\n')
    result = cwlpilot("submit", ROOT / "examples" / "cwl" / "cross.cwl", ROOT / "examples" / "cwl" / "cross-job.yml",
                      "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 1, "--cpus-per-pilot", 1,
                      "--mem-per-pilot", 300)
    assert result.returncode == 2 and "is not a plan cwlpilot compiled" in result.stderr, result.stderr
    assert "mine" in (work / "plan.json").read_text()


def _wait_for(condition, timeout=60.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_scancel_of_a_pilot_mid_run_hands_its_stages_back(tmp_path, pg_url, slurm):
    n = 18
    plan = plan_of(tmp_path / "p.json", n, 3.0)  # long enough for Slurm's signal to land while they run
    work = tmp_path / "w"
    submit = subprocess.Popen(
        [sys.executable, "-m", "cwlpilot", "submit", str(plan), "--store", pg_url,
         "--workdir", str(work), "--slurm", "--pilots", "3", "--cpus-per-pilot", "2", "--mem-per-pilot", "300",
         "--wait"], env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # a pilot with two stages running or more (three, with the one it backfills): cancel it as a user (or the
    # batch system) would. Waiting for exactly two missed the moment, or caught a pilot whose last stages
    # were ending: it runs three at once, and two only as it starts or ends.
    victim = _wait_for(lambda: query(pg_url, "SELECT p.id, p.batch_job FROM pilots p JOIN attempts a ON "
                                     "a.pilot = p.id AND a.state = 'running' GROUP BY p.id, p.batch_job "
                                     "HAVING count(*) >= 2 LIMIT 1", missing_ok=True), what="a busy pilot")[0]
    pilot_id, job = victim
    subprocess.run(["scancel", job.split("@")[0]], check=True, timeout=30)
    output, _ = submit.communicate(timeout=300)
    assert submit.returncode == 0, output
    assert f"{n} stages: {n} done" in output and "0 retried" in output
    assert ended_exactly_once(work, n)
    attempts = query(pg_url, "SELECT stage, state, pilot FROM attempts ORDER BY id")
    lost = [(s, p) for s, state, p in attempts if state == "lost"]
    assert lost and {p for _, p in lost} == {pilot_id}, attempts  # given back by the cancelled pilot ...
    assert {state for _, state, _ in attempts} == {"done", "lost"}  # ... not failed, not counted
    counted = query(pg_url, "SELECT max(counted) FROM stages")[0][0]
    assert counted == 0
    for name, _ in lost:  # and it was stopped: its attempt never wrote its end (perhaps not even its start)
        assert ledger(work).count(f"start {name}") in (1, 2) and ledger(work).count(f"end {name}") == 1


def test_a_pilot_told_to_drain_ends_its_stages_and_leaves_the_others(tmp_path, pg_url, slurm):
    """`--drain-before N` asks Slurm for SIGUSR1 to the batch shell, the pilot, N s before the time limit
    (sbatch --signal=B:USR1@N). Slurm sends it at a time of its choosing (up to a minute early); `scancel
    --batch --signal=USR1` sends the same signal to the same process now. The pilot's running stages end
    and are recorded done, it claims no more and leaves (exit 0); the stages left go to the next pilots."""
    n = 8
    plan = plan_of(tmp_path / "p.json", n, 3.0)
    work = tmp_path / "w"
    first = cwlpilot("submit", plan, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 1,
                     "--cpus-per-pilot", 2, "--mem-per-pilot", 300, "--time", 10, "--drain-before", 120, timeout=120)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "#SBATCH --signal=B:USR1@120" in (work / "cwlpilot-pilots.sbatch").read_text()
    (job,) = _wait_for(lambda: query(pg_url, "SELECT p.batch_job FROM pilots p JOIN attempts a ON a.pilot = p.id "
                                     "AND a.state = 'running' LIMIT 1", missing_ok=True), what="a running stage")[0]
    subprocess.run(["scancel", "--batch", "--signal=USR1", job.split("@")[0]], check=True, timeout=30)
    _wait_for(lambda: query(pg_url, "SELECT ended FROM pilots") == [(1,)], timeout=90, what="the pilot's end")
    (log,) = (work / "pilots").iterdir()
    text = _wait_for(lambda: "pilot drained" in log.read_text() and log.read_text(), what="the pilot's last words")
    assert "draining (signal SIGUSR1): no more stages are claimed" in text, text
    attempts = query(pg_url, "SELECT stage, state FROM attempts ORDER BY id")
    assert attempts and {state for _, state in attempts} == {"done"}, attempts  # none lost, none cut short
    started = [line.split()[1] for line in ledger(work) if line.startswith("start")]
    assert sorted(started) == sorted(name for name, _ in attempts)
    assert all(ledger(work).count(f"end {name}") == 1 for name in started)
    def shown():
        out = subprocess.run(["scontrol", "show", "job", job.split("@")[0]], capture_output=True, text=True,
                             timeout=30).stdout
        return "JobState=COMPLETED" in out and out  # not COMPLETING, still in the controller's memory

    assert "ExitCode=0:0" in _wait_for(shown, what="the pilot's job to complete")
    left = query(pg_url, "SELECT count(*) FROM stages WHERE state = 'ready'")[0][0]
    assert left == n - len(attempts) and left > 0
    second = cwlpilot("submit", plan, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 2,
                      "--cpus-per-pilot", 2, "--mem-per-pilot", 300, "--wait", timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{n} stages: {n} done" in second.stdout and ended_exactly_once(work, n)


def _stage_processes(marker):
    """Live processes whose command line holds `marker` (a stage's own sleep length, unique to a test)."""
    import psutil

    return [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])]


def _handed_back_cleanly(url, workdir, n):
    """The run ended with every stage done exactly once; the attempts the stopped pilots had running were
    given back by the pilots themselves (`lost`, rule "interrupted", not "lost: pilot died"), none failed,
    none counted against a stage's retries, and, but in the case below, none wrote its end (it was stopped,
    not finished). Stages that exit 143 on the SIGTERM (`trapping`, the odd ones) were given back too.

    A batch system signals a job's processes one by one: the `sleep` of a stage may die first, and its shell
    write the stage's end before its own signal comes. Such a stage is given back (its shell was killed) and
    runs again: it is the one case where the ledger shows a second end, and only for a stage given back."""
    attempts = query(url, "SELECT stage, state, rule, pilot FROM attempts ORDER BY id")
    lost = [(stage, pilot) for stage, state, rule, pilot in attempts if state == "lost"]
    done = [stage for stage, state, _, _ in attempts if state == "done"]
    assert sorted(done) == sorted(f"t{i}" for i in range(n)), attempts  # each stage done exactly once
    twice = {name for name in done if ledger(workdir).count(f"end {name}") != 1}
    assert twice <= {name for name, _ in lost}, (twice, ledger(workdir))
    assert all(ledger(workdir).count(f"end {name}") == 2 for name in twice), ledger(workdir)
    assert lost and {state for _, state, _, _ in attempts} == {"done", "lost"}, attempts
    assert {rule for _, state, rule, _ in attempts if state == "lost"} == {"interrupted"}, attempts
    assert query(url, "SELECT max(counted) FROM stages")[0][0] == 0
    for name, _ in lost:  # perhaps stopped before it even wrote its start
        tries = sum(1 for stage, _, _, _ in attempts if stage == name)
        assert 1 <= ledger(workdir).count(f"start {name}") <= tries, (name, ledger(workdir))
    if len(lost) > 1:  # consecutive stages (the pilots claim in order): a trapping one among them
        assert any(int(name[1:]) % 2 for name, _ in lost), lost
    return lost


def test_a_pilot_at_its_time_limit_hands_its_stages_back(tmp_path, pg_url, slurm):
    """sbatch(1), --time: "When the time limit is reached, each task in each job step is sent SIGTERM followed
    by SIGKILL. The interval between signals is specified by the Slurm configuration parameter KillWait ...
    Time resolution is one minute". slurmctld looks at the limits every 30 s (its PERIODIC_TIMEOUT), so with
    --time 1 the pilot (the batch script) and its stages get SIGCONT and SIGTERM 60-90 s after the job started,
    and SIGKILL KillWait (5 s, .ci/services.sh) later. A pilot of two cores runs three of these stages at once
    (two, and one backfilled): nine rounds of 12 s outlast 90 s, so the signal comes while stages run."""
    n, length = 27, 12.0731
    plan = plan_of(tmp_path / "p.json", n, length, trapping=True)
    work = tmp_path / "w"
    first = cwlpilot("submit", plan, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 1,
                     "--cpus-per-pilot", 2, "--mem-per-pilot", 300, "--time", 1, "--wait", timeout=240)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "all pilots of job" in first.stderr and "submit again to go on" in first.stderr, first.stderr
    (log,) = (work / "pilots").iterdir()
    text = log.read_text()
    assert "DUE TO TIME LIMIT" in text and "pilot interrupted: its running stages were given back" in text, text
    assert query(pg_url, "SELECT ended FROM pilots") == [(1,)]  # it recorded its own end
    assert not _stage_processes(f"sleep {length}")  # nothing it started outlived it
    running = query(pg_url, "SELECT count(*) FROM attempts WHERE state = 'running'")[0][0]
    lost = query(pg_url, "SELECT count(*) FROM attempts WHERE state = 'lost'")[0][0]
    assert running == 0 and 1 <= lost <= 3, (running, lost)  # what ran at the signal: three at most
    # a second submit, with no time limit, finishes the run
    second = cwlpilot("submit", plan, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 3,
                      "--cpus-per-pilot", 2, "--mem-per-pilot", 300, "--wait", timeout=240)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"{n} stages: {n} done" in second.stdout and "0 retried" in second.stdout, second.stdout
    lost = _handed_back_cleanly(pg_url, work, n)
    assert len({pilot for _, pilot in lost}) == 1


def _job_state(job):
    out = subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True, timeout=30)
    return out.stdout.strip()


@contextlib.contextmanager
def _preempted(plan, url, work, partition, pilots, seconds):
    """`submit --wait` of `pilots` pilots of two cores in `partition`, in the background (output: stdout);
    once they all run stages, a job of the `high` partition wanting the three nodes whole, for `seconds`.
    Yields (the submit process, the preemptor's job id); what is left of either is ended on the way out."""
    submit = subprocess.Popen(
        [sys.executable, "-m", "cwlpilot", "submit", str(plan), "--store", url, "--workdir", str(work),
         "--slurm", "--partition", partition, "--pilots", str(pilots), "--cpus-per-pilot", "2",
         "--mem-per-pilot", "300", "--wait"], env=env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    high = None
    try:
        _wait_for(lambda: query(url, "SELECT count(DISTINCT pilot) FROM attempts WHERE state = 'running'",
                                missing_ok=True) == [(pilots,)], what=f"{pilots} busy pilots")
        high = subprocess.run(["sbatch", "--parsable", "--partition", "high", "--nodes", "3", "--exclusive",
                               "--output", "/dev/null", "--wrap", f"sleep {seconds}"],
                              capture_output=True, text=True, check=True, timeout=30).stdout.strip()
        yield submit, high
    finally:
        if submit.poll() is None:
            submit.kill()
        if high:
            subprocess.run(["scancel", high], timeout=30)


def test_preempted_pilots_hand_their_stages_back_and_come_back_requeued(tmp_path, pg_url, slurm):
    """Preemption, as .ci/services.sh sets it up: PreemptType=preempt/partition_prio, partition `low`
    (PreemptMode=REQUEUE, GraceTime=5) under `high` (a higher PriorityTier) over the same nodes.
    slurm.conf(5), GraceTime: once a job is selected for preemption, "its end time is set to the current
    time plus GraceTime. The job's tasks are immediately sent SIGCONT and SIGTERM ... This is followed by the
    SIGCONT, SIGTERM and SIGKILL signal sequence upon reaching its new end time. This second set of signals is
    sent to both the tasks and the containing batch script": a pilot is the batch script (no job steps), so it
    and its stages work on through the grace time and get the second set only, when slurmctld next looks at
    end times (every 30 s). sbatch(1), --requeue: "When a job is requeued, the batch script is initiated from
    its beginning": each array task starts a new pilot once the preemptor has ended (and, slurm.conf(5)
    AuthInfo, cred_expire "controls how long a requeued job must wait before starting again"). The first
    `submit --wait` follows the requeued job to the end of the run."""
    # three pilots of two cores run nine of these stages at once: seven rounds of 8 s outlast the preemption
    # (at most GraceTime, then 30 s, after the preemptor is submitted)
    n, length = 63, 8.0731
    plan = plan_of(tmp_path / "p.json", n, length, trapping=True)
    work = tmp_path / "w"
    with _preempted(plan, pg_url, work, "low", 3, 20) as (submit, high):
        _wait_for(lambda: _job_state(high) == "RUNNING", timeout=90, what="the preemptor to start")
        # the preempted pilots are gone: each ended itself, giving back what it ran; nothing they started runs
        pilots = query(pg_url, "SELECT id, ended, batch_job FROM pilots ORDER BY id")
        assert len(pilots) == 3 and all(ended == 1 for _, ended, _ in pilots), pilots
        assert not _stage_processes(f"sleep {length}")
        assert query(pg_url, "SELECT count(*) FROM attempts WHERE state = 'running'") == [(0,)]
        output, _ = submit.communicate(timeout=240)
    assert submit.returncode == 0, output
    assert f"{n} stages: {n} done" in output and "0 retried" in output, output
    lost = _handed_back_cleanly(pg_url, work, n)
    first = {pilot_id for pilot_id, _, _ in pilots}
    assert {pilot for _, pilot in lost} <= first
    # the array tasks came back as new pilots, in the same jobs, and finished the run
    again = query(pg_url, "SELECT id, batch_job FROM pilots WHERE id > %s ORDER BY id", (max(first),))
    assert sorted(job.split("@")[0] for _, job in again) == sorted(job.split("@")[0] for _, _, job in pilots)
    for log in (work / "pilots").iterdir():  # each pilot's log holds both of its runs
        text = log.read_text()
        assert "DUE TO PREEMPTION" in text and "pilot interrupted: its running stages were given back" in text


def test_pilots_preempted_and_cancelled_hand_their_stages_back(tmp_path, pg_url, slurm):
    """PreemptMode=CANCEL (partition `lowcancel` of .ci/services.sh, GraceTime=5): the preempted pilots get
    the same SIGCONT, SIGTERM, SIGKILL sequence as with REQUEUE, and their jobs are cancelled rather than
    requeued. They give their stages back; `submit --wait` says that every pilot ended with stages left, and
    submitting again (elsewhere: partition `debug`) finishes the run."""
    n, length = 36, 8.0731  # two pilots of two cores run six at once: six rounds outlast the preemption
    plan = plan_of(tmp_path / "p.json", n, length, trapping=True)
    work = tmp_path / "w"
    with _preempted(plan, pg_url, work, "lowcancel", 2, 5) as (submit, _):
        output, _ = submit.communicate(timeout=240)
    assert submit.returncode == 1, output
    assert "all pilots of job" in output and "submit again to go on" in output, output
    pilots = query(pg_url, "SELECT id, ended FROM pilots ORDER BY id")
    assert len(pilots) == 2 and all(ended == 1 for _, ended in pilots), pilots  # cancelled, not requeued
    assert query(pg_url, "SELECT count(*) FROM attempts WHERE state = 'running'") == [(0,)]
    assert not _stage_processes(f"sleep {length}")
    for log in (work / "pilots").iterdir():
        text = log.read_text()
        assert "DUE TO PREEMPTION" in text and "pilot interrupted: its running stages were given back" in text
    again = cwlpilot("submit", plan, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 3,
                     "--cpus-per-pilot", 2, "--mem-per-pilot", 300, "--wait", timeout=240)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{n} stages: {n} done" in again.stdout and "0 retried" in again.stdout, again.stdout
    lost = _handed_back_cleanly(pg_url, work, n)
    assert {pilot for _, pilot in lost} <= {pilot_id for pilot_id, _ in pilots}


def test_a_postgresql_restart_mid_run_loses_nothing(tmp_path, pg_url, restart_postgres):
    n = 40
    plan = plan_of(tmp_path / "p.json", n, 0.15, chains=4)
    work = tmp_path / "w"
    runner = start_cwlpilot("run", plan, "--workdir", work, "--store", pg_url, "-j", 2, log=tmp_path / "run.log")
    helper = start_cwlpilot("pilot", "--store", pg_url, "-j", 2, log=tmp_path / "pilot.log")
    _wait_for(lambda: ledger(work).count("end t0") and len([x for x in ledger(work) if x.startswith("end")]) >= 8,
              what="some stages done")
    restart_postgres("fast", down=1.0)  # the server is gone for a second, every connection with it
    assert runner.wait(timeout=120) == 0, (tmp_path / "run.log").read_text()
    assert helper.wait(timeout=60) == 0, (tmp_path / "pilot.log").read_text()
    lines = ledger(work)
    assert all(lines.count(f"start t{i}") == 1 and lines.count(f"end t{i}") == 1 for i in range(n)), lines
    assert f"{n} stages: {n} done" in (tmp_path / "run.log").read_text()
    assert {s for (s,) in query(pg_url, "SELECT state FROM attempts")} == {"done"}


def test_submit_wait_exits_1_when_a_stage_fails_and_status_names_it(tmp_path, pg_url, slurm):
    plan = write_plan(tmp_path / "p.json", [stage("ok", "true"), stage("bad", "echo broken; exit 3"),
                                            stage("after", "true", ["bad"])])
    work = tmp_path / "w"
    result = cwlpilot("submit", plan, "--store", pg_url, "--workdir", work, "--slurm", "--pilots", 1,
                      "--cpus-per-pilot", 1, "--mem-per-pilot", 200, "-k", "--wait", timeout=300)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "3 stages: 1 done, 1 failed, 1 skipped" in result.stdout
    status = cwlpilot("status", "--store", pg_url, check=0).stdout
    assert "failures: 1" in status and "  bad: exit code 3; log: " in status


def test_an_sqlite_store_on_a_local_disk_serves_slurm_pilots_on_this_host(tmp_path, slurm):
    n = 12
    plan = plan_of(tmp_path / "p.json", n, 0.1)
    work = tmp_path / "w"
    store = f"sqlite:///{work}/cwlpilot.db"
    result = cwlpilot("submit", plan, "--store", store, "--workdir", work, "--slurm", "--pilots", 2,
                      "--cpus-per-pilot", 1, "--mem-per-pilot", 200, "--wait", timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is an SQLite store on a local disk: only pilots on this host" in result.stderr
    assert ended_exactly_once(work, n) and f"{n} stages: {n} done" in result.stdout


def test_a_pilot_cut_off_from_its_store_stops_its_stages_before_others_may_take_them(tmp_path, pg_url, pg_server):
    """The network to the database fails (a relay in between is cut) for longer than half the heartbeat
    timeout: the pilot stops its stage itself and exits; once the database is back, the next invocation
    finds the pilot dead and runs the stage again. It never ran twice at once, and it never ended twice."""
    from urllib.parse import urlsplit

    import psutil

    from .pgproxy import Proxy

    parts = urlsplit(pg_server[0])
    relay = Proxy(parts.hostname, parts.port)
    plan = write_plan(tmp_path / "p.json", [stage("long", "echo start >> ledger; sleep 4.0417; echo end >> ledger")])
    work = tmp_path / "w"
    try:
        proc = start_cwlpilot("run", plan, "--workdir", work, "--store", relay.url(pg_url), "--heartbeat-timeout", 2,
                              "--heartbeat-interval", 0.3, log=tmp_path / "run.log")
        _wait_for(lambda: (work / "ledger").exists(), what="the stage to start")
        relay.cut(refuse=True)
        assert proc.wait(timeout=30) == 1
        log = (tmp_path / "run.log").read_text()
        assert "lost the connection to the store" in log and "this pilot stops its stages" in log, log
        assert not [p for p in psutil.process_iter(["cmdline"]) if "sleep 4.0417" in " ".join(p.info["cmdline"] or [])]
        assert (work / "ledger").read_text() == "start\n"  # stopped, never finished
    finally:
        relay.close()
    result = cwlpilot("run", plan, "--workdir", work, "--store", pg_url, "--heartbeat-timeout", 2, check=0)
    assert "interrupted stage(s) will run again" in result.stderr
    assert (work / "ledger").read_text() == "start\nstart\nend\n"
    assert [s for (s,) in query(pg_url, "SELECT state FROM attempts ORDER BY id")] == ["lost", "done"]
