"""Bookings learned while a run goes on: O2DPG's --dynamic-resources and --update-resources, and scouts.

A family is a set of like stages, known by their names: O2DPG's timeframe siblings (`tpcreco_1`,
`tpcreco_2`: O2DPG `get_global_task_name` drops a last `_` token that int() reads), the instances of a CWL
scatter (`align[0]`, `align[1]`) and the jobs of a PanDA split (`sim.job0`, `sim.job1`).

- `dynamic` (O2DPG `TaskResources.sample_resources`, legacy runner @ca79d62d): when a stage of a family ends,
  the family's stages not yet started are booked with the mean CPU measured over its ended members times
  their own `relative_cpu` (1 when unset), and the largest PSS measured; a member measured in fewer than
  three samples counts with its declared booking, as there.
- `scouts` (beyond O2DPG, in the manner of PanDA's JEDI scouts): once `scouts` members of a family have
  ended, the rest are booked from them: memory max(75th percentile x (1 + margin), largest peak), so never
  below what a scout used; CPU the 75th percentile of their mean use; and, when the plan sets no timeout,
  a timeout of TIMEOUT_FACTOR x their longest duration, at least MIN_TIMEOUT seconds.
A learned booking only ever replaces the declared one for a stage that has not started; a stage killed for
memory or time under a learned booking is retried at its declared booking, not charged an attempt (the
pilot), so learning can make a run faster, never make it fail.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

PERCENTILE = 75.0
MARGIN = 0.2
TIMEOUT_FACTOR = 5.0
MIN_TIMEOUT = 60.0
MIN_SAMPLES = 3  # O2DPG: fewer samples and a member counts with its declared booking

_SCATTER = re.compile(r"\[[0-9,]+\]")
_JOB = re.compile(r"\.job[0-9]+(?=$|\.)")


def family(name: str) -> str | None:
    """The family a stage belongs to, from its name; None when it has none."""
    key = _SCATTER.sub("[]", name)
    key = _JOB.sub(".job", key)
    head, sep, tail = key.rpartition("_")
    if sep and tail.isdigit() and head:
        key = head
    return key if key != name else None


def o2dpg_name(name: str, timeframe: int) -> str:
    """The key O2DPG's `update_resource_estimates` looks a stage up by: the name without its last `_` part
    for timeframe stages, the name itself otherwise."""
    return "_".join(name.split("_")[:-1]) if timeframe >= 1 and "_" in name else name


class Measured(NamedTuple):
    """What one ended attempt used."""

    peak_mem: float | None  # MB, the largest sample; None when never sampled
    cpu: float | None  # mean cores over its life (CPU time / wall time)
    seconds: float
    samples: int


class Learned(NamedTuple):
    cpu: float
    mem: float
    timeout: float | None = None  # None: the plan's


@dataclass
class _Family:
    ended: list[tuple[Measured, float, float]] = field(default_factory=list)  # measured, declared cpu, mem


def percentile(values: Iterable[float], q: float) -> float:
    """The q-th percentile, linearly interpolated (numpy's default)."""
    data = sorted(values)
    if not data:
        raise ValueError("no values")
    k = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


class Learner:
    """Per-family measurements and the bookings they give. Pure: the pilot feeds it and asks it."""

    def __init__(self, dynamic: bool = False, scouts: int = 0, margin: float = MARGIN) -> None:
        self.dynamic, self.scouts, self.margin = dynamic, scouts, margin
        self.families: dict[str, _Family] = {}

    @property
    def active(self) -> bool:
        return self.dynamic or self.scouts > 0

    def record(self, name: str, measured: Measured, declared_cpu: float, declared_mem: float) -> None:
        key = family(name)
        if key is not None and self.active:
            self.families.setdefault(key, _Family()).ended.append((measured, declared_cpu, declared_mem))

    def booking(self, name: str, relative_cpu: float | None, has_timeout: bool) -> Learned | None:
        """The learned booking of a stage not yet started, or None to book what it declares."""
        key = family(name)
        fam = self.families.get(key) if key is not None else None
        if fam is None or not fam.ended:
            return None
        if self.scouts and len(fam.ended) >= self.scouts:
            return self._from_scouts(fam.ended[: self.scouts], has_timeout)
        if self.dynamic:
            return self._o2dpg(fam.ended, relative_cpu)
        return None

    @staticmethod
    def _o2dpg(ended: list[tuple[Measured, float, float]], relative_cpu: float | None) -> Learned:
        cpus, mems = [], []
        for m, cpu, mem in ended:
            enough = m.samples >= MIN_SAMPLES and m.cpu is not None and m.peak_mem is not None
            cpus.append(m.cpu if enough and m.cpu is not None else cpu)
            mems.append(m.peak_mem if enough and m.peak_mem is not None else mem)
        cpu = sum(cpus) / len(cpus)
        mem = max(mems)
        declared_cpu, declared_mem = ended[-1][1], ended[-1][2]
        cpu = declared_cpu if cpu < 0 else cpu  # O2DPG keeps a measured 0 (a stage that only waited)
        mem = declared_mem if mem <= 0 else mem
        return Learned(cpu * (1.0 if relative_cpu is None else relative_cpu), mem)

    def _from_scouts(self, scouts: list[tuple[Measured, float, float]], has_timeout: bool) -> Learned | None:
        peaks = [m.peak_mem for m, _, _ in scouts if m.peak_mem is not None]
        cores = [m.cpu for m, _, _ in scouts if m.cpu is not None]
        if not peaks or not cores:  # scouts too short to be measured: nothing learned
            return None
        mem = max(percentile(peaks, PERCENTILE) * (1.0 + self.margin), max(peaks))
        cpu = percentile(cores, PERCENTILE)
        timeout = None
        if not has_timeout:
            timeout = max(TIMEOUT_FACTOR * max(m.seconds for m, _, _ in scouts), MIN_TIMEOUT)
        return Learned(cpu, mem, timeout)


def read_estimates(path: str, doc_text: str) -> dict[str, tuple[float | None, float | None]]:
    """A metrics file of O2DPG's `o2dpg_sim_metrics.py json-stat`: {name: (pss max MB, cpu mean cores)}."""
    doc = json.loads(doc_text)
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    out: dict[str, tuple[float | None, float | None]] = {}
    for key, value in doc.items():
        if not isinstance(value, dict) or key == "meta-data":
            continue  # "count", "meta-data"
        pss = (value.get("pss") or {}).get("max")
        cpu = (value.get("cpu") or {}).get("mean")
        out[key] = (None if pss is None else float(pss), None if cpu is None else float(cpu))
    return out


def updated(estimate: tuple[float | None, float | None], cpu: float, mem: float,
            relative_cpu: float | None) -> tuple[float, float]:
    """O2DPG's `update_resource_estimates`: memory from pss.max, CPU from cpu.mean x relative_cpu."""
    pss, mean_cpu = estimate
    new_mem = mem if pss is None else pss
    new_cpu = cpu if mean_cpu is None else mean_cpu * (1.0 if relative_cpu is None else relative_cpu)
    return new_cpu, new_mem


def _stats(values: list[float]) -> dict[str, float]:
    n = len(values)
    mean = sum(values) / n
    m2 = sum((v - mean) ** 2 for v in values)
    return {"min": min(values), "max": max(values), "mean": mean, "std": math.sqrt(m2 / n), "M2": m2, "count": n}


def json_stat(measured: Mapping[str, list[Measured]], meta: Mapping[str, Any]) -> dict[str, Any]:
    """What a run measured, by family (O2DPG's key: the name without a last `_<int>`), in the format of
    O2DPG's `o2dpg_sim_metrics.py json-stat`, which --update-resources reads."""
    out: dict[str, Any] = {}
    for key, items in sorted(measured.items()):
        entry: dict[str, Any] = {}
        peaks = [m.peak_mem for m in items if m.peak_mem is not None]
        cores = [m.cpu for m in items if m.cpu is not None]
        if peaks:
            entry["pss"] = _stats(peaks)
        if cores:
            entry["cpu"] = _stats(cores)
        entry["lifetime"] = _stats([m.seconds for m in items])
        out[key] = entry
    out["count"] = 1
    out["meta-data"] = dict(meta)
    return out
