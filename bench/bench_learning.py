"""Learned bookings, as ratios measured in the same run: static booking vs --dynamic-resources vs --scouts.

1. Over-booked: N timeframe siblings that each declare 4,000 MB but use about 50 MB, under a memory limit
   the declared bookings saturate (two at a time). Reported: the makespan of each policy, its speed-up over
   static booking, and the most memory the stages really held at once (the sum of the measured peaks of
   the stages running together) against the limit.
2. Right-booked: the same siblings declaring what they use; learning must not make it slower.

    python bench/bench_learning.py               # N = 16, 3 rounds, medians
    python bench/bench_learning.py --n 32 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
USE = ("python3 -c 'import time; b = bytearray({mb} * 2**20); b[::4096] = b\"x\" * len(b[::4096]); "
       "time.sleep({s})'")
MEM_LIMIT = 8000.0
POLICIES = {"static": [], "dynamic": ["--dynamic-resources"], "scouts": ["--scouts", "2"]}


def plan(n: int, declared: float, path: Path, mb: int = 50, seconds: float = 1.0) -> None:
    stages = [{"name": f"sim_{i}", "cmd": USE.format(mb=mb, s=seconds), "needs": [], "timeframe": i,
               "labels": [], "cwd": f"tf{i}", "resources": {"cpu": 1, "mem": declared, "relative_cpu": None}}
              for i in range(1, n + 1)]
    path.write_text(json.dumps({"stages": stages}))


def run(plan_path: Path, work: Path, extra: list[str]) -> tuple[float, float]:
    """(makespan s, most memory held at once MB) of one run."""
    argv = [sys.executable, "-m", "cwlpilot", "run", str(plan_path), "--workdir", str(work), "--cpu-limit", "32",
            "--mem-limit", str(MEM_LIMIT), "--sample-interval", "0.1", "--progress", "quiet", *extra]
    proc = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed:\n{proc.stdout}{proc.stderr}")
    events = [e for e in json.loads((work / "timeline.json").read_text())["traceEvents"] if e["ph"] == "X"]
    makespan = (max(e["ts"] + e["dur"] for e in events) - min(e["ts"] for e in events)) / 1e6
    points = sorted([(e["ts"], e["args"]["peak_mem_mb"] or 0.0) for e in events]
                    + [(e["ts"] + e["dur"], -(e["args"]["peak_mem_mb"] or 0.0)) for e in events])
    held = most = 0.0
    for _, delta in points:
        held += delta
        most = max(most, held)
    return makespan, most


def case(n: int, declared: float, rounds: int, scratch: Path) -> dict[str, tuple[float, float]]:
    path = scratch / f"plan-{declared:g}.json"
    plan(n, declared, path)
    results: dict[str, list[tuple[float, float]]] = {name: [] for name in POLICIES}
    for r in range(rounds):
        for name, extra in POLICIES.items():  # alternate, so that the machine's noise falls on all alike
            work = scratch / f"w-{declared:g}-{name}-{r}"
            results[name].append(run(path, work, extra))
            shutil.rmtree(work, ignore_errors=True)
    return {name: (statistics.median(m for m, _ in rows), max(h for _, h in rows)) for name, rows in results.items()}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    scratch = Path(tempfile.mkdtemp(prefix="cwlpilot-bench-learning-", dir=base))
    t0 = time.time()
    try:
        for label, declared in (("over-booked (declared 4000 MB, using ~50)", 4000.0),
                                ("right-booked (declared 60 MB)", 60.0)):
            res = case(a.n, declared, a.rounds, scratch)
            static = res["static"][0]
            print(f"{label}, {a.n} siblings, memory limit {MEM_LIMIT:.0f} MB, {a.rounds} rounds:")
            for name, (makespan, held) in res.items():
                print(f"  {name:8} makespan {makespan:6.2f} s  speed-up {static / makespan:5.2f}x  "
                      f"most memory held {held:7.0f} MB ({held / MEM_LIMIT:.1%} of the limit)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"({time.time() - t0:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
