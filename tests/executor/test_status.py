"""executor.status: what `cwlpilot status` prints."""

from cwlpilot.executor.status import render_status
from cwlpilot.executor.store.base import Attempt, PilotRecord, Progress, StageStatus, State


def attempt(stage, pilot, state, log=None):
    return Attempt(stage, 1, pilot, "h", state, 0.0, None, None, None, 1, 1, None, None, log, False, "")


def test_stages_by_state_pilots_and_failures():
    progress = Progress({State.DONE: 3, State.RUNNING: 1, State.FAILED: 1}, None)
    statuses = [StageStatus("a", State.DONE, 1, "", True), StageStatus("bad", State.FAILED, 1, "exit code 2", True)]
    pilots = [PilotRecord(1, "n1", 100, 0.0, 995.0, False, "7_0@n1"), PilotRecord(2, "n2", 200, 0.0, 800.0, False, ""),
              PilotRecord(3, "n3", 300, 0.0, 990.0, True, "7_2@n3")]
    attempts = [attempt("a", 1, "done"), attempt("x", 1, "running"), attempt("bad", 3, "failed", "/w/bad.log"),
                attempt("y", 2, "lost")]
    text = render_status("r1 (workdir /w)", progress, statuses, pilots, attempts, now=1000.0, timeout=60)
    lines = text.splitlines()
    assert lines[0] == "run r1 (workdir /w)"
    assert lines[1] == "stages: 5 targeted: 3 done, 1 running, 0 ready, 0 pending, 1 failed, 0 skipped"
    assert lines[2] == "pilots: 2 not ended of 3"
    assert "7_0@n1" in lines[4] and "5.0 s ago" in lines[4] and lines[4].endswith("alive")
    assert lines[5].endswith("lost? no heartbeat for 200 s") and lines[6].endswith("ended")
    assert "failures: 1" in lines and "  bad: exit code 2; log: /w/bad.log" in lines
    assert lines[-1] == "attempts lost with their pilot and run again: 1"
