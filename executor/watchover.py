"""The pilot's stages while they run: what it keeps of each, and its watch over them (memory, time).

Functions over the pilot's running stages (attempt id -> Running), called from its loop only
(executor.pilot's guarantee 6): a stage over its memory booking (by `--mem-overuse-factor`), the pilot over
its memory limit, a stage over its timeout is killed and the reason kept for its record.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from cwlpilot.executor import launch
from cwlpilot.executor.config import PilotConfig
from cwlpilot.executor.kinds import StageContext
from cwlpilot.executor.learning import Learned
from cwlpilot.executor.monitor import TreeSampler
from cwlpilot.executor.o2dpglogs import Observer
from cwlpilot.executor.outcome import Ended, ExitCodes
from cwlpilot.executor.plan import Stage
from cwlpilot.executor.retry import Failure
from cwlpilot.executor.store.base import Additions, Claim


class EndedStage(NamedTuple):
    claim: Claim
    ended: Ended
    log: str
    start: float  # wall clock
    added: Additions | None = None
    pid: int | None = None  # the stage's process; None when nothing was started
    learned: Learned | None = None  # the attempt's booking (or timeout) was learned, not declared
    samples: int = 0  # memory samples taken


@dataclass
class Running:
    claim: Claim
    stage: Stage
    ctx: StageContext
    proc: launch.Process
    log: str
    start: float  # wall clock, for the record
    started: float  # monotonic, for deadlines
    timeout: float | None
    sampler: TreeSampler | None = None
    peak_mem: float = 0.0
    last_mem: float = 0.0
    killed_for: Failure | None = None
    kill_at: float | None = None  # monotonic time of the SIGKILL after a SIGTERM
    codes: ExitCodes | None = None  # what the kind says exit codes mean
    last_cpu: float = 0.0  # CPU seconds and monotonic time of the previous sample (CPU use in between)
    last_at: float = 0.0
    learned: Learned | None = None
    samples: int = 0


def sample(running: Mapping[int, Running], cfg: PilotConfig, note: Callable[[str], None],
           observers: Sequence[Observer] = ()) -> None:
    """Sample every running stage's processes; kill a stage over `mem_overuse_factor` x its booking, and
    when all of them use more than the pilot's memory limit, the one furthest over its booking."""
    total = 0.0
    for r in running.values():
        if r.sampler is None:
            r.sampler = TreeSampler(r.proc.pid, cfg.mem_metric)
        got = r.sampler.sample()
        if got is None:
            continue
        r.samples += 1
        if observers:
            now = time.monotonic()
            # O2DPG's first reading of a process only primes its CPU counter: 0 %, as there
            cpu = 100.0 * (got.cpu_time - r.last_cpu) / (now - r.last_at) if r.last_at else 0.0
            r.last_cpu, r.last_at = got.cpu_time, now
            for observer in observers:
                observer.stage_sampled(r.stage, got, max(cpu, 0.0), 19 if r.claim.backfill else 0)
        r.last_mem = got.mem_mb
        r.peak_mem = max(r.peak_mem, got.mem_mb)
        total += got.mem_mb
        factor = cfg.mem_overuse_factor
        if factor and r.claim.mem > 0 and got.mem_mb > factor * r.claim.mem and r.killed_for is None:
            note(f"stage '{r.stage.name}': uses {got.mem_mb:.0f} MB, over {factor:g} x its booking of "
                 f"{r.claim.mem:.0f} MB; killing it")
            kill(r, Failure.MEMORY, cfg.kill_grace)
    if total > cfg.limits.mem:
        victims = [r for r in running.values() if r.killed_for is None]
        if victims:
            worst = max(victims, key=lambda r: (r.last_mem - r.claim.mem, r.started))
            note(f"stages use {total:.0f} MB, over the memory limit of {cfg.limits.mem:.0f} MB; killing "
                 f"'{worst.stage.name}' ({worst.last_mem:.0f} MB, booked {worst.claim.mem:.0f} MB)")
            kill(worst, Failure.MEMORY, cfg.kill_grace)


def enforce_deadlines(running: Mapping[int, Running], now: float, cfg: PilotConfig,
                      note: Callable[[str], None]) -> None:
    """SIGKILL what outlived its SIGTERM's grace; stop a stage over its timeout."""
    for r in running.values():
        if r.kill_at is not None and now >= r.kill_at:
            launch.signal_tree(r.proc, signal.SIGKILL)
            r.kill_at = None
        elif r.timeout and r.killed_for is None and now - r.started > r.timeout:
            note(f"stage '{r.stage.name}': over its timeout of {r.timeout:g} s; killing it")
            kill(r, Failure.TIMEOUT, cfg.kill_grace)


def kill(r: Running, why: Failure, grace: float) -> None:
    """Stop a stage for `why`: at once when memory is short, else SIGTERM and, `grace` s later, SIGKILL."""
    r.killed_for = why
    if why is Failure.MEMORY:
        launch.signal_tree(r.proc, signal.SIGKILL)
    else:
        launch.signal_tree(r.proc, signal.SIGTERM)
        r.kill_at = time.monotonic() + grace


def kill_times(running: Mapping[int, Running]) -> list[float]:
    """When the loop must look again: the SIGKILLs due, and the timeouts of the stages not stopped yet."""
    out = [r.kill_at for r in running.values() if r.kill_at is not None]
    out += [r.started + r.timeout for r in running.values() if r.timeout and r.killed_for is None]
    return out
