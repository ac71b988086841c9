"""Finding pilots that died and taking their stages back, without ever running a stage twice at once.

A pilot is dead when it runs on this host and its process is gone (or its pid now belongs to another
process), or when its last heartbeat is older than the timeout (any host). Before the dead pilot's stages
are made ready again, the processes it left behind on this host are killed: each carries its attempt id in
its environment.
"""

from __future__ import annotations

import time

from cwlpilot.executor.monitor import kill_marked, process_identity
from cwlpilot.executor.store.base import PilotRecord, Store

MARKER = "CWLPILOT_ATTEMPT"


def is_dead(pilot: PilotRecord, host: str, timeout: float, now: float) -> bool:
    if pilot.host == host:
        started = process_identity(pilot.pid)
        if started is None or abs(started - pilot.pid_started) > 0.5:
            return True
    return now - pilot.heartbeat > timeout


def live_pilots(store: Store, host: str, timeout: float, exclude: int = 0) -> list[PilotRecord]:
    now = time.time()
    return [p for p in store.pilots() if not p.ended and p.id != exclude and not is_dead(p, host, timeout, now)]


def requeue_dead_pilots(store: Store, run_id: str, host: str, timeout: float, exclude: int = 0) -> list[str]:
    """Requeue the stages of every dead pilot; one message per pilot taken over."""
    messages = []
    now = time.time()
    for pilot in store.pilots():
        if pilot.ended or pilot.id == exclude or not is_dead(pilot, host, timeout, now):
            continue
        attempts = store.running_attempts(pilot.id)
        killed: set[int] = set()
        if attempts and pilot.host == host:
            killed = kill_marked(MARKER, {f"{run_id}/{a}" for a in attempts})
        store.requeue_pilot(pilot.id, "lost: pilot died")
        if attempts:
            leftover = f"; killed what {len(killed)} of them left running" if killed else ""
            messages.append(f"pilot {pilot.id} (pid {pilot.pid} on {pilot.host}) is gone: "
                            f"{len(attempts)} interrupted stage(s) will run again{leftover}")
    return messages
