"""Reliability benchmark: sections run by name (`--section fuzz`, ...); each is a function taking the options.

kill: a kill campaign: `cwlpilot run` over a random DAG, its whole process group SIGKILLed at random moments
and resumed, --kills times, then run to the end. Each stage appends `start` and, when done, `end NAME TIME`
to a ledger. Reports stages lost, stages finished twice (a stage whose first end came within 50 ms of a
kill is inside the at-least-once window: it ended before its pilot could commit that), and how long the
stages took to die after their pilot (the guard, executor/guard.py).

    python bench/bench_reliability.py --section kill --kills 100 --stages 151

fuzz: the fuzzer of tests/fuzz (mutated conformance files, examples and plans; `check`, `compile`,
`run --dry-run` and `cwl-runner` in subprocesses, each within 10 s and 500 MB) over --cases inputs on
--workers threads. Reports inputs per second, the slowest inputs, and every failure (a traceback, an exit
code other than 0/1/2/33, a time or memory limit, files left in TMPDIR), grouped by where it came from.

    python bench/bench_reliability.py --section fuzz --cases 1000 --workers 2 --seed 1
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests/ is not installed: the fuzzer is imported from the checkout

from tests.fuzz import harness  # noqa: E402


def fuzz_section(args: argparse.Namespace) -> int:
    """Fuzz inputs per second, the slowest inputs, and the failures found (exit status 1 when any)."""
    start = time.monotonic()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="fuzz-bench-") as scratch:
        numbers = range(args.first, args.first + args.cases)
        for k, outcome in enumerate(harness.campaign(args.seed, numbers, args.workers, Path(scratch)), 1):
            outcomes.append(outcome)
            if outcome.failure and args.verbose:
                print(harness.describe(outcome), flush=True)
            if k % 100 == 0:
                print(f"  {k} inputs, {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    elapsed = time.monotonic() - start
    failures = [o for o in outcomes if o.failure]
    kinds = collections.Counter(_kind(o.failure or "") for o in failures)
    places = collections.Counter(harness.origin(o) or "-" for o in failures)
    commands = collections.Counter(o.case.command for o in outcomes)
    print(f"fuzz: {len(outcomes)} inputs (seed {args.seed}, cases {args.first}..{args.first + args.cases - 1}) "
          f"in {elapsed:.1f} s on {args.workers} workers: {len(outcomes) / elapsed:.2f} inputs/s")
    print(f"  commands: {dict(sorted(commands.items()))}")
    print(f"  failures: {len(failures)}  {dict(kinds.most_common())}")
    for place, n in places.most_common(15):
        print(f"    {n:5d}  {place}")
    print("  slowest inputs:")
    for o in sorted(outcomes, key=lambda o: -o.wall)[: args.slowest]:
        case = o.case
        print(f"    {o.wall:6.2f} s {o.max_rss_mb:5.0f} MB  case {case.number} {case.command} "
              f"{case.seed.document} ({'+'.join(case.mutations)}) exit {o.code}")
    print(f"  peak RSS: {max((o.max_rss_mb for o in outcomes), default=0):.0f} MB")
    if failures and not args.verbose:
        print("  first failures:")
        for o in failures[:10]:
            print("  " + harness.describe(o))
    return 1 if failures else 0


def _dag(n: int, seed: int, ledger: str) -> list[dict]:
    """A random DAG of short stages; each appends `start NAME` and, when done, `end NAME TIME` to a ledger."""
    rng = random.Random(seed)
    stages = []
    for i in range(n):
        needs = [f"s{j}" for j in rng.sample(range(i), min(i, rng.randint(0, 3)))]
        cmd = (f"echo start s{i} >> {ledger}; sleep {rng.uniform(0.05, 0.6):.3f}; "
               f"echo end s{i} $(date +%s.%N) >> {ledger}")
        stages.append({"name": f"s{i}", "cmd": cmd, "needs": needs, "timeframe": 1, "labels": [], "cwd": "./",
                       "resources": {"cpu": 1, "mem": 10, "relative_cpu": None}})
    return stages


def _stage_pids(token: str) -> list[int]:
    """Live processes of the run (their attempt marker starts with the run id)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["environ"]):
        env = proc.info.get("environ") or {}
        if env.get("CWLPILOT_ATTEMPT", "").startswith(token):
            found.append(proc.pid)
    return found


