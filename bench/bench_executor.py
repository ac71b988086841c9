"""Executor benchmarks, reported as ratios against baselines measured in the same run.

1. Overhead: N stages running `true` with `cwlpilot run -j 2`, against the machine's fork/exec floor: a loop
   that spawns the same number of `sh -c true`, two at a time. Runs alternate (floor, cwlpilot, floor, ...)
   and the medians are compared, because the machine is shared and noisy. Includes cwlpilot's start-up.
2. Packing: stages with CPU and memory demands that cannot all run at once (sleeps, so the CPU limit can be
   larger than the machine); makespan against its lower bound max(total cpu*time / cores, critical path).
   The main case is O2DPG-shaped (every timeframe repeats a gen/sim/digi/reco/aod chain with fixed demands,
   then a merge), at 4 to 16 timeframes; a random DAG shows a harder case. The executor is not told the
   durations: its order comes from the graph alone.
3. Real shape: a workflow written by O2DPG's own generator (tests/data/o2dpg/workflow_pp_3tf.json), every
   command a sleep of its step's order, against its lower bound and, with O2DPG_ROOT set to an O2DPG
   checkout, against O2DPG's own runner on the same file in the same run.

    python bench/bench_executor.py                 # N = 1000 and 10000, 3 rounds, packing case
    python bench/bench_executor.py --n 1000 --rounds 5 --disk   # workdir on disk instead of tmpfs

The workdir lives on a tmpfs (/dev/shm) by default: creating 10,000 log files on this machine's shared disk
costs 0.03-1 ms each depending on what its neighbours do, which would measure the disk, not the executor;
`--disk` shows that cost too.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLOOR = """
import os, sys
n, running, started = int(sys.argv[1]), 0, 0
while started < n or running:
    while running < 2 and started < n:
        os.posix_spawn('/bin/sh', ['sh', '-c', 'true'], os.environ)
        running, started = running + 1, started + 1
    os.wait()
    running -= 1
