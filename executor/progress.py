"""What a person sees while a run goes on: a live bar on a terminal (rich), plain lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from cwlpilot.executor.store.base import Finish


def _ended_line(name: str, finish: Finish, seconds: float) -> str:
    if finish.ok:
        return f"done    {name} ({seconds:.2f} s)"
    how = f" [{finish.rule}]" if finish.rule and finish.rule != "retry_count" else ""
    if finish.retry:
        return f"retry   {name}: {finish.reason}{how}; log: {finish.log}"
    return f"FAILED  {name}: {finish.reason}{how}; log: {finish.log}"


class LinesReporter:
    """One line per ended attempt (or only failures and notes when quiet), for logs and pipes."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.t0 = time.monotonic()

    def _write(self, text: str) -> None:
        self.stream.write(f"[{time.monotonic() - self.t0:8.1f}s] {text}\n")

    def started(self, name: str, attempt: int, backfill: bool) -> None:
        return None

    def ended(self, name: str, finish: Finish, seconds: float) -> None:
        if not (self.quiet and finish.ok):
            self._write(_ended_line(name, finish, seconds))

    def note(self, message: str) -> None:
        self._write(f"note: {message}")

    def close(self) -> None:
        self.stream.flush()


class BarReporter:
    """A live progress bar with counts; failures and notes are printed above it."""

    def __init__(self, total: int, done: int) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self.progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                 console=self.console, refresh_per_second=8)
        self.failed = self.retried = self.running = 0
        self.task = self.progress.add_task("stages", total=total, completed=done, detail="")
        self.progress.start()

    def _update(self, **kw: Any) -> None:
        detail = f"{self.running} running, {self.failed} failed, {self.retried} retried"
        self.progress.update(self.task, detail=detail, **kw)

    def started(self, name: str, attempt: int, backfill: bool) -> None:
        self.running += 1
        self._update()

    def ended(self, name: str, finish: Finish, seconds: float) -> None:
        self.running = max(0, self.running - 1)
        if finish.ok:
            self._update(advance=1)
            return
        self.console.print(_ended_line(name, finish, seconds), highlight=False, markup=False)
        if finish.retry:
            self.retried += 1
            self._update()
        else:
            self.failed += 1
            self._update(advance=1)

    def note(self, message: str) -> None:
        self.console.print(f"note: {message}", highlight=False, markup=False)

    def close(self) -> None:
        self.progress.stop()


def make_reporter(mode: str, total: int, done: int) -> LinesReporter | BarReporter:
    """`auto` shows a bar on a terminal when rich is installed, plain lines otherwise."""
    if mode == "bar" or (mode == "auto" and sys.stderr.isatty()):
        try:
            return BarReporter(total, done)
        except ImportError:
            pass
    return LinesReporter(quiet=mode == "quiet")
