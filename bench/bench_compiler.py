"""Compiler benchmark: `cwlpilot compile` against `cwltool --validate` on the same files, in the same run.

The cases are generated here: a CommandLineTool (`echo`) scattered over a string array of N items given in
the inputs file (N = 1,000 and 10,000), and workflows of S steps running `cat` (S = 50 and 200), linear
(step i reads step i-1) and branching (step i reads step (i-1)//2, a binary tree). Both programs run as
subprocesses, start-up included: `python -m cwlpilot compile WF INPUTS -o plan.json` and
`cwltool --validate WF INPUTS`. Runs alternate (cwltool, cwlpilot, cwltool, ...) and the medians are
compared, because the machine is shared and noisy; the figure is the ratio cwltool / cwlpilot.

Growth: the time of the larger size over the smaller one, next to the size ratio (linear growth is at most
the size ratio). Start-up hides growth, so cwlpilot's is also given net of its start-up, measured as the
compile of a 1-way scatter in the same rounds.

Scale (`--scale`): linear workflows of S = 200, 1,000, 3,200 and 10,000 steps compiled by cwlpilot, and the
first two validated by cwltool (its check of 3,200 steps already takes more than a minute, growing faster
than the workflow). For each size: wall time, CPU time (user + system of the process, which a busy machine
disturbs less than the wall time) and peak memory (ru_maxrss, from wait4), the fastest of the rounds; the
cost per step is the time net of the start-up (a 1-step workflow, same rounds) over S. The goals: per
step, cwlpilot at least 20x below cwltool; that cost flat from 200 to 10,000 steps (linear growth);
10,000 steps in under 5 s and 500 MB.

    python bench/bench_compiler.py                       # N = 1,000 and 10,000; S = 50 and 200; 3 rounds
    python bench/bench_compiler.py --n 1000 --steps 50 --rounds 5
    python bench/bench_compiler.py --scale-only          # only the scale section

cwltool is taken from this interpreter when importable, else from a venv under ~/.cache/cwltool-venv
(created with `pip install cwltool` when missing; it is not a dependency of cwlpilot). cwltool validates
the inputs file too, and its time grows faster than linearly with the array's length: the 10,000-way
case takes it about two minutes per run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path.home() / ".cache" / "cwltool-venv"

ECHO = """cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs:
  msg:
    type: string
    inputBinding: {position: 1}
outputs:
  out:
    type: stdout
stdout: out.txt
"""
CAT = """cwlVersion: v1.2
class: CommandLineTool
baseCommand: cat
inputs:
  prev:
    type: File
    inputBinding: {position: 1}
outputs:
  out:
    type: stdout
stdout: out.txt
"""
SCATTER = """cwlVersion: v1.2
class: Workflow
requirements:
  ScatterFeatureRequirement: {}
inputs:
  msgs: string[]
outputs:
  outs:
    type: File[]
    outputSource: say/out
steps:
  say:
    run: echo.cwl
    scatter: msg
    in:
      msg: msgs
    out: [out]
