"""timeline.json: every attempt as a Chrome trace-event "complete" event, to open in Perfetto."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from cwlpilot.executor.store.base import Attempt


def trace_events(attempts: Sequence[Attempt], now: float) -> list[dict[str, Any]]:
    """One `"ph": "X"` event per attempt. Each pilot is a process; overlapping attempts get separate
    lanes (threads), so every lane nests properly as the trace format requires."""
    if not attempts:
        return []
    origin = min(a.start for a in attempts)
    lanes: dict[int, list[float]] = {}  # pilot -> end time of the last attempt in each lane
    events: list[dict[str, Any]] = []
    for a in sorted(attempts, key=lambda a: (a.start, a.stage, a.number)):
        end = a.end if a.end is not None else now
        busy = lanes.setdefault(a.pilot, [])
        lane = next((i for i, free_at in enumerate(busy) if free_at <= a.start), len(busy))
        if lane == len(busy):
            busy.append(end)
        else:
            busy[lane] = end
        # an attempt whose kind ran nothing (a CWL `when` that is false) is recorded done "skipped: WHY"
        state = "skipped" if a.state == "done" and a.rule.startswith("skipped: ") else a.state
        events.append({
            "name": a.stage, "cat": state, "ph": "X", "pid": a.pilot, "tid": lane + 1,
            "ts": round((a.start - origin) * 1e6), "dur": max(1, round((end - a.start) * 1e6)),
            "args": {
                "attempt": a.number, "state": state, "exit_code": a.exit_code, "failure": a.failure,
                "cpu_booked": a.cpu, "mem_booked_mb": a.mem,
                "peak_mem_mb": None if a.peak_mem is None else round(a.peak_mem, 1),
                "cpu_time_s": None if a.cpu_time is None else round(a.cpu_time, 3),
                "backfill": a.backfill, "log": a.log, "decided_by": a.rule or None,
            },
        })
    hosts = {a.pilot: a.host for a in attempts}
    meta = [{"name": "process_name", "ph": "M", "pid": p, "tid": 0, "args": {"name": f"pilot {p} ({h})"}}
            for p, h in sorted(hosts.items())]
    return meta + events


def write_timeline(path: Path, attempts: Sequence[Attempt], now: float) -> None:
    doc = {"traceEvents": trace_events(attempts, now), "displayTimeUnit": "ms"}
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, separators=(",", ":")), encoding="utf-8")
    tmp.replace(path)
