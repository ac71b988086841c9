"""`cwlpilot status`: a run as its store holds it: stages by state, pilots, failures. Pure: records in, text out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from cwlpilot.executor.store.base import Attempt, PilotRecord, Progress, StageStatus, State

ORDER = (State.DONE, State.RUNNING, State.READY, State.PENDING, State.FAILED, State.SKIPPED)
FAILURES_SHOWN = 20


def pilot_state(p: PilotRecord, now: float, timeout: float) -> str:
    if p.ended:
        return "ended"
    age = now - p.heartbeat
    return f"lost? no heartbeat for {age:.0f} s" if age > timeout else "alive"


def render_status(run: str, progress: Progress, statuses: Sequence[StageStatus], pilots: Sequence[PilotRecord],
                  attempts: Sequence[Attempt], now: float, timeout: float) -> str:
    c = progress.counts
    lines = [f"run {run}",
             f"stages: {progress.total} targeted: " + ", ".join(f"{c.get(s, 0)} {s.value}" for s in ORDER)]
    if progress.stop_reason:
        lines.append(f"stopping: {progress.stop_reason}")
    running = Counter(a.pilot for a in attempts if a.state == "running")
    done = Counter(a.pilot for a in attempts if a.state in ("done", "failed", "retried"))
    lines.append(f"pilots: {sum(not p.ended for p in pilots)} not ended of {len(pilots)}")
    if pilots:
        lines.append(f"  {'id':>4}  {'host':<16} {'pid':>8}  {'slurm job':<14} {'heartbeat':>10}  {'running':>7} "
                     f"{'ended':>6}  state")
        for p in pilots:
            beat = f"{max(0.0, now - p.heartbeat):.1f} s ago"
            lines.append(f"  {p.id:>4}  {p.host:<16} {p.pid:>8}  {p.batch_job or '-':<14} {beat:>10}  "
                         f"{running.get(p.id, 0):>7} {done.get(p.id, 0):>6}  {pilot_state(p, now, timeout)}")
    failed = [s for s in statuses if s.state is State.FAILED and s.wanted]
    if failed:
        last = {a.stage: a for a in attempts}
        lines.append(f"failures: {len(failed)}" + (" (handled by conditions: "
                     f"{sum(s.handled for s in failed)})" if any(s.handled for s in failed) else ""))
        for s in failed[:FAILURES_SHOWN]:
            a = last.get(s.name)
            log = f"; log: {a.log}" if a is not None and a.log else ""
            lines.append(f"  {s.name}: {s.reason}{' (handled)' if s.handled else ''}{log}")
        if len(failed) > FAILURES_SHOWN:
            lines.append(f"  ... and {len(failed) - FAILURES_SHOWN} more")
    lost = sum(1 for a in attempts if a.state == "lost")
    if lost:
        lines.append(f"attempts lost with their pilot and run again: {lost}")
    return "\n".join(lines)
