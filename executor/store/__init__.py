"""Stores: where a run's state lives. `open_store(url)` picks the implementation from the URL."""

from __future__ import annotations

from pathlib import Path

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store.base import Store


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def sqlite_path(url: str) -> Path:
    """The file of an SQLite store URL: `sqlite:///abs/path.db`, `sqlite:rel/path.db` or a plain path."""
    if "://" in url and not url.startswith("sqlite://"):
        raise StoreError(f"{url}: unknown store URL (use sqlite:///path/to/run.db, a file path, or "
                         "postgresql://user@host:port/database)")
    path = url.removeprefix("sqlite://").removeprefix("sqlite:")
    if url.startswith("sqlite://") and not path.startswith("/"):
        raise StoreError(f"{url}: an sqlite:// URL needs an absolute path (sqlite:////abs/run.db)")
    return Path(path).resolve()  # absolute: the pilot's working directory may change


def store_exists(url: str) -> bool:
    if is_postgres(url):
        from cwlpilot.executor.store.pg_connection import schema_exists, split_url

        return schema_exists(*split_url(url))
    return sqlite_path(url).exists()


def open_store(url: str, lease: float = 60.0) -> Store:
    """The store at `url`, created if missing. `lease`: the heartbeat timeout of the pilots using it (a
    PostgreSQL store out of reach for half of it makes its pilot stop its stages)."""
    if is_postgres(url):
        try:
            from cwlpilot.executor.store.postgres import PostgresStore
        except ImportError as exc:
            raise StoreError(f"{url}: a PostgreSQL store needs psycopg 3 (pip install 'cwlpilot[postgres]'): "
                             f"{exc}") from None
        return PostgresStore(url, lease=lease)
    from cwlpilot.executor.store.sqlite import SQLiteStore

    return SQLiteStore(sqlite_path(url))