"""


# cwlpilot runs as an installed package does: with its bytecode cached (pip writes it when installing;
# PYTHONDONTWRITEBYTECODE, set on some machines, would make every run recompile it from source).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(argv: list[str], cwd: Path | None = None) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MB of the process, exit code)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed: {proc.stderr.read().decode() if proc.stderr else ''}")
    return wall, usage.ru_maxrss / 1024, proc.returncode


def true_plan(n: int, path: Path) -> None:
    stages = [{"name": f"t{i}", "cmd": "true", "needs": [], "timeframe": 1, "labels": [], "cwd": "./",
               "resources": {"cpu": 1, "mem": 10, "relative_cpu": None}} for i in range(n)]
    path.write_text(json.dumps({"stages": stages}))


def overhead(n: int, rounds: int, scratch: Path) -> dict[str, float]:
    plan = scratch / f"true-{n}.json"
    true_plan(n, plan)
    floors, runs, rss = [], [], []
    for r in range(rounds):
        floors.append(timed([sys.executable, "-c", FLOOR, str(n)])[0])
        work = scratch / f"w{n}-{r}"
        wall, peak, _ = timed([sys.executable, "-m", "cwlpilot", "run", str(plan), "--workdir", str(work),
                               "-j", "2", "--cpu-limit", "2", "--progress", "quiet"], cwd=ROOT)
        runs.append(wall)
        rss.append(peak)
        shutil.rmtree(work, ignore_errors=True)
    floor, ours = statistics.median(floors), statistics.median(runs)
    return {"n": n, "floor_s": floor, "cwlpilot_s": ours, "ratio": ours / floor, "peak_rss_mb": max(rss)}


# O2DPG-shaped step types: (name, needs, cores, MB, seconds). Every timeframe repeats the chain, as in
# O2DPG's simulation workflows; a merge of all AODs closes the plan.
O2DPG_STEPS = [("gen", [], 1, 500, 0.3), ("sim", ["gen"], 4, 2000, 1.0), ("tpcdigi", ["sim"], 2, 1500, 0.5),
               ("itsdigi", ["sim"], 1, 800, 0.3), ("tpcreco", ["tpcdigi"], 2, 2500, 0.6),
               ("itsreco", ["itsdigi"], 1, 800, 0.3), ("aod", ["tpcreco", "itsreco"], 1, 1000, 0.2)]


def o2dpg_packing(timeframes: int) -> tuple[list[dict], dict[str, float]]:
    stages, seconds = [], {}
    for tf in range(1, timeframes + 1):
        for name, needs, cpu, mem, dur in O2DPG_STEPS:
            stages.append(_sleep_stage(f"{name}_{tf}", dur, [f"{n}_{tf}" for n in needs], tf, cpu, mem))
            seconds[f"{name}_{tf}"] = dur
    stages.append(_sleep_stage("aodmerge", 0.3, [f"aod_{tf}" for tf in range(1, timeframes + 1)], -1, 1, 1000))
    seconds["aodmerge"] = 0.3
    return stages, seconds


def random_packing(seed: int = 7) -> tuple[list[dict], dict[str, float]]:
    """Four timeframes of a 5-step chain with random demands, plus independent side stages."""
    rng = random.Random(seed)
    stages, seconds = [], {}
    for tf in range(1, 5):
        prev = None
        for step in range(5):
            name, dur = f"tf{tf}_step{step}", rng.choice([0.4, 0.6, 0.8, 1.0])
            stages.append(_sleep_stage(name, dur, [prev] if prev else [], tf, rng.choice([1, 2, 4]),
                                       rng.choice([1000, 2000, 4000])))
            prev, seconds[name] = name, dur
        for side in range(6):
            name, dur = f"tf{tf}_side{side}", rng.choice([0.2, 0.4, 0.6])
            stages.append(_sleep_stage(name, dur, [], tf, rng.choice([1, 2]), 1000))
            seconds[name] = dur
    return stages, seconds


def _sleep_stage(name: str, seconds: float, needs: list[str], tf: int, cpu: float, mem: float) -> dict:
    return {"name": name, "cmd": f"sleep {seconds}", "needs": needs, "timeframe": tf, "labels": [],
            "cwd": f"tf{tf}", "resources": {"cpu": cpu, "mem": mem, "relative_cpu": None}}


def lower_bound(stages: list[dict], seconds: dict[str, float], cores: float) -> float:
    """max(total cpu x time / cores, the longest chain of durations)."""
    work = sum(s["resources"]["cpu"] * seconds[s["name"]] for s in stages)
    longest: dict[str, float] = {}
    for s in stages:  # plan order is a topological order here
        longest[s["name"]] = seconds[s["name"]] + max((longest[n] for n in s["needs"]), default=0.0)
    return max(work / cores, max(longest.values()))


def packing(scratch: Path, label: str, stages: list[dict], seconds: dict[str, float]) -> dict[str, float]:
    cores, mem = 8.0, 16000.0
    plan = scratch / f"packing-{label}.json"
    plan.write_text(json.dumps({"stages": stages}))
    work = scratch / f"wpack-{label}"
    timed([sys.executable, "-m", "cwlpilot", "run", str(plan), "--workdir", str(work), "--cpu-limit", str(cores),
           "--mem-limit", str(mem), "--n-backfill", "0", "--progress", "quiet"], cwd=ROOT)
    events = [e for e in json.loads((work / "timeline.json").read_text())["traceEvents"] if e["ph"] == "X"]
    makespan = (max(e["ts"] + e["dur"] for e in events) - min(e["ts"] for e in events)) / 1e6
    bound = lower_bound(stages, seconds, cores)
    return {"lower_bound_s": bound, "makespan_s": makespan, "ratio": makespan / bound}


# Seconds each step of O2DPG's pp simulation takes, of the same order as in a real run (simulation first,
# then TPC/TRD digitization and TPC reconstruction), scaled down ~50x so that a bench run takes a minute.
REAL_SECONDS = {"sgnsim": 6.0, "sgngen": 1.0, "tpcdigi": 2.0, "trddigi": 1.5, "tpcreco": 2.0, "pvfinder": 1.5,
                "tpcclusterpart0": 1.0, "tpcclusterpart1": 1.0, "itsreco": 1.0, "itstpcMatch": 1.0,
                "svfinder": 1.0, "aod": 1.0, "tpcclustermerge": 0.5, "ft0fv0emcctp_digi": 0.5, "restdigi": 0.5,
                "trdreco": 0.5, "trdreco2": 0.5, "tofmatch": 0.5, "toftpcmatch": 0.5, "tpctimeseries": 0.5,
                "aodmerge": 0.5, "linkGRP": 0.1, "gensgnconf": 0.1}


def o2dpg_real(path: Path) -> tuple[dict, dict[str, float]]:
    """A workflow written by O2DPG's generator with each command replaced by a sleep of its step's order."""
    doc = json.loads(path.read_text())
    seconds = {}
    for s in doc["stages"]:
        if s["name"] == "__global_init_task__":
            s["cmd"] = "NO-COMMAND"
            continue
        step = s["name"].rsplit("_", 1)[0] if s["timeframe"] >= 1 else s["name"]
        seconds[s["name"]] = REAL_SECONDS.get(step, 0.2 if s["timeframe"] < 1 else 0.3)
        s["cmd"] = f"sleep {seconds[s['name']]}"
    return doc, seconds


def real_shape(scratch: Path, path: Path, o2dpg_root: str | None) -> dict[str, float]:
    """Makespan of the generated workflow against its lower bound, and against O2DPG's own runner."""
    doc, seconds = o2dpg_real(path)
    plan = scratch / "o2dpg-real.json"
    plan.write_text(json.dumps(doc))
    stages = [s for s in doc["stages"] if s["name"] != "__global_init_task__"]
    for s in stages:
        s["resources"]["cpu"] = float(s["resources"]["cpu"])  # the bound's arithmetic; the plan keeps strings
    cores, mem = 8.0, 64000.0
    work = scratch / "wreal"
    wall = timed([sys.executable, "-m", "cwlpilot", "run", str(plan), "--workdir", str(work), "--cpu-limit",
                  str(cores), "--mem-limit", str(mem), "--progress", "quiet"], cwd=ROOT)[0]
    events = [e for e in json.loads((work / "timeline.json").read_text())["traceEvents"] if e["ph"] == "X"]
    makespan = (max(e["ts"] + e["dur"] for e in events) - min(e["ts"] for e in events)) / 1e6
    out = {"stages": len(stages), "lower_bound_s": lower_bound(stages, seconds, cores), "makespan_s": makespan,
           "wall_s": wall}
    runner = Path(o2dpg_root or "") / "MC" / "bin" / "o2dpg_workflow_runner_legacy.py"
    if o2dpg_root and runner.is_file():
        ref = scratch / "wo2dpg"
        ref.mkdir()
        out["o2dpg_wall_s"] = timed([sys.executable, str(runner), "-f", str(plan), "--cpu-limit", str(cores),
                                     "--mem-limit", str(mem)], cwd=ref)[0]
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--disk", action="store_true", help="put the workdirs on disk, not on a tmpfs")
    p.add_argument("--no-packing", action="store_true")
    p.add_argument("--o2dpg-file", type=Path, default=ROOT / "tests" / "data" / "o2dpg" / "workflow_pp_3tf.json",
                   help="a workflow written by O2DPG's generator (default: pp, 3 timeframes)")
    p.add_argument("--o2dpg-root", default=os.environ.get("O2DPG_ROOT"),
                   help="an O2DPG checkout: its runner runs the same workflow, in the same run (default $O2DPG_ROOT)")
    a = p.parse_args()
    base = None if a.disk or not Path("/dev/shm").is_dir() else "/dev/shm"
    scratch = Path(tempfile.mkdtemp(prefix="cwlpilot-bench-", dir=base))
    try:
        print(f"workdirs under {scratch} ({'disk' if base is None else 'tmpfs'}); {a.rounds} rounds, medians")
        for n in a.n:
            r = overhead(n, a.rounds, scratch)
            print(f"overhead N={n:>6}: floor {r['floor_s']:.2f} s, cwlpilot {r['cwlpilot_s']:.2f} s, "
                  f"ratio {r['ratio']:.2f}x (target <= 1.5x at 10,000), peak RSS {r['peak_rss_mb']:.0f} MB")
        if not a.no_packing:
            cases = [(f"O2DPG-shaped, {n} timeframes", o2dpg_packing(n)) for n in (4, 8, 12, 16)]
            cases.append(("random chains + side stages", random_packing()))
            for label, (stages, seconds) in cases:
                r = packing(scratch, label.split(",")[0].split()[0] + str(len(stages)), stages, seconds)
                print(f"packing, {label} ({len(stages)} stages, 8 cores): makespan {r['makespan_s']:.2f} s, "
                      f"lower bound {r['lower_bound_s']:.2f} s, ratio {r['ratio']:.3f}")
            r = real_shape(scratch, a.o2dpg_file, a.o2dpg_root)
            ref = (f"; O2DPG's runner {r['o2dpg_wall_s']:.2f} s ({r['o2dpg_wall_s'] / r['wall_s']:.2f}x cwlpilot's)"
                   if "o2dpg_wall_s" in r else " (set O2DPG_ROOT to compare with O2DPG's runner)")
            print(f"real O2DPG shape, {a.o2dpg_file.name} ({r['stages']} stages, 8 cores): makespan "
                  f"{r['makespan_s']:.2f} s, lower bound {r['lower_bound_s']:.2f} s, ratio "
                  f"{r['makespan_s'] / r['lower_bound_s']:.3f}; cwlpilot wall {r['wall_s']:.2f} s{ref}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
