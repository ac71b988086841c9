"""`cwlpilot run` end to end with real processes: the O2DPG example, failures, options, reports."""

import json
import subprocess

from .helpers import ROOT, attempts, cwlpilot, stage, states, timeline, write_plan

EXAMPLE = ROOT / "examples" / "o2dpg" / "sim_workflow.json"


def test_o2dpg_example_runs_unchanged(tmp_path):
    proc = cwlpilot("run", EXAMPLE, "--workdir", tmp_path, "--cpu-limit", 4, "--mem-limit", 4000, check=0)
    assert "26 stages: 26 done, 0 failed, 0 skipped, 0 not run; 0 retried" in proc.stdout
    merged = (tmp_path / "merge" / "AO2D_merged.root").read_text()
    assert merged.count("mode=fast") == 3  # the stage env reached every tpcreco stage
    assert "digit 5" in merged  # NEVENTS from the global init task's env
    events = timeline(tmp_path)
    assert len(events) == 26
    args = events[0]["args"]
    assert {"cpu_booked", "mem_booked_mb", "exit_code", "peak_mem_mb", "attempt"} <= set(args)
    ccdb = sorted((e["ts"], e["ts"] + e["dur"]) for e in events if e["name"].startswith("ccdb"))
    assert all(a[1] <= b[0] for a, b in zip(ccdb, ccdb[1:], strict=False)), "semaphore stages overlapped"
    by_name = {e["name"]: e for e in events}
    for name, ev in by_name.items():
        for need in next(s for s in json.loads(EXAMPLE.read_text())["stages"] if s["name"] == name)["needs"]:
            assert by_name[need]["ts"] + by_name[need]["dur"] <= ev["ts"], f"{name} started before {need} ended"


def test_running_again_does_nothing_more(tmp_path):
    cwlpilot("run", EXAMPLE, "--workdir", tmp_path, check=0)
    before = len(attempts(tmp_path))
    proc = cwlpilot("run", EXAMPLE, "--workdir", tmp_path, check=0)
    assert len(attempts(tmp_path)) == before
    assert "26 done" in proc.stdout


def test_a_failure_skips_downstream_and_exits_1(tmp_path):
    plan = write_plan(tmp_path / "p.json", [
        stage("bad", "echo oops; exit 3"), stage("after", "true", ["bad"]), stage("free", "true")])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "-k")
    assert proc.returncode == 1
    assert states(tmp_path / "w") == {"bad": "failed", "after": "skipped", "free": "done"}
    assert "needs failed stage 'bad'" in proc.stdout and "exit code 3" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "w" / "bad.log").read_text() == "oops\n"


def test_without_keep_going_nothing_new_starts_after_a_failure(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("bad", "exit 1", timeframe=1)] +
                      [stage(f"later{i}", "true", timeframe=2) for i in range(5)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "-j", 1)
    assert proc.returncode == 1
    assert "stopped: stage 'bad' failed (exit code 1)" in proc.stderr
    assert [a[0] for a in attempts(tmp_path / "w")] == ["bad"]
    # the same command again resumes: the failed stage gets a fresh start, the others run
    write_plan(tmp_path / "p.json", [stage("bad", "true", timeframe=1)] +
               [stage(f"later{i}", "true", timeframe=2) for i in range(5)])
    cwlpilot("run", plan, "--workdir", tmp_path / "w", "-j", 1, check=0)


def test_plan_errors_exit_1_with_positions_and_nothing_runs(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("a", "true", ["b"]), stage("b", "true", ["a"]),
                                            stage("c", "true", ["nope"])])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "stage 'c': needs unknown stage 'nope'" in proc.stderr
    assert "cycle: a -> b -> a" in proc.stderr
    assert "2 problems found; nothing was run" in proc.stderr
    assert not (tmp_path / "w").exists()


def test_a_stage_that_can_never_fit_is_refused_before_anything_starts(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("small", "true"), stage("huge", "true", cpu=64, mem=10)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--cpu-limit", 2)
    assert proc.returncode == 1
    assert "stage 'huge': books 64 CPU cores but the CPU limit is 2" in proc.stderr
    assert not (tmp_path / "w").exists()
    cwlpilot("run", plan, "--workdir", tmp_path / "w", "--cpu-limit", 2, "--optimistic-resources", check=0)


def test_global_init_command_and_environment(tmp_path):
    plan = write_plan(tmp_path / "p.json", [
        {"name": "__global_init_task__", "cmd": "echo init > init.txt", "env": {"FROM_INIT": "yes", "HOME": "/x"}},
        stage("show", "echo $FROM_INIT $HOME $OWN > out.txt", env={"OWN": "mine"})])
    cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)
    assert (tmp_path / "w" / "init.txt").read_text() == "init\n"
    import os
    # the runner's own environment wins over the global init env (O2DPG), the stage env is added
    assert (tmp_path / "w" / "out.txt").read_text() == f"yes {os.environ['HOME']} mine\n"
    write_plan(tmp_path / "p.json", [{"name": "__global_init_task__", "cmd": "exit 4"}, stage("x", "true")])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w2")
    assert proc.returncode == 1 and "its command failed with exit code 4" in proc.stderr
    assert not (tmp_path / "w2" / "x.log").exists()


