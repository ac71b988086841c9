"""executor.takeover: which pilots are dead, and taking their stages back."""

import os
import time

from cwlpilot.executor.store.base import PilotRecord
from cwlpilot.executor.store.sqlite import SQLiteStore
from cwlpilot.executor.takeover import is_dead, live_pilots, requeue_dead_pilots

from .helpers_store import claim_all, rows, stages


def test_is_dead_on_this_host_by_process_and_elsewhere_by_heartbeat():
    me = PilotRecord(1, "here", os.getpid(), 0.0, time.time(), False)
    from cwlpilot.executor.monitor import process_identity
    alive = me._replace(pid_started=process_identity(os.getpid()))
    assert not is_dead(alive, "here", 60, time.time())
    assert is_dead(me._replace(pid=2**22 + 12345), "here", 60, time.time())  # no such process
    assert is_dead(alive._replace(pid_started=1.0), "here", 60, time.time())  # pid reused by another process
    remote = PilotRecord(2, "there", 1, 0.0, time.time() - 100, False)
    assert is_dead(remote, "here", 60, time.time())
    assert not is_dead(remote._replace(heartbeat=time.time()), "here", 60, time.time())


def test_a_silent_remote_pilot_loses_its_stages(tmp_path):
    store = SQLiteStore(tmp_path / "r.db")
    store.sync_plan(rows(stages({"a": [], "b": []})), {"run_id": "r"})
    remote = store.register_pilot("far-away-node", 4242, 0.0, 1, 1)
    claims = claim_all(store, remote)
    store.db.execute("UPDATE pilots SET heartbeat = ? WHERE id = ?", (time.time() - 120, remote))
    assert live_pilots(store, "here", 60) == []
    messages = requeue_dead_pilots(store, "r", "here", 60)
    assert messages == ["pilot 1 (pid 4242 on far-away-node) is gone: 2 interrupted stage(s) will run again"]
    assert {s.state.value for s in store.statuses()} == {"ready"}
    assert [a.state for a in store.attempts()] == ["lost", "lost"] and len(claims) == 2
