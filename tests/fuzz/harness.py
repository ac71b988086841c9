"""Running `cwlpilot` on mutated files in subprocesses, each within a time and a memory limit, and judging it.

A campaign copies the seed files (the CWL conformance suite, examples/ and the plans) into a sandbox, so
that a mutated file sits beside the files it refers to; makes cases from a seed number (case k is a pure
function of the seed and k, so any case can be rebuilt alone); runs each as a real `python -m cwlpilot`
process with RLIMIT_AS and a wall-clock deadline, its own TMPDIR and its own process group; and judges the
result: a Python traceback, an exit code other than 0/1/2/33 (the internal-error code included), the time
or memory limit, or files left in TMPDIR are failures.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NamedTuple

import psutil
import yaml

from .mutators import mutate

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
TIME_LIMIT = 10.0  # seconds of wall time, as the issue asks of any input
MEMORY_LIMIT = 500 * 2**20  # bytes of address space; a normal `cwl-runner` call needs under 300 MB of it
ALLOWED_CODES = (0, 1, 2, 33)  # 33: a feature the cwl-runner interface does not support
# files another part of the project owns, whose tracebacks are tracked apart (xfail, shown): none now that
# the executor reads any plan file (executor/planfile.py); executor/plan.py was one until then
OWNER_FILES: tuple[str, ...] = ()
# tools the fuzzer may really run with cwl-runner: no container, no network, no sleeps
SLOW_TAGS = {"docker", "timelimit", "networkaccess", "work_reuse", "inplace_update"}
COMMANDS = ("check", "compile", "run", "cwl-runner")
_FRAME = re.compile(r'File "([^"]+)", line (\d+)')
_CRASH_FILE = re.compile(r"internal error.*traceback in (\S+)$", re.MULTILINE)  # see cli/main.py
KIND_WEIGHTS = {"cwl": 6, "panda": 2, "plan": 2}  # the suite has 400 CWL seeds, examples 11 PanDA and 3 plans


class Seed(NamedTuple):
    kind: str  # "cwl", "panda" or "plan"
    document: str  # relative to the sandbox root; may end in #id
    job: str | None = None
    runnable: bool = True  # cwl-runner may run it


class Case(NamedTuple):
    number: int
    command: str
    seed: Seed
    target: str  # "document" or "job": which file is mutated
    mutations: tuple[str, ...]
    data: bytes
    odd: tuple[str, ...] = ()  # an odd option or file argument, see ODD_ARGUMENTS


class Outcome(NamedTuple):
    case: Case
    argv: tuple[str, ...]
    code: int
    wall: float
    max_rss_mb: float
    output: str
    timed_out: bool
    litter: tuple[str, ...]
    crash: str | None = None  # the traceback file an internal error named, read before the scratch is removed

    @property
    def failure(self) -> str | None:
        return verdict(self)


def conformance_dir() -> Path | None:
    """The CWL conformance suite: ../shared/cwl-conformance beside the clone, or $CWL_CONFORMANCE_DIR."""
    for candidate in (os.environ.get("CWL_CONFORMANCE_DIR"), ROOT.parent / "shared" / "cwl-conformance"):
        if candidate and (Path(candidate) / "tests").is_dir():
            return Path(candidate)
    return None


def make_sandbox(where: Path) -> list[Seed]:
    """Copy the seed files under `where` and return the seeds, in a fixed order."""
    shutil.copytree(ROOT / "examples", where / "examples", symlinks=True)
    seeds = [Seed("plan", f"examples/o2dpg/{p.name}") for p in sorted((ROOT / "examples/o2dpg").glob("*.json"))]
    golden = ROOT / "tests/compiler/golden"
    (where / "plans").mkdir()
    for plan in sorted(golden.glob("*.json")):
        shutil.copy(plan, where / "plans" / plan.name)
        seeds.append(Seed("plan", f"plans/{plan.name}"))
    for doc in sorted((where / "examples/cwl").rglob("*.cwl")):
        rel = doc.relative_to(where).as_posix()
        job = doc.with_name(doc.stem + "-job.yml")
        seeds.append(Seed("cwl", rel, job.relative_to(where).as_posix() if job.exists() else None))
    for doc in sorted((where / "examples/panda").glob("*.cwl")):  # loops run their scripts for seconds
        seeds.append(Seed("panda", doc.relative_to(where).as_posix(), runnable="loop" not in doc.read_text()))
    suite = conformance_dir()
    if suite is not None:
        shutil.copytree(suite / "tests", where / "conformance/tests", symlinks=True)
        seeds += _conformance_seeds(suite / "conformance_tests.yaml", "conformance")
    return seeds


def _conformance_seeds(index: Path, prefix: str) -> list[Seed]:
    """One seed per test of the suite's index (its `$import`s followed), paths relative to the sandbox."""
    out = []
    for entry in yaml.safe_load(index.read_text()) or []:
        if "$import" in entry:
            sub = index.parent / entry["$import"]
            out += _conformance_seeds(sub, f"{prefix}/{sub.parent.relative_to(index.parent).as_posix()}")
            continue
        if "tool" not in entry:
            continue
        job = f"{prefix}/{entry['job']}" if entry.get("job") else None
        runnable = not (SLOW_TAGS & set(entry.get("tags", ())))
        out.append(Seed("cwl", f"{prefix}/{entry['tool']}", job, runnable))
    return out