"""


@dataclass(frozen=True)
class Case:
    label: str
    workflow: Path
    inputs: Path
    stages: int  # stages the plan must have
    size: int


def scatter_case(n: int, scratch: Path) -> Case:
    wf, inputs = scratch / "scatter.cwl", scratch / f"scatter-{n}.yml"
    wf.write_text(SCATTER)
    inputs.write_text("msgs:\n" + "".join(f"- item{i}\n" for i in range(n)))
    return Case(f"scatter N={n}", wf, inputs, n, n)


def steps_case(steps: int, shape: str, scratch: Path) -> Case:
    """`steps` steps running cat.cwl: each reads the previous one (linear) or its parent in a binary tree."""
    lines = [
        "cwlVersion: v1.2",
        "class: Workflow",
        "inputs:",
        "  seed: File",
        "outputs:",
        "  last:",
        "    type: File",
        f"    outputSource: s{steps - 1}/out",
        "steps:",
    ]
    for i in range(steps):
        parent = i - 1 if shape == "linear" else (i - 1) // 2
        source = "seed" if i == 0 else f"s{parent}/out"
        lines += [f"  s{i}:", "    run: cat.cwl", "    in:", f"      prev: {source}", "    out: [out]"]
    wf = scratch / f"{shape}-{steps}.cwl"
    wf.write_text("\n".join(lines) + "\n")
    return Case(f"{shape} S={steps}", wf, scratch / "seed.yml", steps, steps)


def write_common(scratch: Path) -> None:
    (scratch / "echo.cwl").write_text(ECHO)
    (scratch / "cat.cwl").write_text(CAT)
    (scratch / "seed.txt").write_text("seed\n")
    (scratch / "seed.yml").write_text("seed:\n  class: File\n  path: seed.txt\n")


def cwltool_command(given: str | None) -> list[str]:
    if given:
        return [given]
    if importlib.util.find_spec("cwltool") is not None:
        return [sys.executable, "-m", "cwltool"]
    exe = VENV / "bin" / "cwltool"
    if not exe.exists():
        print(f"installing cwltool into {VENV} (not a dependency of cwlpilot)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "cwltool"], check=True)
    return [str(exe)]


# Both programs run as installed packages do: with their bytecode cached (pip writes it when installing;
# PYTHONDONTWRITEBYTECODE, set on some machines, would make every run recompile cwlpilot from source).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(argv: list[str], cwd: Path) -> float:
    return measured(argv, cwd).wall


@dataclass(frozen=True)
class Usage:
    wall: float  # s
    cpu: float  # s, user + system
    rss_mb: float  # peak resident memory


def measured(argv: list[str], cwd: Path) -> Usage:
    """Run `argv` and measure it: wall time, and from wait4 its own CPU time and peak memory."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=ENV, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {err.read().decode()[-2000:]}")
    return Usage(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def compile_argv(case: Case, plan: Path) -> list[str]:
    return [sys.executable, "-m", "cwlpilot", "compile", str(case.workflow), str(case.inputs), "-o", str(plan)]


def check_plan(case: Case, plan: Path) -> None:
    """The plan is the one expected: a stage per scatter instance or per step, named as the plan says."""
    names = [s["name"] for s in json.loads(plan.read_text())["stages"]]
    expected = (
        [f"say[{i}]" for i in range(case.size)]
        if case.label.startswith("scatter")
        else [f"s{i}" for i in range(case.size)]
    )
    if names != expected:
        sys.exit(f"{case.label}: unexpected plan ({len(names)} stages, expected {case.stages})")


def run(cases: list[Case], rounds: int, cwltool: list[str], scratch: Path) -> tuple[dict[str, float], ...]:
    """Median wall seconds per case for cwltool and cwlpilot, and cwlpilot's start-up (a 1-way scatter)."""
    tool: dict[str, list[float]] = {c.label: [] for c in cases}
    ours: dict[str, list[float]] = {c.label: [] for c in cases}
    startup, plan = [], scratch / "plan.json"
    tiny = scatter_case(1, scratch)
    for r in range(rounds):
        startup.append(timed(compile_argv(tiny, plan), scratch))
        for case in cases:
            tool[case.label].append(timed([*cwltool, "--validate", str(case.workflow), str(case.inputs)], scratch))
            ours[case.label].append(timed(compile_argv(case, plan), scratch))
            if r == 0:
                check_plan(case, plan)
            print(
                f"  round {r + 1}/{rounds} {case.label}: cwltool {tool[case.label][-1]:.2f} s, "
                f"cwlpilot {ours[case.label][-1]:.2f} s",
                file=sys.stderr,
                flush=True,
            )
    med = statistics.median
    return ({k: med(v) for k, v in tool.items()}, {k: med(v) for k, v in ours.items()}, {"startup": med(startup)})


def scale(sizes: list[int], tool_sizes: list[int], rounds: int, cwltool: list[str], scratch: Path) -> None:
    """The scale section: cost per step net of start-up, growth, and the 10,000-step compile (see above)."""
    ours: dict[int, list[Usage]] = {s: [] for s in [1, *sizes]}
    tool: dict[int, list[Usage]] = {s: [] for s in [1, *tool_sizes]}
    cases = {s: steps_case(s, "linear", scratch) for s in ours}
    plan = scratch / "plan.json"
    for r in range(rounds):
        for s in ours:
            ours[s].append(measured(compile_argv(cases[s], plan), scratch))
            if r == 0 and s > 1:
                check_plan(cases[s], plan)
            if s in tool:
                argv = [*cwltool, "--validate", str(cases[s].workflow), str(cases[s].inputs)]
                tool[s].append(measured(argv, scratch))
            print(f"  round {r + 1}/{rounds} S={s}: cwlpilot {ours[s][-1].wall:.2f} s", file=sys.stderr, flush=True)
    med = min  # the fastest run of each: a busy machine only ever adds time, and a difference of two medians
    # (the cost net of the start-up) can even come out negative

    def per_step(runs: dict[int, list[Usage]], s: int, what: str) -> float:
        base = med(getattr(u, what) for u in runs[1])
        return (med(getattr(u, what) for u in runs[s]) - base) / (s - 1) * 1000  # ms

    print(f"scale: linear workflows, fastest of {rounds} rounds; cost per step net of the start-up "
          f"(cwlpilot {med(u.wall for u in ours[1]):.2f} s wall / {med(u.cpu for u in ours[1]):.2f} s CPU, "
          f"cwltool {med(u.wall for u in tool[1]):.2f} s / {med(u.cpu for u in tool[1]):.2f} s)")
    for s in sizes:
        u = ours[s]
        line = (f"S={s:<6} cwlpilot {med(x.wall for x in u):6.2f} s wall, {med(x.cpu for x in u):6.2f} s CPU, "
                f"{max(x.rss_mb for x in u):5.0f} MB; per step {per_step(ours, s, 'wall'):.3f} ms wall, "
                f"{per_step(ours, s, 'cpu'):.3f} ms CPU")
        if s in tool:
            t = tool[s]
            wall = per_step(tool, s, "wall") / per_step(ours, s, "wall")
            cpu = per_step(tool, s, "cpu") / per_step(ours, s, "cpu")
            line += (f" | cwltool {med(x.wall for x in t):6.2f} s, {med(x.cpu for x in t):6.2f} s CPU, "
                     f"{max(x.rss_mb for x in t):5.0f} MB; per step {per_step(tool, s, 'wall'):.2f} ms wall, "
                     f"{per_step(tool, s, 'cpu'):.2f} ms CPU; ratio {wall:.0f}x wall, {cpu:.0f}x CPU (target >= 20x)")
        print(line)
    small, big = min(sizes), max(sizes)
    for what in ("wall", "cpu"):
        print(f"growth of the cost per step, S={small} -> S={big} ({big / small:g}x the size): "
              f"{per_step(ours, big, what) / per_step(ours, small, what):.2f}x {what} (linear: 1x)")
    u = ours[big]
    print(f"S={big}: {med(x.wall for x in u):.2f} s wall, {max(x.rss_mb for x in u):.0f} MB peak "
          f"(target < 5 s and < 500 MB)")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, nargs="+", default=[1000, 10000], help="scatter widths")
    p.add_argument("--steps", type=int, nargs="+", default=[50, 200], help="step counts")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cwltool", help="the cwltool executable (default: see above)")
    p.add_argument("--scale", type=int, nargs="+", default=[200, 1000, 3200, 10000], help="scale section sizes")
    p.add_argument("--scale-cwltool", type=int, nargs="+", default=[200, 1000], help="sizes cwltool validates there")
    p.add_argument("--scale-only", action="store_true", help="only the scale section")
    a = p.parse_args()
    cwltool = cwltool_command(a.cwltool)
    scratch = Path(tempfile.mkdtemp(prefix="cwlpilot-bench-compiler-"))
    try:
        write_common(scratch)
        version = subprocess.run([*cwltool, "--version"], capture_output=True, text=True).stdout.split()[-1:]
        if not a.scale_only:
            compare(a, cwltool, scratch, version)
        scale(sorted(a.scale), sorted(a.scale_cwltool), a.rounds, cwltool, scratch)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


