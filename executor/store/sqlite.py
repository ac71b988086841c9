"""The SQLite store: one database file per run, in WAL mode, shared by every pilot on the machine.

WAL with synchronous=NORMAL keeps every committed transition across a SIGKILL of any process (only an
operating-system crash or power loss may drop the last commits). The file must be on a local disk:
SQLite's locking is not reliable on NFS, Lustre or GPFS; pilots on other nodes need a server store.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store.base import Claim, Finish, Picker, ReadyStage
from cwlpilot.executor.store.sql import SQLStore

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, spec TEXT NOT NULL, fingerprint TEXT NOT NULL,
  rank REAL NOT NULL, state TEXT NOT NULL, wanted INTEGER NOT NULL DEFAULT 1,
  remaining INTEGER NOT NULL DEFAULT 0, cpu REAL NOT NULL, mem REAL NOT NULL, relative_cpu REAL,
  semaphore TEXT, retry_count INTEGER NOT NULL DEFAULT 0, counted INTEGER NOT NULL DEFAULT 0,
  mem_factor REAL NOT NULL DEFAULT 1, time_factor REAL NOT NULL DEFAULT 1, retry_limit INTEGER,
  tries INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', condition TEXT,
  handled INTEGER NOT NULL DEFAULT 0, origin TEXT, cause TEXT);
DROP INDEX IF EXISTS stages_ready;
CREATE INDEX IF NOT EXISTS stages_ready_rank ON stages(rank) WHERE state = 'ready';
CREATE INDEX IF NOT EXISTS stages_running_semaphore ON stages(semaphore)
  WHERE state = 'running' AND semaphore IS NOT NULL;
CREATE INDEX IF NOT EXISTS stages_origin ON stages(origin);
CREATE TABLE IF NOT EXISTS expansions (id INTEGER PRIMARY KEY, spawner TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edges (parent INTEGER NOT NULL, child INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS edges_parent ON edges(parent);
CREATE INDEX IF NOT EXISTS edges_child ON edges(child);
CREATE TABLE IF NOT EXISTS attempts (
  id INTEGER PRIMARY KEY, stage TEXT NOT NULL, number INTEGER NOT NULL, pilot INTEGER NOT NULL,
  state TEXT NOT NULL, start REAL NOT NULL, "end" REAL, exit_code INTEGER, failure TEXT,
  cpu REAL NOT NULL, mem REAL NOT NULL, peak_mem REAL, cpu_time REAL, log TEXT,
  backfill INTEGER NOT NULL DEFAULT 0, rule TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS attempts_stage ON attempts(stage);
CREATE TABLE IF NOT EXISTS pilots (
  id INTEGER PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, pid_started REAL NOT NULL,
  started REAL NOT NULL, heartbeat REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0,
  cpu REAL NOT NULL, mem REAL NOT NULL, batch_job TEXT NOT NULL DEFAULT '');
"""



def _private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds every stage's environment (tokens,
    passwords). SQLite gives its -wal, -shm and -journal files the database file's permissions."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:  # a store made by an older version, or by hand
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SQLiteStore(SQLStore):
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _private(self.path)
            # The pilot's loop uses the connection from a thread of its own, never at the same time as the
            # thread that opened it (executor.pilot._in_fresh_thread).
            self.db = sqlite3.connect(str(self.path), isolation_level=None, timeout=60.0, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(pilots)")}
            if "batch_job" not in columns:  # a store written before pilots recorded their batch job
                self.db.execute("ALTER TABLE pilots ADD COLUMN batch_job TEXT NOT NULL DEFAULT ''")
            self._check_version()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from None
        # The ready stages as last read, best rank first, and the database version they were read at (see
        # `cycle`); None when they must be read again.
        self._ready: list[ReadyStage] | None = None
        self._ready_all = False  # the last read found fewer ready stages than it asked for: that was all
        self._ready_version = -1

    def __str__(self) -> str:
        return str(self.path)

    @contextmanager
    def _tx(self, exclusive: bool = False, keeps_ready: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (IMMEDIATE) so that pilots never deadlock upgrading; SQLite
        has one writer at a time, so every transaction is exclusive. Unless the caller keeps the cached
        ready stages up to date itself (`keeps_ready`), they are dropped."""
        if not keeps_ready:
            self._ready = None
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self._ready = None
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _released(self) -> None:
        self._ready = None

    def close(self) -> None:
        self.db.close()

    def cycle(self, pilot: int, results: Sequence[Finish], pick: Picker, limit: int,
              now: float) -> tuple[list[bool], list[Claim]]:
        """Record `results` and claim what `pick` chooses among the best `limit` ready stages, in one
        transaction.

        The ready stages are read in batches and kept between cycles while nothing could have changed
        them: no stage this pilot recorded released or re-queued another, and no other connection wrote
        (SQLite's data_version). A pilot running alone then reads the queue once per batch instead of once
        per stage, the query that was a fifth of the store's time per stage."""
        with self._tx(keeps_ready=True) as db:
            accepted = self._finish(db, pilot, results) if results else []
            if limit <= 0:
                return accepted, []
            requests = pick(self._best_ready(db, limit))
            claims = self._claim(db, pilot, requests, now) if requests else []
            if self._ready is not None and requests:  # claimed now, or found taken by another pilot
                self._ready = _without(self._ready, {r.stage_id for r in requests})
            return accepted, claims

    READY_BATCH = 64

    def _best_ready(self, db: sqlite3.Connection, limit: int) -> list[ReadyStage]:
        version = db.execute("PRAGMA data_version").fetchone()[0]
        cached = self._ready
        if cached is None or version != self._ready_version or (len(cached) < limit and not self._ready_all):
            size = max(limit, self.READY_BATCH)
            cached = self._ready = [ReadyStage(*row) for row in db.execute(self.READY_QUERY, (size,))]
            self._ready_all, self._ready_version = len(cached) < size, version
        return cached[:limit]


def _without(ready: list[ReadyStage], taken: set[int]) -> list[ReadyStage]:
    """`ready` less the stages in `taken`, which are usually its first entries."""
    head = 0
    while head < len(ready) and ready[head].id in taken:
        head += 1
    if head == len(taken):
        return ready[head:]
    return [r for r in ready[head:] if r.id not in taken]
