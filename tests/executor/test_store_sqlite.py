"""executor.store.sqlite and the store URLs: what only the SQLite store does (the contract is test_store.py)."""

import pytest

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store import open_store, store_exists


def test_store_urls(tmp_path):
    with pytest.raises(StoreError, match="unknown store URL"):
        open_store("redis://localhost")
    with pytest.raises(StoreError, match="needs an absolute path"):
        open_store("sqlite://rel.db")
    url = f"sqlite:///{tmp_path}/a/run.db"
    assert not store_exists(url)
    open_store(url).close()
    assert store_exists(url) and store_exists(str(tmp_path / "a" / "run.db"))


def test_a_store_of_the_previous_format_gets_the_batch_job_column(tmp_path):
    import sqlite3

    path = tmp_path / "old.db"
    db = sqlite3.connect(path)
    db.executescript("CREATE TABLE pilots (id INTEGER PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, "
                     "pid_started REAL NOT NULL, started REAL NOT NULL, heartbeat REAL NOT NULL, "
                     "ended INTEGER NOT NULL DEFAULT 0, cpu REAL NOT NULL, mem REAL NOT NULL);"
                     "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "INSERT INTO meta VALUES ('store_version', '3');"
                     "INSERT INTO pilots (host, pid, pid_started, started, heartbeat, cpu, mem) "
                     "VALUES ('h', 1, 0, 0, 0, 1, 1);")
    db.close()
    store = open_store(str(path))
    assert [(p.host, p.batch_job) for p in store.pilots()] == [("h", "")]
    store.close()