def _alive(pid: int) -> bool:
    """Alive and not a zombie (PID 1 here reaps orphans only every few seconds)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()[0] != b"Z"
    except OSError:
        return False


def _campaign(kills: int, n: int, scratch: Path, seed: int = 1) -> dict[str, float]:
    """SIGKILL the whole process group of `cwlpilot run` at random moments over a DAG, resuming each time,
    until `kills` kills were made; then run to the end. Reports stages finished twice (and whether each was
    inside the at-least-once window), stages lost, and how fast the stages died with their pilot."""
    rng = random.Random(seed)
    work = scratch / "kill"
    work.mkdir()
    ledger = work / "ledger"
    plan = scratch / "kill.json"
    plan.write_text(json.dumps({"stages": _dag(n, seed, str(ledger))}))
    argv = [sys.executable, "-m", "cwlpilot", "run", str(plan), "--workdir", str(work), "-j", "8",
            "--cpu-limit", "8", "--progress", "quiet"]
    kill_times, deaths, made = [], [], 0
    while made < kills:
        proc = subprocess.Popen(argv, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(rng.uniform(0.2, 1.5))
        if proc.poll() is not None:  # the run ended before the kill: start it over from scratch
            shutil.rmtree(work)
            work.mkdir()
            continue
        run_id = _run_id(work)
        pids = _stage_pids(run_id + "/") if run_id else []
        kill_times.append(time.time())
        os.killpg(proc.pid, signal.SIGKILL)
        t0 = time.monotonic()
        proc.wait()
        made += 1
        while any(_alive(p) for p in pids) and time.monotonic() - t0 < 5:
            time.sleep(0.001)
        if pids:
            deaths.append(time.monotonic() - t0)
    final = subprocess.run(argv, cwd=ROOT, env=ENV, capture_output=True, text=True)
    ends: dict[str, list[float]] = {}
    for line in ledger.read_text().splitlines():
        if line.startswith("end "):
            _, name, when = line.split()
            ends.setdefault(name, []).append(float(when))
    twice, outside, gaps = 0, 0, []
    for times in ends.values():
        if len(times) > 1:
            twice += 1
            gap = min((k - times[0] for k in kill_times), key=abs)
            gaps.append(gap)
            outside += not (-0.05 <= gap <= 0.05)
    return {"kills": made, "stages": n, "final_exit": final.returncode, "lost": n - len(ends),
            "finished_twice": twice, "twice_outside_window": outside,
            "window_max_ms": 1000 * max((abs(g) for g in gaps), default=0.0),
            "stages_gone_median_ms": 1000 * statistics.median(deaths) if deaths else float("nan"),
            "stages_gone_max_ms": 1000 * max(deaths) if deaths else float("nan")}


def _run_id(work: Path) -> str | None:
    import sqlite3

    try:
        db = sqlite3.connect(work / "cwlpilot.db")
        row = db.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()
        db.close()
        return row[0] if row else None
    except sqlite3.Error:
        return None


ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def kill_section(args: argparse.Namespace) -> int:
    """Kills, stages lost, stages finished twice (and outside the window), how fast stages die."""
    base = "/dev/shm" if Path("/dev/shm").is_dir() else None
    scratch = Path(tempfile.mkdtemp(prefix="kill-bench-", dir=base))
    try:
        t0 = time.monotonic()
        r = _campaign(args.kills, args.stages, scratch, args.seed)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"kill: {r['kills']} SIGKILLs of the process group over a {r['stages']}-stage DAG in "
          f"{time.monotonic() - t0:.0f} s; final run exit {r['final_exit']}")
    print(f"  stages lost: {r['lost']}; finished twice: {r['finished_twice']} "
          f"({r['twice_outside_window']} outside the 50 ms window; largest gap to a kill "
          f"{r['window_max_ms']:.1f} ms)")
    print(f"  stages gone after their pilot: median {r['stages_gone_median_ms']:.1f} ms, "
          f"max {r['stages_gone_max_ms']:.1f} ms")
    return 1 if r["lost"] or r["twice_outside_window"] or r["final_exit"] else 0


def _kind(failure: str) -> str:
    for word in ("traceback", "time limit", "memory", "exit code", "TMPDIR"):
        if word in failure:
            return word
    return failure


SECTIONS: dict[str, Callable[[argparse.Namespace], int]] = {"fuzz": fuzz_section, "kill": kill_section}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--section", action="append", choices=sorted(SECTIONS), help="run this section (repeatable; "
                   "default: all)")
    kill = p.add_argument_group("kill")
    kill.add_argument("--kills", type=int, default=100, help="SIGKILLs to make (default 100)")
    kill.add_argument("--stages", type=int, default=151, help="stages of the DAG (default 151)")
    fuzz = p.add_argument_group("fuzz")
    fuzz.add_argument("--cases", type=int, default=1000, help="inputs to try (default 1000)")
    fuzz.add_argument("--first", type=int, default=0, help="number of the first case (default 0)")
    fuzz.add_argument("--seed", type=int, default=1, help="campaign seed (default 1)")
    fuzz.add_argument("--workers", type=int, default=2, help="parallel subprocesses (default 2)")
    fuzz.add_argument("--slowest", type=int, default=5, help="how many of the slowest inputs to list")
    fuzz.add_argument("-v", "--verbose", action="store_true", help="print each failure as it is found")
    args = p.parse_args()
    return max(SECTIONS[name](args) for name in args.section or sorted(SECTIONS))


if __name__ == "__main__":
    sys.exit(main())
