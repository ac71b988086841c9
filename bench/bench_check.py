"""`check` benchmark: `cwlpilot check FOLDER` against `cwltool --validate` run file by file, in the same run.

A folder of N generated documents, as a repository holds them: CommandLineTools (inputs of every kind,
bindings, expressions, resource and environment requirements), ExpressionTools, and workflows of 2 to 6
steps running those tools (scatters, conditions, `valueFrom`, inline tools, sub-workflows); one document
in ten has a mistake (an unknown source, a type mismatch, a missing field), so both programs also take
their error paths. Both run as processes, start-up included: `python -m cwlpilot check FOLDER --format
json` once for the folder (and with `--jobs 2`), and `cwltool --validate FILE` once per file, one after
the other, as a CI job without cwlpilot runs it. The figures: files per second and the total of each, the
ratio (goal: at least 20x), and cwlpilot's time per file at two sizes (linear: flat). Each program's
verdict per file is compared too: the same files invalid for both, or the difference is printed.

    python bench/bench_check.py                          # N = 200 (both) and 800 (cwlpilot), 3 rounds
    python bench/bench_check.py --sizes 100,400 --rounds 5 --cwltool /path/to/cwltool

cwltool is `cwltool` on PATH unless --cwltool names it (it is not a dependency of cwlpilot); it is run on
the sizes up to --cwltool-max (default 200: its 200 files take about 4 minutes on a 2-core machine).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

TOOL_KINDS = 5


def tool(i: int) -> str:
    """A CommandLineTool; its inputs, bindings and requirements vary with i."""
    kind = i % TOOL_KINDS
    reqs = [f"  ResourceRequirement: {{coresMin: 1, ramMin: {64 * (1 + i % 4)}}}"]
    inputs = ["  message: {type: string, inputBinding: {position: 2}}"]
    extra = ""
    if kind == 1:
        inputs.append(f"  count: {{type: int, default: {i}, inputBinding: {{prefix: -n, position: 1}}}}")
        reqs.append("  InlineJavascriptRequirement: {}")
        extra = "arguments:\n  - valueFrom: $(inputs.count * 2)\n    position: 0\n"
    elif kind == 2:
        inputs.append("  files: {type: 'File[]?', inputBinding: {position: 3}}")
        inputs.append("  mode: {type: {type: enum, symbols: [fast, slow]}, default: fast}")
    elif kind == 3:
        reqs.append(f"  EnvVarRequirement: {{envDef: {{TOOL_ID: \"{i}\"}}}}")
        inputs.append("  flags: {type: 'string[]', default: [a, b],"
                      " inputBinding: {prefix: --flag, itemSeparator: ','}}")
    elif kind == 4:
        inputs.append("  opts:\n    type:\n      type: record\n      fields:\n        level: int\n"
                      "        name: string?\n    default: {level: 3}")
    return (f"cwlVersion: v1.2\nclass: CommandLineTool\nid: tool_{i}\nbaseCommand: echo\n"
            "requirements:\n" + "\n".join(reqs) + "\n" + extra +
            "inputs:\n" + "\n".join(inputs) + "\nstdout: out.txt\noutputs:\n  out: stdout\n")


def expression_tool(i: int) -> str:
    return ("cwlVersion: v1.2\nclass: ExpressionTool\nrequirements: {InlineJavascriptRequirement: {}}\n"
            "inputs:\n  values: int[]\noutputs:\n  total: int\n"
            f"expression: |\n  ${{ var t = {i}; for (var k = 0; k < inputs.values.length; k++) "
            "{ t += inputs.values[k]; } return {\"total\": t}; }\n")


def workflow(i: int, tools: int) -> str:
    """A workflow of 2 to 6 steps over the tools; one in ten (by i) has a mistake."""
    steps = 2 + i % 5
    lines = ["cwlVersion: v1.2", "class: Workflow", "requirements:", "  ScatterFeatureRequirement: {}",
             "  StepInputExpressionRequirement: {}", "  InlineJavascriptRequirement: {}",
             "  SubworkflowFeatureRequirement: {}", "inputs:", "  names: string[]",
             "  go: {type: boolean, default: true}",
             "outputs:", f"  last: {{type: 'File[]', outputSource: s{steps - 1}/out}}", "steps:"]
    for s in range(steps):
        t = (i * 7 + s * 3) % tools
        source = "names" if s == 0 else f"s{s - 1}/out"
        lines += [f"  s{s}:", f"    run: ../tools/tool_{t}.cwl", "    scatter: message", "    in:"]
        if s == 0:
            lines.append(f"      message: {source}")
        else:  # the previous step's files, as their names
            lines.append(f"      message: {{source: {source}, valueFrom: $(self.basename)}}")
        lines.append("    out: [out]")
    if i % 3 == 0:  # an inline tool under a condition
        lines += ["  inline:", "    when: $(inputs.go)", "    in: {go: go}", "    out: [done]",
                  "    run:", "      class: CommandLineTool", "      baseCommand: 'true'",
                  "      inputs: {go: boolean}", "      outputs: {done: {type: stdout}}"]
    if i % 4 == 1:  # a sub-workflow: another workflow of the folder
        lines += ["  nested:", f"    run: wf_{(i + 1) % max(i, 1)}.cwl" if i > 1 else "    run: wf_0.cwl",
                  "    in: {names: names}", "    out: [last]"]
    text = "\n".join(lines) + "\n"
    if i % 10 == 7:
        text = text.replace(f"outputSource: s{steps - 1}/out", f"outputSource: s{steps}/out")  # no such step
    elif i % 10 == 3:
        text = text.replace("  names: string[]", "  names: int[]")  # a type mismatch into `message`
    elif i % 10 == 9:
        text = text.replace("    out: [out]\n", "", 1)  # a step without `out`
    return text


def corpus(root: Path, n: int) -> list[Path]:
    """n documents: 40% CommandLineTools, 10% ExpressionTools, 50% workflows."""
    (root / "tools").mkdir(parents=True)
    (root / "workflows").mkdir()
    n_tools = max(2, n * 2 // 5)
    n_expr = n // 10
    paths = []
    for i in range(n_tools):
        paths.append(root / "tools" / f"tool_{i}.cwl")
        paths[-1].write_text(tool(i))
    for i in range(n_expr):
        paths.append(root / "tools" / f"expr_{i}.cwl")
        paths[-1].write_text(expression_tool(i))
    for i in range(n - n_tools - n_expr):
        paths.append(root / "workflows" / f"wf_{i}.cwl")
        paths[-1].write_text(workflow(i, n_tools))
    return paths


def timed(argv: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    return time.perf_counter() - start, done


def cwlpilot_check(folder: Path, jobs: int) -> tuple[float, set[str], int]:
    """Wall time, the files found invalid, and how many were checked."""
    seconds, done = timed([sys.executable, "-m", "cwlpilot", "check", str(folder), "--format", "json",
                           "--jobs", str(jobs)])
    if done.returncode not in (0, 1):
        raise SystemExit(f"cwlpilot check failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    return seconds, {Path(f["file"]).name for f in report["files"] if not f["valid"]}, report["summary"]["files"]


def cwltool_each(cwltool: str, paths: list[Path]) -> tuple[float, set[str]]:
    """The total wall time of `cwltool --validate FILE` for each file, one after the other, and the files it
    found invalid."""
    total = 0.0
    invalid: set[str] = set()
    for path in paths:
        seconds, done = timed([cwltool, "--validate", str(path)])
        total += seconds
        if done.returncode != 0:
            invalid.add(path.name)
    return total, invalid


@dataclass(frozen=True)
class Result:
    """One size: wall times (medians of the rounds for cwlpilot), the files each found invalid."""

    n: int
    checked: int
    cwlpilot: float
    cwlpilot_j2: float
    cwlpilot_invalid: frozenset[str]
    cwltool: float | None = None
    cwltool_invalid: frozenset[str] = frozenset()


def measure(n: int, rounds: int, cwltool: str | None) -> Result:
    with tempfile.TemporaryDirectory(prefix="bench-check-") as tmp:
        folder = Path(tmp) / "repo"
        paths = corpus(folder, n)
        one: list[float] = []
        two: list[float] = []
        bad: set[str] = set()
        checked = 0
        for _ in range(rounds):
            seconds, bad, checked = cwlpilot_check(folder, 1)
            one.append(seconds)
            two.append(cwlpilot_check(folder, 2)[0])
        theirs, refused = cwltool_each(cwltool, paths) if cwltool else (None, set())
        return Result(n, checked, statistics.median(one), statistics.median(two), frozenset(bad), theirs,
                      frozenset(refused))


def report(results: list[Result]) -> None:
    print("| files | cwltool --validate, file by file | cwlpilot check | with --jobs 2 | ratio | "
          "cwlpilot per file |")
    print("|---|---|---|---|---|---|")
    for r in results:
        shown = ratio = "-"
        if r.cwltool is not None:
            shown = f"{r.cwltool:.1f} s ({r.n / r.cwltool:.2f} files/s)"
            ratio = f"{r.cwltool / r.cwlpilot:.0f}x / {r.cwltool / r.cwlpilot_j2:.0f}x"
        print(f"| {r.n} | {shown} | {r.cwlpilot:.2f} s ({r.n / r.cwlpilot:.0f} files/s) | {r.cwlpilot_j2:.2f} s "
              f"({r.n / r.cwlpilot_j2:.0f} files/s) | {ratio} | {1000 * r.cwlpilot / r.n:.1f} ms |")
    for r in results:
        line = f"N = {r.n}: {r.checked} files checked, cwlpilot finds {len(r.cwlpilot_invalid)} invalid"
        if r.cwltool is not None:
            disagree = sorted(r.cwlpilot_invalid ^ r.cwltool_invalid)
            line += f", cwltool {len(r.cwltool_invalid)}; they disagree on {disagree or 'none'}"
        print(line)
    if len(results) >= 2:
        first, last = results[0], results[-1]
        size, growth = last.n / first.n, last.cwlpilot / first.cwlpilot
        print(f"growth from N = {first.n} to {last.n}: {growth:.2f}x the time for {size:.0f}x the files "
              f"(per file: {growth / size:.2f}x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="200,800", help="numbers of documents (default 200,800)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of cwlpilot per size (median)")
    parser.add_argument("--cwltool", default="cwltool", help="the cwltool to compare with (default: on PATH)")
    parser.add_argument("--cwltool-max", type=int, default=200, help="run cwltool on sizes up to this")
    args = parser.parse_args()
    cwltool = shutil.which(args.cwltool)
    if cwltool is None:
        print(f"no cwltool at {args.cwltool!r}: cwlpilot alone", file=sys.stderr)
    results = []
    for n in (int(s) for s in args.sizes.split(",")):
        results.append(measure(n, args.rounds, cwltool if cwltool and n <= args.cwltool_max else None))
        print(f"measured N = {n}", file=sys.stderr)
    report(results)


if __name__ == "__main__":
    main()
