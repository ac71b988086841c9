"""Retries, retry rules, memory and timeout kills, end to end with real processes."""

from .helpers import attempts, cwlpilot, processes_of_run, stage, timeline, write_plan

ALLOC = "python3 -c 'import time; b = bytearray({mb} * 2**20); b[::4096] = b\"x\" * len(b[::4096]); time.sleep({s})'"


def test_retry_count_retries_until_success_with_a_log_and_event_per_attempt(tmp_path):
    flaky = "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; echo attempt $((n+1)); [ $n -ge 2 ]"
    plan = write_plan(tmp_path / "p.json", [stage("flaky", flaky, retry_count=3)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", check=0)
    assert [a[:3] for a in attempts(tmp_path / "w")] == [("flaky", 1, "retried"), ("flaky", 2, "retried"),
                                                         ("flaky", 3, "done")]
    # every attempt's log is kept: the last one is `<name>.log`, O2's taskwrapper's name for it
    assert (tmp_path / "w" / "flaky.1.log").read_text() == "attempt 1\n"
    assert (tmp_path / "w" / "flaky.2.log").read_text() == "attempt 2\n"
    assert (tmp_path / "w" / "flaky.log").read_text() == "attempt 3\n"
    assert [e["args"]["attempt"] for e in timeline(tmp_path / "w")] == [1, 2, 3]
    assert "1 retried" in proc.stdout


def test_retry_rules_file_no_retry_on_exit_code_and_log_regex(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {exit_codes: [3], action: no_retry}\n- {log_regex: 'corrupt input', action: no_retry}\n")
    plan = write_plan(tmp_path / "p.json", [stage("three", "exit 3", retry_count=4),
                                            stage("corrupt", "echo 'corrupt input'; exit 1", retry_count=4),
                                            stage("other", "exit 5", retry_count=1)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "-k", "--retry-rules", rules)
    assert proc.returncode == 1
    counts: dict[str, int] = {}
    for a in attempts(tmp_path / "w"):
        counts[a[0]] = counts.get(a[0], 0) + 1
    assert counts == {"three": 1, "corrupt": 1, "other": 2}
    assert "[no_retry]" in proc.stderr


def test_bad_retry_rules_file_is_reported(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text("- {action: increase_memory, value: 0.5}\n- {action: explode}\n"
                     "- {action: no_retry, log_regex: '('}\n")
    plan = write_plan(tmp_path / "p.json", [stage("a", "true")])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--retry-rules", rules)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "rules.yaml: rule #1: 0.5 is less than or equal to the minimum of 1" in proc.stderr
    assert "rules.yaml: rule #2: 'explode' is not one of" in proc.stderr
    assert "rules.yaml: retry rule #3: log_regex: bad regular expression" in proc.stderr


def test_memory_overuse_is_killed_and_increase_memory_retries_with_a_bigger_booking(tmp_path):
    rule = [{"failure": "memory", "action": "increase_memory", "value": 4}]
    plan = write_plan(tmp_path / "p.json", [stage("hungry", ALLOC.format(mb=300, s=2), mem=100, retry_count=1,
                                                  retry_rules=rule)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--mem-overuse-factor", 2, "--sample-interval", 0.1,
                    "--mem-limit", 4000)
    assert proc.returncode == 0, proc.stderr
    got = [(a[1], a[2], a[3], a[4]) for a in attempts(tmp_path / "w")]
    assert got == [(1, "retried", "memory", 100.0), (2, "done", None, 400.0)]
    assert "uses" in proc.stderr and "over 2 x its booking of 100 MB; killing it" in proc.stderr
    first = timeline(tmp_path / "w")[0]["args"]
    assert first["peak_mem_mb"] > 200 and first["failure"] == "memory"


def test_total_memory_over_the_limit_kills_the_worst_offender(tmp_path):
    plan = write_plan(tmp_path / "p.json", [stage("big", ALLOC.format(mb=400, s=5), mem=50),
                                            stage("small", "sleep 1", mem=50)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--mem-limit", 250, "--sample-interval", 0.1, "-k")
    assert proc.returncode == 1
    result = {a[0]: (a[2], a[3]) for a in attempts(tmp_path / "w")}
    assert result == {"big": ("failed", "memory"), "small": ("done", None)}
    assert "over the memory limit of 250 MB; killing 'big'" in proc.stderr


def test_timeout_kills_the_whole_tree_and_increase_walltime_helps(tmp_path):
    slow = "sleep 0.6 & wait; echo finished"
    rule = [{"failure": "timeout", "action": "increase_walltime", "value": 5}]
    plan = write_plan(tmp_path / "p.json", [stage("slow", slow, timeout=0.3, retry_count=1, retry_rules=rule),
                                            stage("stuck", "sleep 60 & sleep 60; wait", timeout=0.3)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "-k")
    assert proc.returncode == 1
    result = [(a[0], a[2], a[3]) for a in attempts(tmp_path / "w")]
    assert sorted(result) == [("slow", "done", None), ("slow", "retried", "timeout"), ("stuck", "failed", "timeout")]
    assert "killed: timeout" in proc.stdout
    assert (tmp_path / "w" / "slow.log").read_text() == "finished\n"
    assert (tmp_path / "w" / "slow.1.log").read_text() == ""
    left = processes_of_run(tmp_path / "w")
    assert left == [], "the timed-out stage left processes behind"


def test_a_memory_kill_of_a_stage_with_a_timeout_is_reported_normally(tmp_path):
    """Regression: the wait for a stage killed for memory while it also had a timeout crashed the pilot."""
    plan = write_plan(tmp_path / "p.json", [stage("hungry", ALLOC.format(mb=300, s=5), mem=50, timeout=60)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--mem-overuse-factor", 2, "--sample-interval", 0.05)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert [(a[2], a[3]) for a in attempts(tmp_path / "w")] == [("failed", "memory")]