# Odd arguments: option values that name the wrong kind of file or a number out of range, and documents
# that are not regular files. Each is (commands it applies to, arguments); WORK/OUT/FILE/DOC are replaced.
ODD_ARGUMENTS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("run", "cwl-runner"), ("--workdir", "FILE")),
    (("cwl-runner",), ("--outdir", "FILE")),
    (("compile",), ("-o", "MISSING/plan.json")),
    (("compile",), ("-o", "FILE/plan.json")),
    (("run",), ("--produce-script", "MISSING/run.sh")),
    (("run", "check", "compile"), ("--max-loop-iterations", "99999999999999999999999")),
    (("run", "cwl-runner"), ("-j", "0")),
    (("run", "cwl-runner"), ("-j", "99999999999999999999999")),
    (("run", "cwl-runner"), ("--cpu-limit", "nan")),
    (("run", "cwl-runner"), ("--mem-limit", "-1e999")),
    (COMMANDS, ("DOC=/dev/zero",)),
    (COMMANDS, ("DOC=/dev/null",)),
    (COMMANDS, ("DOC=examples",)),
    (COMMANDS, ("DOC=missing.cwl",)),
    (COMMANDS, ("DOC=DOC#nothing",)),
)


def make_case(seeds: list[Seed], seed: int, number: int, root: Path) -> Case:
    """Case `number` of the campaign `seed`: which file, which mutations, which command."""
    rng = random.Random(f"{seed}/{number}")
    kinds = sorted({s.kind for s in seeds})
    kind = rng.choices(kinds, [KIND_WEIGHTS[k] for k in kinds])[0]
    chosen = rng.choice([s for s in seeds if s.kind == kind])
    if chosen.kind == "plan":
        command = rng.choices(COMMANDS, (1, 1, 6, 1))[0]
    else:
        command = rng.choices(COMMANDS, (3, 2, 2, 2 if chosen.runnable else 0))[0]
    target = "job" if chosen.job and rng.random() < 0.25 else "document"
    path = chosen.job if target == "job" else chosen.document
    assert path is not None
    original = (root / _split(root, path)[0]).read_bytes()
    data, names = mutate(rng, original, panda=chosen.kind == "panda" and target == "document")
    odd: tuple[str, ...] = ()
    if rng.random() < 0.08:
        fitting = [args for commands, args in ODD_ARGUMENTS if command in commands]
        odd = rng.choice(fitting)
    return Case(number, command, chosen, target, names, data, odd)


