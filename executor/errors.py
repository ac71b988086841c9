"""The executor's exceptions: one root, and subclasses that carry every problem found, not just the first."""

from __future__ import annotations


class ExecutorError(Exception):
    """Root of every error the executor reports to a user (printed without a traceback)."""


class PlanError(ExecutorError):
    """A plan that cannot run: each entry of `problems` is one complete, self-explaining line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class StoreError(ExecutorError):
    """The store cannot be opened, or holds a run this command must not touch."""


class UsageError(ExecutorError):
    """Options that contradict each other or name something that does not exist."""