def compare(a: argparse.Namespace, cwltool: list[str], scratch: Path, version: list[str]) -> None:
    """The comparison with cwltool on scatters and 50/200-step workflows (wall time, start-up included)."""
    groups = [[scatter_case(n, scratch) for n in sorted(a.n)]]
    groups += [[steps_case(s, shape, scratch) for s in sorted(a.steps)] for shape in ("linear", "branching")]
    cases = [c for g in groups for c in g]
    print(
        f"cwlpilot compile vs cwltool {' '.join(version)} --validate; {a.rounds} rounds, medians, "
        f"wall time including start-up"
    )
    tool, ours, extra = run(cases, a.rounds, cwltool, scratch)
    start = extra["startup"]
    print(f"cwlpilot start-up (1-way scatter): {start:.2f} s")
    for c in cases:
        print(
            f"{c.label:<18} ({c.stages:>6} stages): cwltool --validate {tool[c.label]:7.2f} s, "
            f"cwlpilot compile {ours[c.label]:5.2f} s, ratio {tool[c.label] / ours[c.label]:6.1f}x"
        )
    for g in groups:
        for small, big in zip(g, g[1:], strict=False):
            size = big.size / small.size
            net = (ours[big.label] - start) / max(ours[small.label] - start, 1e-3)
            print(
                f"growth {small.label} -> {big.label} ({size:g}x the size): "
                f"cwlpilot {ours[big.label] / ours[small.label]:.2f}x ({net:.2f}x net of start-up), "
                f"cwltool {tool[big.label] / tool[small.label]:.2f}x"
            )


if __name__ == "__main__":
    sys.exit(main())
