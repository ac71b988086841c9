"""cli/main.py: every subcommand's bug ends in one line and exit 70, with the traceback in a file."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from cwlpilot import check_cmd
from cwlpilot.main import EXIT_INTERNAL, main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def crash_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def test_a_bug_prints_one_line_and_the_traceback_goes_to_a_file(crash_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    def broken(argv: list[str], out: object, err: object) -> int:
        raise KeyError("a key the check forgot")

    # the subcommand is replaced by one with a bug; the dispatcher under test is the real one
    monkeypatch.setitem(check_cmd.HANDLERS, "check", broken)
    assert main(["check", str(REPO / "examples/cwl/greet.cwl")]) == EXIT_INTERNAL == 70
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert err.startswith("cwlpilot: internal error (a bug in cwlpilot, not in your input): "
                          "KeyError: 'a key the check forgot'; traceback in ")
    saved = Path(err.strip().rsplit(" ", 1)[-1])
    assert saved.parent == crash_dir and saved.name.startswith("cwlpilot-internal-error-")
    text = saved.read_text()
    assert f"command: cwlpilot check {REPO / 'examples/cwl/greet.cwl'}" in text
    assert "Traceback (most recent call last)" in text and "in broken" in text
    assert saved.stat().st_mode & 0o077 == 0  # the command line may name private files


def test_an_interrupt_is_no_internal_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted(argv: list[str], out: object, err: object) -> int:
        raise KeyboardInterrupt

    monkeypatch.setitem(check_cmd.HANDLERS, "check", interrupted)
    assert main(["check", str(REPO / "examples/cwl/greet.cwl")]) == 130
    assert capsys.readouterr().err == "cwlpilot: interrupted\n"


def test_a_closed_output_pipe_ends_quietly() -> None:
    proc = subprocess.Popen([sys.executable, "-m", "cwlpilot", "check", "examples/cwl/greet.cwl"], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # as `cwlpilot check X | head -0` does
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 141
    assert err == ""


@pytest.mark.parametrize(("argv", "code"), [
    (["check", "examples/cwl/invalid/schema-errors.cwl"], 1),
    (["check", "/dev/zero"], 1),
    (["compile", "--nonsense", "examples/cwl/greet.cwl"], 2),
    (["nonsense"], 2),
    ([], 2),
])
def test_user_mistakes_never_take_the_internal_error_path(argv: list[str], code: int) -> None:
    proc = subprocess.run([sys.executable, "-m", "cwlpilot", *argv], cwd=REPO, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == code and "internal error" not in proc.stderr and "Traceback" not in proc.stderr
