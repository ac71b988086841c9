"""The SQLite store: one database file per run, in WAL mode, shared by every pilot on the machine.

WAL with synchronous=NORMAL keeps every committed transition across a SIGKILL of any process (only an
operating-system crash or power loss may drop the last commits). The file must be on a local disk:
SQLite's locking is not reliable on NFS, Lustre or GPFS; pilots on other nodes need a server store.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.graph import downstream
from cwlpilot.executor.store import sqlite_graph as graph
from cwlpilot.executor.store.base import (
    Attempt,
    Claim,
    ClaimRequest,
    Finish,
    Picker,
    PilotRecord,
    Progress,
    ReadyStage,
    StageRow,
    StageStatus,
    State,
    Store,
    SyncReport,
)

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
  state TEXT NOT NULL, start REAL NOT NULL, end REAL, exit_code INTEGER, failure TEXT,
  cpu REAL NOT NULL, mem REAL NOT NULL, peak_mem REAL, cpu_time REAL, log TEXT,
  backfill INTEGER NOT NULL DEFAULT 0, rule TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS attempts_stage ON attempts(stage);
CREATE TABLE IF NOT EXISTS pilots (
  id INTEGER PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, pid_started REAL NOT NULL,
  started REAL NOT NULL, heartbeat REAL NOT NULL, ended INTEGER NOT NULL DEFAULT 0,
  cpu REAL NOT NULL, mem REAL NOT NULL);
"""

STORE_VERSION = "3"


