"""The final status table: what was done, failed, skipped and retried, wall time and CPU efficiency."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cwlpilot.executor.store.base import Attempt, StageStatus, State

DETAIL_LIMIT = 40  # stages listed one per line when the run is this small, or for failures


@dataclass(frozen=True)
class Summary:
    counts: dict[State, int]
    retried: int
    wall: float
    cpu_used: float
    cpu_booked: float  # core-seconds booked by attempts that ended

    @property
    def efficiency(self) -> float | None:
        return self.cpu_used / self.cpu_booked if self.cpu_booked > 0 else None


def shown_state(s: StageStatus) -> State:
    """A stage whose kind decided to run nothing (a false CWL `when`) is done for its dependents, and
    shown as skipped."""
    return State.SKIPPED if s.state is State.DONE and s.reason.startswith("skipped: ") else s.state


def summarize(statuses: Sequence[StageStatus], attempts: Sequence[Attempt], since: float, wall: float) -> Summary:
    wanted = [s for s in statuses if s.wanted]
    counts = Counter(shown_state(s) for s in wanted)
    recent = [a for a in attempts if a.start >= since and a.end is not None]
    retried = len({a.stage for a in recent if a.state == "retried"})
    used = sum(a.cpu_time or 0.0 for a in recent)
    booked = sum(a.cpu * (a.end - a.start) for a in recent if a.end is not None)
    return Summary(dict(counts), retried, wall, used, booked)


def render(statuses: Sequence[StageStatus], attempts: Sequence[Attempt], summary: Summary,
           declared: Mapping[str, tuple[float, float]] | None = None) -> str:
    lines = []
    wanted = [s for s in statuses if s.wanted]
    last = {a.stage: a for a in attempts}
    if len(wanted) <= DETAIL_LIMIT:
        shown = wanted
    else:
        shown = [s for s in wanted if shown_state(s) in (State.FAILED, State.SKIPPED) or s.attempts > 1]
        shown = shown[:DETAIL_LIMIT]
    if shown:
        width = max(12, *(len(s.name) for s in shown))
        header = f"{'stage':<{width}}  {'status':<8} {'tries':>5} {'wall s':>8} {'cpu eff':>7} {'peak MB':>8}  note"
        lines.append(header)
        for s in shown:
            a = last.get(s.name)
            lines.append(f"{s.name:<{width}}  {shown_state(s).value:<8} {_tries(s, a):>5} {_wall(a):>8} "
                         f"{_eff(a):>7} {_peak(a):>8}  {_note(s, a, (declared or {}).get(s.name))}")
        hidden = len([s for s in wanted if s.state in (State.FAILED, State.SKIPPED)]) - len(
            [s for s in shown if s.state in (State.FAILED, State.SKIPPED)])
        if hidden > 0:
            lines.append(f"... and {hidden} more failed or skipped stages (see the store or timeline.json)")
    c = summary.counts
    not_run = sum(c.get(s, 0) for s in (State.PENDING, State.READY, State.RUNNING))
    eff = "n/a" if summary.efficiency is None else f"{summary.efficiency:.0%}"
    lines.append(
        f"{sum(c.values())} stages: {c.get(State.DONE, 0)} done, {c.get(State.FAILED, 0)} failed, "
        f"{c.get(State.SKIPPED, 0)} skipped, {not_run} not run; {summary.retried} retried | "
        f"wall {summary.wall:.1f} s | CPU {summary.cpu_used:.1f} s of {summary.cpu_booked:.1f} s booked "
        f"(efficiency {eff})")
    return "\n".join(lines)


def _tries(s: StageStatus, a: Attempt | None) -> str:
    return str(a.number) if a is not None else "-"


def _wall(a: Attempt | None) -> str:
    return "-" if a is None or a.end is None else f"{a.end - a.start:.2f}"


def _eff(a: Attempt | None) -> str:
    if a is None or a.end is None or not a.cpu_time or a.cpu <= 0 or a.end <= a.start:
        return "-"
    return f"{a.cpu_time / (a.cpu * (a.end - a.start)):.0%}"


def _peak(a: Attempt | None) -> str:
    return "-" if a is None or a.peak_mem is None else f"{a.peak_mem:.0f}"


def _note(s: StageStatus, a: Attempt | None, declared: tuple[float, float] | None = None) -> str:
    note = f"{s.reason} (handled by a condition)" if s.handled else s.reason
    if a is not None and declared is not None and declared != (a.cpu, a.mem):
        booked = f"booked {a.cpu:g} cores {a.mem:.0f} MB (declared {declared[0]:g}, {declared[1]:.0f} MB)"
        note = f"{note}; {booked}" if note else booked
    if s.state is State.FAILED and a is not None and a.log:
        note = f"{note}; log: {a.log}"
    return note
