"""Resource booking as pure functions: what a stage books, which ready stages start now, what can never fit.

`select` has one signature whatever the policy (Snakemake's habit): given ready requests in rank order,
what is in use and the limits, it returns the subset to start. The loop that launches lives in the pilot.

Bounds (documented guarantees):
- Normal starts never take booked CPU over `cpu`, booked memory over `mem`, or running stages over
  `max_jobs`; two stages with the same semaphore never run together.
- Backfill (O2DPG's idea): when no ready stage fits and something is running, up to `n_backfill` stages
  may start beyond the CPU budget, at the lowest priority (nice 19), while booked CPU stays within
  `backfill_factor` x `cpu`. Backfill never overbooks memory and never exceeds `max_jobs`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

EPS = 1e-9


@dataclass(frozen=True)
class Limits:
    cpu: float  # cores
    mem: float  # MB
    max_jobs: int = 100
    n_backfill: int = 1
    backfill_factor: float = 1.5
    optimistic: bool = False  # clamp bookings that exceed a limit instead of refusing them
    clamp_memory: bool = False  # clamp memory bookings to the limit (O2DPG files, as O2DPG's runner does)


class Request(NamedTuple):
    """A ready stage asking to start, with its booking already computed by `booking`."""

    id: int
    cpu: float
    mem: float
    semaphore: str | None = None


class Usage(NamedTuple):
    cpu: float = 0.0
    mem: float = 0.0
    jobs: int = 0
    backfill_jobs: int = 0
    semaphores: frozenset[str] = frozenset()


class Choice(NamedTuple):
    request: Request
    backfill: bool = False


def booking(cpu: float, mem: float, limits: Limits, mem_factor: float = 1.0) -> tuple[float, float]:
    """(cores, MB) a stage books: its `cpu` and `mem`, as O2DPG's runner books them (its generator has
    already scaled `cpu` by `relative_cpu`, which only rescales learned estimates). -1 means unknown: 1 core,
    no memory (the total memory guard still watches it). `mem_factor` comes from retry rules.

    Clamped to the limits with --optimistic-resources; memory alone is clamped for O2DPG files
    (`clamp_memory`), as O2DPG's `TaskResources.limit_resources` does without asking."""
    cores = 1.0 if cpu < 0 else cpu
    mb = 0.0 if mem < 0 else mem * mem_factor
    if limits.optimistic:
        cores, mb = min(cores, limits.cpu), min(mb, limits.mem)
    elif limits.clamp_memory:
        mb = min(mb, limits.mem)
    return cores, mb


def never_fit(requests: Iterable[tuple[str, float, float]], limits: Limits) -> list[str]:
    """A message for each (name, cores, MB) booking larger than the limits, naming both numbers."""
    out = []
    for name, cpu, mem in requests:
        if cpu > limits.cpu + EPS:
            out.append(f"stage '{name}': books {cpu:g} CPU cores but the CPU limit is {limits.cpu:g} "
                       "(raise --cpu-limit, or use --optimistic-resources to clamp the booking)")
        if mem > limits.mem + EPS:
            out.append(f"stage '{name}': books {mem:.10g} MB but the memory limit is {limits.mem:.10g} MB "
                       "(raise --mem-limit, or use --optimistic-resources to clamp the booking)")
    return out


def select(ready: Sequence[Request], usage: Usage, limits: Limits) -> list[Choice]:
    """The ready requests (in rank order) to start now. Pure; see the module docstring for the bounds."""
    cpu, mem, jobs = usage.cpu, usage.mem, usage.jobs
    held = set(usage.semaphores)
    chosen: list[Choice] = []
    for req in ready:
        if jobs >= limits.max_jobs:
            break
        if req.semaphore is not None and req.semaphore in held:
            continue
        if cpu + req.cpu <= limits.cpu + EPS and mem + req.mem <= limits.mem + EPS:
            chosen.append(Choice(req))
            cpu, mem, jobs = cpu + req.cpu, mem + req.mem, jobs + 1
            if req.semaphore is not None:
                held.add(req.semaphore)
    if chosen or usage.jobs == 0:
        return chosen
    return _backfill(ready, usage, limits, held)


def _backfill(ready: Sequence[Request], usage: Usage, limits: Limits, held: set[str]) -> list[Choice]:
    cpu, mem, jobs, extra = usage.cpu, usage.mem, usage.jobs, usage.backfill_jobs
    chosen = []
    for req in ready:
        if extra >= limits.n_backfill or jobs >= limits.max_jobs:
            break
        if req.semaphore is not None and req.semaphore in held:
            continue
        if cpu + req.cpu <= limits.cpu * limits.backfill_factor + EPS and mem + req.mem <= limits.mem + EPS:
            chosen.append(Choice(req, backfill=True))
            cpu, mem, jobs, extra = cpu + req.cpu, mem + req.mem, jobs + 1, extra + 1
            if req.semaphore is not None:
                held.add(req.semaphore)
    return chosen