def _private(path: Path) -> None:
    """Create the database file readable by its owner only: it holds every stage's environment (tokens,
    passwords). SQLite gives its -wal, -shm and -journal files the database file's permissions."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        if os.fstat(fd).st_mode & 0o077:  # a store made by an older version, or by hand
            os.fchmod(fd, 0o600)
    finally:
        os.close(fd)


class SQLiteStore(Store):
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
            version = self.get_meta("store_version")
            if version is None and self.db.execute("SELECT count(*) FROM stages").fetchone()[0] == 0:
                self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('store_version', ?)",
                                (STORE_VERSION,))
            elif version != STORE_VERSION:
                raise StoreError(f"{self.path}: this store was written by another version of cwlpilot "
                                 f"(store format {version or 1}, this one reads {STORE_VERSION}); "
                                 "use a new workdir or --store")
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"{self.path}: cannot open the store: {exc}") from None
        # The ready stages as last read, best rank first, and the database version they were read at (see
        # `cycle`); None when they must be read again.
        self._ready: list[ReadyStage] | None = None
        self._ready_all = False  # the last read found fewer ready stages than it asked for: that was all
        self._ready_version = -1

    @contextmanager
    def _tx(self, keeps_ready: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (IMMEDIATE) so that pilots never deadlock upgrading.
        Unless the caller keeps the cached ready stages up to date itself (`keeps_ready`), they are dropped."""
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

    def close(self) -> None:
        self.db.close()

    # -- the run ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def sync_plan(self, rows: Sequence[StageRow], meta: dict[str, str]) -> SyncReport:
        with self._tx() as db:
            old = {name: (fp, state) for name, fp, state in
                   db.execute("SELECT name, fingerprint, state FROM stages WHERE origin IS NULL")}
            old_states = dict(db.execute("SELECT name, state FROM stages").fetchall())
            tries = dict(db.execute("SELECT stage, max(number) FROM attempts GROUP BY stage").fetchall())
            changed = [r.name for r in rows if r.name not in old or old[r.name][0] != r.fingerprint]
            stale = downstream(rows, changed)  # type: ignore[arg-type]
            keep = {r.name for r in rows if r.name not in stale and old.get(r.name, ("", ""))[1] == "done"}
            rerun = sorted(n for n in stale if old.get(n, ("", ""))[1] == "done")
            removed = len(set(old) - {r.name for r in rows})
            db.execute("DELETE FROM stages")
            db.execute("DELETE FROM edges")
            graph.insert_rows(db, rows, {n: "done" for n in keep}, tries)
            graph.replay_expansions(db, old_states, tries)
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", sorted(meta.items()))
            db.execute("DELETE FROM meta WHERE key = 'stop'")
            graph.recount(db)
        return SyncReport(kept=len(keep), rerun=rerun, added=sum(1 for r in rows if r.name not in old),
                          removed=removed)

    def set_wanted(self, names: Iterable[str] | None) -> None:
        with self._tx() as db:
            if names is None:
                db.execute("UPDATE stages SET wanted = 1 WHERE wanted = 0")  # rows left alone are not rewritten
                return
            db.execute("UPDATE stages SET wanted = 0 WHERE wanted = 1")
            db.executemany("UPDATE stages SET wanted = 1 WHERE name = ?", [(n,) for n in names])
            # stages added at run time by a wanted stage are wanted too
            db.execute("UPDATE stages SET wanted = 1 WHERE origin IN (SELECT name FROM stages WHERE wanted = 1)")

    def reset_from(self, names: Iterable[str]) -> list[str]:
        with self._tx() as db:
            roots = list(graph.ids_of(db, names).values())
            if not roots:
                return []
            marks = ",".join("?" * len(roots))
            down = [n for (n,) in db.execute(
                f"WITH RECURSIVE down(id) AS (SELECT id FROM stages WHERE id IN ({marks}) "
                "UNION SELECT e.child FROM edges e JOIN down d ON e.parent = d.id) "
                "SELECT name FROM stages WHERE id IN (SELECT id FROM down)", roots)]
            graph.drop_added_by(db, down)
            db.executemany(
                "UPDATE stages SET state = 'pending', counted = 0, mem_factor = 1, time_factor = 1, "
                "retry_limit = NULL, handled = 0, cause = NULL, reason = '' WHERE name = ? AND state != 'running'",
                [(n,) for n in down])
            graph.recount(db)
        return sorted(down)

    def reset_unfinished(self) -> None:
        with self._tx() as db:
            cur = db.execute("UPDATE stages SET state = 'pending', counted = 0, mem_factor = 1, time_factor = 1, "
                             "retry_limit = NULL, handled = 0, cause = NULL, reason = '' "
                             "WHERE state IN ('failed', 'skipped')")
            db.execute("DELETE FROM meta WHERE key = 'stop'")
            if cur.rowcount:  # counting again is a pass over every stage: only when something changed
                graph.recount(db)

    def request_stop(self, reason: str) -> None:
        with self._tx() as db:
            db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('stop', ?)", (reason,))

    def progress(self) -> Progress:
        counts = {State(s): n for s, n in
                  self.db.execute("SELECT state, count(*) FROM stages WHERE wanted = 1 GROUP BY state")}
        return Progress(counts=counts, stop_reason=self.get_meta("stop"))

    # -- pilots -----------------------------------------------------------------------------------
    def register_pilot(self, host: str, pid: int, pid_started: float, cpu: float, mem: float) -> int:
        now = time.time()
        with self._tx() as db:
            cur = db.execute("INSERT INTO pilots (host, pid, pid_started, started, heartbeat, cpu, mem) "
                             "VALUES (?,?,?,?,?,?,?)", (host, pid, pid_started, now, now, cpu, mem))
            return int(cur.lastrowid or 0)

    def heartbeat(self, pilot: int) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE pilots SET heartbeat = ? WHERE id = ? AND ended = 0", (time.time(), pilot))
            return cur.rowcount == 1

    def end_pilot(self, pilot: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE pilots SET ended = 1 WHERE id = ?", (pilot,))

    def pilots(self) -> list[PilotRecord]:
        return [PilotRecord(i, h, p, ps, hb, bool(e)) for i, h, p, ps, hb, e in
                self.db.execute("SELECT id, host, pid, pid_started, heartbeat, ended FROM pilots")]

    def running_attempts(self, pilot: int) -> list[int]:
        return [i for (i,) in self.db.execute(
            "SELECT id FROM attempts WHERE pilot = ? AND state = 'running'", (pilot,))]

    def requeue_pilot(self, pilot: int, reason: str) -> list[int]:
        with self._tx() as db:
            db.execute("UPDATE pilots SET ended = 1 WHERE id = ?", (pilot,))
            lost = db.execute("SELECT id, stage FROM attempts WHERE pilot = ? AND state = 'running'",
                              (pilot,)).fetchall()
            db.execute("UPDATE attempts SET state = 'lost', end = ?, rule = ? WHERE pilot = ? AND state = 'running'",
                       (time.time(), reason, pilot))
            db.executemany("UPDATE stages SET state = 'ready' WHERE name = ? AND state = 'running'",
                           [(name,) for _, name in lost])
        return [i for i, _ in lost]

    # -- scheduling -------------------------------------------------------------------------------
    def ready(self, limit: int) -> list[ReadyStage]:
        return self._read_ready(self.db, limit)

    @staticmethod
    def _read_ready(db: sqlite3.Connection, limit: int) -> list[ReadyStage]:
        rows = db.execute(
            "SELECT id, name, cpu, mem, relative_cpu, semaphore, mem_factor FROM stages "
            "WHERE state = 'ready' AND wanted = 1 AND (semaphore IS NULL OR semaphore NOT IN "
            "(SELECT semaphore FROM stages WHERE state = 'running' AND semaphore IS NOT NULL)) "
            "ORDER BY rank LIMIT ?", (limit,))
        return [ReadyStage(*row) for row in rows]

    def claim(self, pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Claim]:
        with self._tx() as db:
            return self._claim(db, pilot, requests, now)

    def finish(self, pilot: int, results: Sequence[Finish]) -> list[bool]:
        with self._tx() as db:
            return self._finish(db, pilot, results)

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
            cached = self._ready = self._read_ready(db, size)
            self._ready_all, self._ready_version = len(cached) < size, version
        return cached[:limit]

    def _claim(self, db: sqlite3.Connection, pilot: int, requests: Sequence[ClaimRequest],
               now: float) -> list[Claim]:
        out = []
        for req in requests:
            if req.semaphore is not None and db.execute(
                    "SELECT 1 FROM stages WHERE semaphore = ? AND state = 'running'", (req.semaphore,)).fetchone():
                continue
            row = db.execute(
                "UPDATE stages SET state = 'running', tries = tries + 1 "
                "WHERE id = ? AND state = 'ready' AND wanted = 1 "
                "RETURNING name, tries, counted, mem_factor, time_factor, retry_limit", (req.stage_id,)).fetchone()
            if row is None:
                continue
            name, number, counted, mem_factor, time_factor, retry_limit = row
            cur = db.execute(
                "INSERT INTO attempts (stage, number, pilot, state, start, cpu, mem, backfill) "
                "VALUES (?,?,?,'running',?,?,?,?)", (name, number, pilot, now, req.cpu, req.mem, req.backfill))
            out.append(Claim(int(cur.lastrowid or 0), req.stage_id, name, number, counted, req.cpu, req.mem,
                             req.backfill, mem_factor, time_factor, retry_limit))
        return out

    def _finish(self, db: sqlite3.Connection, pilot: int, results: Sequence[Finish]) -> list[bool]:
        accepted = []
        for r in results:
            cur = db.execute(
                "UPDATE attempts SET state = ?, end = ?, exit_code = ?, failure = ?, peak_mem = ?, "
                "cpu_time = ?, log = ?, rule = ? WHERE id = ? AND pilot = ? AND state = 'running'",
                ("done" if r.ok else "retried" if r.retry else "failed", r.end, r.exit_code, r.failure,
                 r.peak_mem, r.cpu_time, r.log, r.rule, r.attempt_id, pilot))
            accepted.append(cur.rowcount == 1)
            if cur.rowcount == 1 and self._end_stage(db, r):
                self._ready = None
        return accepted

    @staticmethod
    def _end_stage(db: sqlite3.Connection, r: Finish) -> bool:
        """Record how the stage ended; True when that may have changed which stages are ready."""
        if r.ok and r.expansion is not None and not SQLiteStore._expand(db, r):
            return True
        if r.ok:
            db.execute("UPDATE stages SET state = 'done', reason = ? WHERE id = ?", (r.reason, r.stage_id))
        elif r.retry:
            db.execute("UPDATE stages SET state = 'ready', counted = counted + 1, mem_factor = ?, "
                       "time_factor = ?, retry_limit = ?, reason = ? WHERE id = ?",
                       (r.mem_factor, r.time_factor, r.retry_limit, r.reason, r.stage_id))
            return True
        else:
            db.execute("UPDATE stages SET state = 'failed', counted = counted + 1, reason = ? WHERE id = ?",
                       (r.reason, r.stage_id))
        return graph.stage_ended(db, r.stage_id) or r.expansion is not None

    @staticmethod
    def _expand(db: sqlite3.Connection, r: Finish) -> bool:
        """Add what the stage added; if that is impossible the stage fails, saying why."""
        assert r.expansion is not None
        name, rank = db.execute("SELECT name, rank FROM stages WHERE id = ?", (r.stage_id,)).fetchone()
        db.execute("SAVEPOINT expand")
        try:
            graph.apply_expansion(db, (r.stage_id, name, rank), r.expansion.stages, r.expansion.needs)
        except StoreError as exc:
            db.execute("ROLLBACK TO expand")
            db.execute("RELEASE expand")
            db.execute("UPDATE stages SET state = 'failed', counted = counted + 1, reason = ? WHERE id = ?",
                       (f"cannot add stages: {exc}", r.stage_id))
            db.execute("UPDATE attempts SET state = 'failed', failure = 'exit' WHERE id = ?", (r.attempt_id,))
            graph.stage_ended(db, r.stage_id)
            return False
        db.execute("RELEASE expand")
        return True

    def failure_may_be_handled(self, name: str) -> bool:
        row = self.db.execute("SELECT id FROM stages WHERE name = ?", (name,)).fetchone()
        return row is not None and graph.failure_may_be_handled(self.db, row[0])

    def stage_specs(self, ids: Iterable[int]) -> dict[int, str]:
        wanted = list(ids)
        out: dict[int, str] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i:i + 500]
            marks = ",".join("?" * len(chunk))
            out.update(self.db.execute(f"SELECT id, spec FROM stages WHERE id IN ({marks})", chunk).fetchall())
        return out

    # -- reports ----------------------------------------------------------------------------------
    def attempts(self) -> list[Attempt]:
        rows = self.db.execute(
            "SELECT a.stage, a.number, a.pilot, coalesce(p.host, ''), a.state, a.start, a.end, a.exit_code, "
            "a.failure, a.cpu, a.mem, a.peak_mem, a.cpu_time, a.log, a.backfill, a.rule "
            "FROM attempts a LEFT JOIN pilots p ON p.id = a.pilot ORDER BY a.id")
        return [Attempt._make((*row[:14], bool(row[14]), row[15])) for row in rows]

    def statuses(self) -> list[StageStatus]:
        rows = self.db.execute("SELECT name, state, counted, reason, wanted, handled FROM stages ORDER BY id")
        return [StageStatus(n, State(s), c, r, bool(w), bool(h)) for n, s, c, r, w, h in rows]


def _without(ready: list[ReadyStage], taken: set[int]) -> list[ReadyStage]:
    """`ready` less the stages in `taken`, which are usually its first entries."""
    head = 0
    while head < len(ready) and ready[head].id in taken:
        head += 1
    if head == len(taken):
        return ready[head:]
    return [r for r in ready[head:] if r.id not in taken]
