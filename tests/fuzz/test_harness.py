"""tests/fuzz/harness.py judges truly: a traceback, an internal error, the time and memory limits and litter
are each caught in a real subprocess; mutations are a pure function of the seed."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

from . import harness, mutators


def _run(tmp_path: Path, code: str, time_limit: float = 10, memory: int = harness.MEMORY_LIMIT) -> tuple:
    (tmp_path / "scratch").mkdir(exist_ok=True)
    return harness.run_limited([sys.executable, "-c", code], tmp_path, {}, time_limit, memory)


def _outcome(result: tuple, litter: tuple[str, ...] = ()) -> harness.Outcome:
    code, wall, rss, output, killed = result
    case = harness.Case(0, "check", harness.Seed("cwl", "x.cwl"), "document", ("test",), b"")
    return harness.Outcome(case, ("check", "x.cwl"), code, wall, rss, output, killed, litter)


def test_a_traceback_is_a_failure_even_with_exit_1(tmp_path: Path) -> None:
    outcome = _outcome(_run(tmp_path, "import sys; sys.stderr.write('Traceback (most recent call last):\\n'); "
                                      "sys.exit(1)"))
    assert outcome.code == 1 and outcome.failure == "traceback from outside cwlpilot"


def test_exit_codes_beyond_0_1_2_33_are_failures(tmp_path: Path) -> None:
    assert _outcome(_run(tmp_path, "raise SystemExit(33)")).failure is None
    assert _outcome(_run(tmp_path, "raise SystemExit(70)")).failure == "exit code 70"
    assert _outcome(_run(tmp_path, "import os; os.kill(os.getpid(), 11)")).failure == "exit code -11"


def test_the_time_limit_kills_the_process(tmp_path: Path) -> None:
    outcome = _outcome(_run(tmp_path, "import time; time.sleep(30)", time_limit=0.5))
    assert outcome.timed_out and outcome.wall < 5
    assert outcome.failure is not None and outcome.failure.startswith("over the time limit")


def test_the_memory_limit_is_enforced(tmp_path: Path) -> None:
    outcome = _outcome(_run(tmp_path, "x = bytearray(600 * 2**20)"))
    assert outcome.failure == "over the memory limit (MemoryError)"


def test_files_left_in_tmpdir_are_litter() -> None:
    outcome = _outcome((0, 0.1, 10.0, "", False), litter=("cwlpilot-abc",))
    assert outcome.failure == "left in TMPDIR: cwlpilot-abc"


def test_the_origin_is_the_innermost_frame_of_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(harness, "OWNER_FILES", ("executor/plan.py",))
    text = ('Traceback (most recent call last):\n  File "/x/site-packages/cwlpilot/main.py", line 3, in main\n'
            '  File "/w/compiler/yamlsrc.py", line 89, in _read\n  File "/usr/lib/python3.11/codecs.py", line 1\n')
    outcome = _outcome((1, 0.1, 10.0, text, False))
    assert harness.origin(outcome) == "compiler/yamlsrc.py:89" and not harness.owners(outcome)
    owned = outcome._replace(output=text.replace("compiler/yamlsrc.py", "executor/plan.py"))
    assert harness.owners(owned)


def test_mutations_are_a_function_of_the_seed() -> None:
    data = (harness.ROOT / "examples/cwl/greet.cwl").read_bytes()
    first = [mutators.mutate(random.Random(f"7/{k}"), data) for k in range(50)]
    again = [mutators.mutate(random.Random(f"7/{k}"), data) for k in range(50)]
    assert first == again
    assert len({names for _, names in first}) > 10 and sum(out != data for out, _ in first) > 45
