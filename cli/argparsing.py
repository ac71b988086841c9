"""An argparse parser that raises instead of exiting, for commands that must choose their own exit code; the
number types and the loop guard the commands share."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import Any

# Numbers a run's store and clock can hold: SQLite's integers have 64 bits (`-j 99999999999999999999999` was
# an OverflowError in the store, an internal error), and NaN is no number (`--cpu-limit nan` was stored as
# NULL, an IntegrityError); an infinite limit is no limit a booking can be checked against.
BELOW = 2**63


class UsageError(Exception):
    """A command line that does not parse; the message starts with the program name."""


class RaisingParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def number(kind: type, zero: bool = False) -> Callable[[str], Any]:
    """An argparse type: a finite `kind` (int or float) above zero, or at least zero with `zero`, and below
    2**63. A value outside is a usage error naming the option, as argparse reports a type's refusal."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:  # also int() of more than 4,300 digits
            raise argparse.ArgumentTypeError(f"not {'a whole' if kind is int else 'a'} number: {text[:40]!r}") from None
        low = value >= 0 if zero else value > 0  # False for NaN, as is the comparison below
        if not (low and value < BELOW):
            least = "zero or a positive number" if zero else "a positive number"
            raise argparse.ArgumentTypeError(f"must be {least} below 2**63, not {text[:40]!r}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its own messages
    return parse


def loop_limit(given: int | None, default: int, most: int) -> int:
    """The most iterations a loop may run: `given` (--max-loop-iterations), else $CWLPILOT_MAX_LOOP_ITERATIONS
    (ignored unless it is a plain number), else `default`; a UsageError unless it is from 1 to `most` (each
    iteration adds at least one stage to the run)."""
    env = os.environ.get("CWLPILOT_MAX_LOOP_ITERATIONS", "")
    from_env = int(env) if env.isascii() and env.isdigit() and len(env) < 10 else None
    limit = given or from_env or default
    if not 1 <= limit <= most:
        raise UsageError(f"--max-loop-iterations must be from 1 to {most}, not {str(limit)[:40]}")
    return limit
