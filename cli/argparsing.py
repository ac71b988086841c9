"""An argparse parser that raises instead of exiting, for commands that must choose their own exit code."""

from __future__ import annotations

import argparse


class UsageError(Exception):
    """A command line that does not parse; the message starts with the program name."""


class RaisingParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")
