"""A stage's log files: every attempt's log kept under its own name, and the end of a log read for retry rules."""

from __future__ import annotations

import contextlib
import os

LOG_TAIL_BYTES = 65536


def keep_log(log: str, attempt: int) -> str:
    """Rename an ended attempt's `<name>.log` (and the taskwrapper's `<name>.log_time`) to
    `<name>.<attempt>.log` (`.log_time`); returns where its log now is."""
    base = log[: -len(".log")]
    kept = f"{base}.{attempt}.log"
    try:
        os.replace(log, kept)
    except FileNotFoundError:
        return log
    with contextlib.suppress(FileNotFoundError):
        os.replace(f"{base}.log_time", f"{base}.{attempt}.log_time")
    return kept


def tail(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - LOG_TAIL_BYTES))
            return fh.read().decode("utf-8", "replace")
    except OSError:
        return ""