def test_targets_run_only_what_they_need(tmp_path):
    proc = cwlpilot("run", EXAMPLE, "--workdir", tmp_path, "-tt", "aod_2$", check=0)
    ran = {a[0] for a in attempts(tmp_path)}
    assert ran == {"ccdb_prefetch", "sgngen_2", "sgnsim_2", "tpcdigi_2", "itsdigi_2", "tpcreco_2", "itsreco_2",
                   "aod_2"}
    assert "8 stages: 8 done" in proc.stdout
    proc = cwlpilot("run", EXAMPLE, "--workdir", tmp_path, "--target-labels", "CCDB", check=0)
    assert {a[0] for a in attempts(tmp_path)} - ran == {"ccdb_update_1", "ccdb_update_3", "sgngen_1", "sgngen_3",
                                                         "ccdb_update_2"}
    none = cwlpilot("run", EXAMPLE, "--workdir", tmp_path, "--target-labels", "NOPE", check=0)  # as O2DPG
    assert none.stdout == "Apparently some of the chosen target tasks are not in the workflow\n"


def test_rerun_from_reruns_the_match_and_everything_downstream(tmp_path):
    cwlpilot("run", EXAMPLE, "--workdir", tmp_path, check=0)
    cwlpilot("run", EXAMPLE, "--workdir", tmp_path, "--rerun-from", "tpcreco_2", check=0)
    again = [a[0] for a in attempts(tmp_path) if a[1] == 2]
    assert sorted(again) == ["aod_2", "aodmerge", "tpcreco_2"]
    assert (tmp_path / "tf2" / "tpcreco_2.log").exists() and (tmp_path / "tf2" / "tpcreco_2.1.log").exists()


def test_a_changed_command_reruns_that_stage_and_its_downstream(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("a", "echo 1 > a"), stage("b", "cat a > b", ["a"]),
                                            stage("c", "true")])
    cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)
    write_plan(tmp_path / "p.json", [stage("a", "echo 2 > a"), stage("b", "cat a > b", ["a"]), stage("c", "true")])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)
    assert "2 finished stage(s) changed or depend on a change and run again: a, b" in proc.stderr
    assert (tmp_path / "w" / "b").read_text() == "2\n"
    assert [a[0] for a in attempts(tmp_path / "w")].count("c") == 1


def test_list_tasks_dry_run_and_produce_script(tmp_path):
    listed = cwlpilot("run", EXAMPLE, "--list-tasks", check=0).stdout.splitlines()
    assert len(listed) == 27
    assert listed[:2] == ["List of tasks in this workflow:", "ccdb_prefetch  (['CCDB']) ToDo: True"]
    dry = cwlpilot("run", EXAMPLE, "--dry-run", "--workdir", tmp_path / "w", "-tt", "aod_1", check=0).stdout
    assert "would run tpcdigi_1: cpu=1 mem=800MB" in dry and "8 stage(s) would run; 0 already done" in dry
    assert not (tmp_path / "w").exists()
    script = tmp_path / "run.sh"
    cwlpilot("run", EXAMPLE, "--produce-script", script, check=0)
    subprocess.run(["bash", script], cwd=tmp_path, check=True, env={"PATH": "/usr/bin:/bin", "WORKDIR": str(tmp_path)})
    assert (tmp_path / "merge" / "AO2D_merged.root").read_text().count("mode=fast") == 3


def test_run_does_not_import_the_compiler(tmp_path):
    proc = subprocess.run(["python3", "-X", "importtime", "-m", "cwlpilot", "run", str(EXAMPLE), "--list-tasks"],
                          cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "cwlpilot.executor.pilot" in imported or "cwlpilot.executor.runner" in imported
    compiler = {m for m in imported if m.startswith("cwlpilot.compiler")}
    assert not compiler | {m for m in imported if m.split(".")[0] in ("cwl_utils", "schema_salad")}


def test_a_terminal_gets_a_live_progress_bar(tmp_path):
    import os
    import sys

    from .helpers import env
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "cwlpilot", "run", str(EXAMPLE), "--workdir", str(tmp_path)],
                            cwd=ROOT, env={**env(), "COLUMNS": "100", "TERM": "xterm"}, stdin=slave, stdout=slave,
                            stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closes when the run ends
            break
        if not data:
            break
        chunks.append(data)
    assert proc.wait(timeout=60) == 0
    screen = b"".join(chunks).decode(errors="replace")
    assert "26/26" in screen and "\x1b[" in screen  # a bar drawn with terminal control sequences
    assert "26 stages: 26 done" in screen


def test_stages_start_with_no_signal_blocked_and_default_handlers(tmp_path):
    """The pilot's threads block signals of their own (its loop runs in a thread of its own); a stage
    must still start as from a shell: nothing blocked, so that SIGTERM and SIGINT reach it."""
    plan = write_plan(tmp_path / "p.json", [
        stage("direct", "grep -h Sig /proc/self/status"),  # plain words: run without a shell
        stage("shell", "grep Sig /proc/self/status > shell.txt"),
    ])
    work = tmp_path / "w"
    cwlpilot("run", plan, "--workdir", work, check=0)
    for text in ((work / "direct.log").read_text(), (work / "shell.txt").read_text()):
        fields = {key: value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}
        assert int(fields["SigBlk"], 16) == 0, text
        assert int(fields["SigIgn"], 16) & (1 << (15 - 1)) == 0, text  # SIGTERM is not ignored
