"""Reliability benchmark: sections run by name (`--section fuzz`, ...); each is a function taking the options.

fuzz: the fuzzer of tests/fuzz (mutated conformance files, examples and plans; `check`, `compile`,
`run --dry-run` and `cwl-runner` in subprocesses, each within 10 s and 500 MB) over --cases inputs on
--workers threads. Reports inputs per second, the slowest inputs, and every failure (a traceback, an exit
code other than 0/1/2/33, a time or memory limit, files left in TMPDIR), grouped by where it came from.

    python bench/bench_reliability.py --section fuzz --cases 1000 --workers 2 --seed 1
"""

from __future__ import annotations

import argparse
import collections
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


def _kind(failure: str) -> str:
    for word in ("traceback", "time limit", "memory", "exit code", "TMPDIR"):
        if word in failure:
            return word
    return failure


SECTIONS: dict[str, Callable[[argparse.Namespace], int]] = {"fuzz": fuzz_section}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--section", action="append", choices=sorted(SECTIONS), help="run this section (repeatable; "
                   "default: all)")
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