def case_files(case: Case, root: Path) -> tuple[str, str | None]:
    """Write the mutated file beside its original; return (document, job) as given on the command line."""
    doc, fragment = _split(root, case.seed.document)
    job = case.seed.job
    original = job if case.target == "job" else doc
    assert original is not None
    mutated = Path(original).with_name(f"fuzz{case.number}-{Path(original).name}").as_posix()
    (root / mutated).write_bytes(case.data)
    if case.target == "job":
        job = mutated
    else:
        doc = mutated
    return doc + (f"#{fragment}" if fragment else ""), job


def _split(root: Path, path: str) -> tuple[str, str]:
    """(file, fragment) of `FILE#ID`; a file whose name holds `#` is a file."""
    if "#" not in path or (root / path).exists():
        return path, ""
    file, _, fragment = path.rpartition("#")
    return file, fragment


def case_argv(case: Case, root: Path, doc: str, job: str | None) -> list[str]:
    scratch = root / "scratch" / str(case.number)
    work, out = scratch / "work", scratch / "out"
    odd = [a.replace("FILE", str(root / "examples/o2dpg/sim_workflow.json")).replace("MISSING", str(scratch / "no"))
           for a in case.odd]
    if odd and odd[0].startswith("DOC="):
        doc = odd[0][4:].replace("DOC", doc)
        odd = []
    files = [doc] + ([job] if job and case.seed.kind != "plan" else [])
    if case.command == "check":
        return ["check", *files, *odd]
    if case.command == "compile":
        return ["compile", *files, *(odd or ["-o", str(out / "plan.json")])]
    if case.command == "run":
        return ["run", *files, "--dry-run", "--workdir", str(work), *odd]
    return ["cwl-runner", "--outdir", str(out), "--quiet", *odd, *files]


def run_case(case: Case, root: Path, time_limit: float = TIME_LIMIT, memory: int = MEMORY_LIMIT) -> Outcome:
    doc, job = case_files(case, root)
    argv = case_argv(case, root, doc, job)
    tmp = root / "scratch" / str(case.number) / "tmp"
    tmp.mkdir(parents=True)
    env = {**os.environ, "TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}
    code, wall, rss, output, killed = run_limited([sys.executable, "-m", "cwlpilot", *argv], root, env,
                                                  time_limit, memory)
    litter = tuple(sorted(p.name for p in tmp.iterdir())) if not killed else ()
    match = _CRASH_FILE.search(output)
    crash = Path(match.group(1)).read_text(errors="replace") if match and os.path.isfile(match.group(1)) else None
    if not killed:
        shutil.rmtree(root / "scratch" / str(case.number), ignore_errors=True)
    return Outcome(case, tuple(argv), code, wall, rss, output, killed, litter, crash)


def run_limited(argv: list[str], cwd: Path, env: dict[str, str], time_limit: float,
                memory: int) -> tuple[int, float, float, str, bool]:
    """(exit code, wall seconds, peak RSS MB, output, killed) of `argv` run within the limits."""

    def limits() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    log = cwd / "scratch" / f"{threading.get_ident()}.log"
    start = time.monotonic()
    with open(log, "w+b") as handle:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=handle,
                                stderr=subprocess.STDOUT, preexec_fn=limits, start_new_session=True)
        killed = threading.Event()
        timer = threading.Timer(time_limit, _kill_tree, (proc.pid, killed))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - start
        if killed.is_set():
            _kill_tree(proc.pid, killed)  # stages a killed run left behind
        handle.seek(0)
        output = handle.read().decode("utf-8", "replace")
    log.unlink()
    return proc.returncode, wall, usage.ru_maxrss / 1024, output, killed.is_set()


def _kill_tree(pid: int, killed: threading.Event) -> None:
    killed.set()
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        children = []
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def traceback_text(outcome: Outcome) -> str | None:
    """The Python traceback the run printed, or the one its internal-error message points to."""
    if "Traceback (most recent call last)" in outcome.output:
        return outcome.output
    return outcome.crash


def origin(outcome: Outcome) -> str | None:
    """`package/module.py:line` of the innermost cwlpilot frame of the run's traceback, if there is one."""
    text = traceback_text(outcome)
    if text is None:
        return None
    ours = [(f, line) for f, line in _FRAME.findall(text) if _our_module(f)]
    return f"{_our_module(ours[-1][0])}:{ours[-1][1]}" if ours else "outside cwlpilot"


