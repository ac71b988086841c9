"""cli/argparsing.py: the number types of the run options and the loop guard, refusing what a run cannot hold."""

from __future__ import annotations

import argparse

import pytest

from cwlpilot.argparsing import UsageError, loop_limit, number


def test_numbers_are_finite_positive_and_below_2_63() -> None:
    assert number(int)("7") == 7 and number(float)("0.5") == 0.5 and number(int)(str(2**63 - 1)) == 2**63 - 1
    assert number(int, zero=True)("0") == 0 and number(float, zero=True)("0") == 0.0
    refused = [(int, "0"), (int, "-3"), (int, str(2**63)), (int, "9" * 5000), (int, "1e3"), (int, "x"),
               (float, "nan"), (float, "inf"), (float, "-inf"), (float, "1e400"), (float, "0"), (float, "9.3e18")]
    for kind, text in refused:
        with pytest.raises(argparse.ArgumentTypeError):
            number(kind)(text)
    with pytest.raises(argparse.ArgumentTypeError, match=r"^must be zero or a positive number below 2\*\*63, not '-1'"):
        number(int, zero=True)("-1")
    with pytest.raises(argparse.ArgumentTypeError, match=r"^not a whole number: '9999999999"):
        number(int)("9" * 5000)  # more digits than Python reads as an int: the message shows 40 of them


def test_the_loop_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CWLPILOT_MAX_LOOP_ITERATIONS", raising=False)
    assert loop_limit(None, 10, 20_000) == 10 and loop_limit(5, 10, 20_000) == 5
    monkeypatch.setenv("CWLPILOT_MAX_LOOP_ITERATIONS", "30")
    assert loop_limit(None, 10, 20_000) == 30 and loop_limit(5, 10, 20_000) == 5
    for ignored in ("9" * 5000, "²", "-4", "many"):  # regression: 5,000 digits were a ValueError
        monkeypatch.setenv("CWLPILOT_MAX_LOOP_ITERATIONS", ignored)
        assert loop_limit(None, 10, 20_000) == 10
    monkeypatch.setenv("CWLPILOT_MAX_LOOP_ITERATIONS", "20001")
    with pytest.raises(UsageError, match="^--max-loop-iterations must be from 1 to 20000, not 20001$"):
        loop_limit(None, 10, 20_000)
    with pytest.raises(UsageError, match="not -2$"):
        loop_limit(-2, 10, 20_000)
