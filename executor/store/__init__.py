"""Stores: where a run's state lives. `open_store(url)` picks the implementation from the URL."""

from __future__ import annotations

from pathlib import Path

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store.base import Store


def _sqlite_path(url: str) -> Path:
    """The file of an SQLite store URL: `sqlite:///abs/path.db`, `sqlite:rel/path.db` or a plain path."""
    if url.startswith(("postgresql://", "postgres://")):
        raise StoreError(f"{url}: PostgreSQL stores are not available in this version; use an SQLite file")
    if "://" in url and not url.startswith("sqlite://"):
        raise StoreError(f"{url}: unknown store URL (use sqlite:///path/to/run.db or a file path)")
    path = url.removeprefix("sqlite://").removeprefix("sqlite:")
    if url.startswith("sqlite://") and not path.startswith("/"):
        raise StoreError(f"{url}: an sqlite:// URL needs an absolute path (sqlite:////abs/run.db)")
    return Path(path).resolve()  # absolute: the pilot's working directory may change


def store_exists(url: str) -> bool:
    return _sqlite_path(url).exists()


def open_store(url: str) -> Store:
    from cwlpilot.executor.store.sqlite import SQLiteStore

    return SQLiteStore(_sqlite_path(url))