def _our_module(path: str) -> str | None:
    parts = Path(path).parts
    for root in ("cli", "compiler", "executor", "semantics", "schemas", "cwlpilot"):
        if root in parts:
            rel = parts[len(parts) - 1 - parts[::-1].index(root) :]
            return "/".join(rel)
    return None


def verdict(outcome: Outcome) -> str | None:
    """Why the outcome is a failure, or None when cwlpilot handled the input."""
    if outcome.timed_out:
        return f"over the time limit ({outcome.wall:.1f} s)"
    if "MemoryError" in outcome.output or "MemoryError" in (traceback_text(outcome) or ""):
        return "over the memory limit (MemoryError)"
    if "Traceback (most recent call last)" in outcome.output:
        return f"traceback from {origin(outcome)}"
    if outcome.code not in ALLOWED_CODES:
        where = origin(outcome)
        return f"exit code {outcome.code}" + (f" (internal error in {where})" if where else "")
    if outcome.litter:
        return f"left in TMPDIR: {', '.join(outcome.litter[:3])}"
    return None


def owners(outcome: Outcome) -> bool:
    """True when the failure comes from code another part of the project owns (see OWNER_FILES)."""
    where = origin(outcome) or ""
    return any(where.startswith(f) for f in OWNER_FILES)


def campaign(seed: int, numbers: Iterable[int], workers: int, root: Path, seeds: list[Seed] | None = None,
             time_limit: float = TIME_LIMIT) -> Iterator[Outcome]:
    """Run the cases `numbers` of campaign `seed` on `workers` threads; outcomes in case order. `root` is
    made a sandbox unless `seeds` says it is one already."""
    if seeds is None:
        seeds = make_sandbox(root)
    (root / "scratch").mkdir(exist_ok=True)

    def one(number: int) -> Outcome:
        return run_case(make_case(seeds, seed, number, root), root, time_limit)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(one, numbers)


class CorpusEntry(NamedTuple):
    """An input that once broke cwlpilot (tests/fuzz/corpus/cases.json), run by one command."""

    name: str
    command: str
    bug: str
    xfail: str | None  # why it still fails, and whose it is to fix


def corpus_entries() -> list[CorpusEntry]:
    entries = json.loads((CORPUS / "cases.json").read_text())
    return [CorpusEntry(e["name"], c, e["bug"], e.get("xfail")) for e in entries for c in e["commands"]]


def corpus_cases(root: Path) -> dict[tuple[str, str], Case]:
    """The corpus as cases in the sandbox `root` (its files copied to root/corpus), by (name, command)."""
    shutil.copytree(CORPUS, root / "corpus", dirs_exist_ok=True)
    cases = {}
    for k, e in enumerate(json.loads((CORPUS / "cases.json").read_text())):
        kind = "plan" if e["place"] == "plans" else "panda" if e["place"] == "examples/panda" else "cwl"
        path = f"{e['place']}/{e['name']}"
        seed = Seed(kind, e["document"], path) if e.get("target") == "job" else Seed(kind, path, e.get("job"))
        data = (CORPUS / e["name"]).read_bytes()
        for n, command in enumerate(e["commands"]):
            case = Case(100_000 + 10 * k + n, command, seed, e.get("target", "document"), ("corpus",), data,
                        tuple(e.get("args", ())))
            cases[(e["name"], command)] = case
    return cases


def describe(outcome: Outcome) -> str:
    case = outcome.case
    return (f"case {case.number}: {outcome.failure}: cwlpilot {' '.join(outcome.argv)[:300]} "
            f"[{case.target} of {case.seed.document} mutated by {'+'.join(case.mutations)}"
            f"{' with ' + ' '.join(case.odd) if case.odd else ''}; exit {outcome.code}, {outcome.wall:.1f} s, "
            f"{outcome.max_rss_mb:.0f} MB]\n    {_last_line(outcome.output)}")


def _last_line(output: str) -> str:
    lines = [line for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""
