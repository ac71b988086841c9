"""Sampling what running stages use, with psutil: CPU time and memory of each stage's whole process tree.

Memory is PSS where the kernel provides it cheaply (/proc/PID/smaps_rollup, read by psutil), so memory
shared between the processes of a tree is counted once; RSS otherwise, or when asked.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class Sample:
    mem_mb: float  # PSS (or RSS) of the tree, MB
    cpu_time: float  # user + system seconds of the live processes of the tree
    processes: int
    uss_mb: float = 0.0  # memory only the tree's processes use, MB (with PSS; 0 when only RSS is read)
    swap_mb: float = 0.0


class TreeSampler:
    """Samples one stage's process tree. Keeps psutil.Process objects so CPU times stay consistent."""

    def __init__(self, pid: int, metric: str = "pss") -> None:
        self.metric = metric
        self._procs: dict[int, psutil.Process] = {}
        try:
            self._root: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self._root = None

    def sample(self) -> Sample | None:
        if self._root is None:
            return None
        try:
            tree = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            return None
        mem = cpu = uss = swap = 0.0
        alive = {}
        for proc in tree:
            proc = self._procs.get(proc.pid, proc)
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    m, u, w = self._memory(proc)
            except psutil.Error:
                continue
            mem, uss, swap = mem + m, uss + u, swap + w
            cpu += times.user + times.system
            alive[proc.pid] = proc
        self._procs = alive
        return Sample(mem_mb=mem / 2**20, cpu_time=cpu, processes=len(alive), uss_mb=uss / 2**20,
                      swap_mb=swap / 2**20)

    def _memory(self, proc: psutil.Process) -> tuple[float, float, float]:
        """(PSS or RSS, USS, swap) in bytes."""
        if self.metric == "pss":
            try:
                info = proc.memory_full_info()
                return float(info.pss), float(info.uss), float(getattr(info, "swap", 0.0))
            except (psutil.AccessDenied, AttributeError):
                self.metric = "rss"  # e.g. a setuid child: fall back for this stage
        return float(proc.memory_info().rss), 0.0, 0.0


def total_memory_mb() -> float:
    return psutil.virtual_memory().total / 2**20


def cpu_count() -> int:
    return psutil.cpu_count() or 1


def process_identity(pid: int) -> float | None:
    """The start time of a live, non-zombie process (to tell it from a later process with the same pid)."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None
        return float(proc.create_time())
    except psutil.Error:
        return None


def kill_marked(marker: str, values: Collection[str] = (), prefix: str | None = None) -> set[int]:
    """SIGKILL the process groups of live processes whose environment has `marker` set to one of `values`
    (or to anything starting with `prefix`).

    Used on resume: stages left running by a pilot that died carry the attempt id in their environment, so
    they are found and stopped before the attempt runs again (never twice at once); a new invocation of a
    run also ends what any earlier one left (`prefix`: the run's id).
    """
    import os
    import signal

    killed: set[int] = set()  # process groups: one per stage attempt
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
        except psutil.Error:
            continue
        value = env.get(marker)
        if value is not None and (value in values or (prefix is not None and value.startswith(prefix))):
            try:
                group = os.getpgid(proc.pid)
                if group != os.getpgrp() and group not in killed:  # never our own group
                    os.killpg(group, signal.SIGKILL)
                    killed.add(group)
            except (ProcessLookupError, PermissionError):
                continue
    return killed
