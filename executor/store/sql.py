"""What the SQL stores (SQLite, PostgreSQL) share: the transitions of the state machine, written once.

The statements here are understood by both engines as written (`?` placeholders, `ON CONFLICT`, `RETURNING`,
`CAST`, `"end"` quoted because PostgreSQL reserves the word). A subclass provides the connection (`self.db`)
and `_tx`, a write transaction that is atomic across processes; PostgreSQL's connection object translates
the placeholders. What differs between the engines — opening, locking, the claim query, waking idle
pilots — stays in each subclass.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.graph import downstream
from cwlpilot.executor.store import sqlite_graph as graph
from cwlpilot.executor.store.base import (
    Attempt,
    Claim,
    ClaimRequest,
    Finish,
    PilotRecord,
    Progress,
    ReadyStage,
    StageRow,
    StageStatus,
    State,
    Store,
    SyncReport,
)
from cwlpilot.executor.store.sqlite_graph import Connection

STORE_VERSION = "3"

class SQLStore(Store):
    db: Connection

    @abc.abstractmethod
    def _tx(self, exclusive: bool = False) -> AbstractContextManager[Connection]:
        """One write transaction. `exclusive`: it changes the graph's shape (a plan load, a reset, stages
        added): no other transaction may run beside it."""

    def _released(self) -> None:
        """A transaction in progress made stages ready (or may have ended the run): hook for subclasses."""

    def _lock_semaphores(self, db: Connection, names: Sequence[str]) -> None:
        """Hold these semaphores' locks until the transaction ends (where claims can run concurrently)."""

    # -- the run ----------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _check_version(self) -> None:
        version = self.get_meta("store_version")
        if version is None and self.db.execute("SELECT count(*) FROM stages").fetchone()[0] == 0:
            self.db.execute("INSERT INTO meta (key, value) VALUES ('store_version', ?) ON CONFLICT (key) "
                            "DO UPDATE SET value = excluded.value", (STORE_VERSION,))
        elif version != STORE_VERSION:
            raise StoreError(f"{self}: this store was written by another version of cwlpilot "
                             f"(store format {version or 1}, this one reads {STORE_VERSION}); "
                             "use a new workdir or --store")

    def sync_plan(self, rows: Sequence[StageRow], meta: dict[str, str]) -> SyncReport:
        with self._tx(exclusive=True) as db:
            old = {name: (fp, state) for name, fp, state in
                   db.execute("SELECT name, fingerprint, state FROM stages WHERE origin IS NULL")}
            old_states = dict(db.execute("SELECT name, state FROM stages").fetchall())
            # why a finished stage is what it is (a bypass: "skipped: its `when` is false"), kept with it
            reasons = db.execute("SELECT name, reason FROM stages WHERE state = 'done' AND reason <> ''").fetchall()
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
            db.executemany("UPDATE stages SET reason = ? WHERE name = ? AND state = 'done'",
                           [(reason, name) for name, reason in reasons])
            db.executemany("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                           "DO UPDATE SET value = excluded.value", sorted(meta.items()))
            db.execute("DELETE FROM meta WHERE key = 'stop'")
            graph.recount(db)
            self._released()
        return SyncReport(kept=len(keep), rerun=rerun, added=sum(1 for r in rows if r.name not in old),
                          removed=removed)

    def set_wanted(self, names: Iterable[str] | None) -> None:
        with self._tx(exclusive=True) as db:
            self._released()
            if names is None:
                db.execute("UPDATE stages SET wanted = 1 WHERE wanted = 0")  # rows left alone are not rewritten
                return
            db.execute("UPDATE stages SET wanted = 0 WHERE wanted = 1")
            db.executemany("UPDATE stages SET wanted = 1 WHERE name = ?", [(n,) for n in names])
            # stages added at run time by a wanted stage are wanted too
            db.execute("UPDATE stages SET wanted = 1 WHERE origin IN (SELECT name FROM stages WHERE wanted = 1)")

    def reset_from(self, names: Iterable[str]) -> list[str]:
        with self._tx(exclusive=True) as db:
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
            self._released()
        return sorted(down)

    def reset_unfinished(self) -> None:
        with self._tx(exclusive=True) as db:
            cur = db.execute("UPDATE stages SET state = 'pending', counted = 0, mem_factor = 1, time_factor = 1, "
                             "retry_limit = NULL, handled = 0, cause = NULL, reason = '' "
                             "WHERE state IN ('failed', 'skipped')")
            db.execute("DELETE FROM meta WHERE key = 'stop'")
            if cur.rowcount:  # counting again is a pass over every stage: only when something changed
                graph.recount(db)
                self._released()

    def request_stop(self, reason: str) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO meta (key, value) VALUES ('stop', ?) ON CONFLICT (key) DO NOTHING", (reason,))
            self._released()

    def progress(self) -> Progress:
        counts = {State(s): n for s, n in
                  self.db.execute("SELECT state, count(*) FROM stages WHERE wanted = 1 GROUP BY state")}
        return Progress(counts=counts, stop_reason=self.get_meta("stop"))

    # -- pilots -----------------------------------------------------------------------------------
    def register_pilot(self, host: str, pid: int, pid_started: float, cpu: float, mem: float,
                       batch_job: str = "") -> int:
        now = time.time()
        with self._tx() as db:
            row = db.execute("INSERT INTO pilots (host, pid, pid_started, started, heartbeat, cpu, mem, batch_job) "
                             "VALUES (?,?,?,?,?,?,?,?) RETURNING id",
                             (host, pid, pid_started, now, now, cpu, mem, batch_job)).fetchone()
            return int(row[0])

    def heartbeat(self, pilot: int) -> bool:
        with self._tx() as db:
            cur = db.execute("UPDATE pilots SET heartbeat = ? WHERE id = ? AND ended = 0", (time.time(), pilot))
            return cur.rowcount == 1

    def end_pilot(self, pilot: int) -> None:
        with self._tx() as db:
            db.execute("UPDATE pilots SET ended = 1 WHERE id = ?", (pilot,))

    def pilots(self) -> list[PilotRecord]:
        return [PilotRecord(i, h, p, ps, hb, bool(e), bj or "") for i, h, p, ps, hb, e, bj in self.db.execute(
            "SELECT id, host, pid, pid_started, heartbeat, ended, batch_job FROM pilots ORDER BY id")]

    def running_attempts(self, pilot: int) -> list[int]:
        return [i for (i,) in self.db.execute(
            "SELECT id FROM attempts WHERE pilot = ? AND state = 'running'", (pilot,))]

    def requeue_pilot(self, pilot: int, reason: str) -> list[int]:
        with self._tx() as db:
            db.execute("UPDATE pilots SET ended = 1 WHERE id = ?", (pilot,))
            lost = db.execute("UPDATE attempts SET state = 'lost', \"end\" = ?, rule = ? "
                              "WHERE pilot = ? AND state = 'running' RETURNING id, stage",
                              (time.time(), reason, pilot)).fetchall()
            db.executemany("UPDATE stages SET state = 'ready' WHERE name = ? AND state = 'running'",
                           [(name,) for _, name in lost])
            if lost:
                self._released()
        return sorted(i for i, _ in lost)

    # -- scheduling -------------------------------------------------------------------------------
    READY_QUERY = ("SELECT id, name, cpu, mem, relative_cpu, semaphore, mem_factor FROM stages "
                   "WHERE state = 'ready' AND wanted = 1 AND (semaphore IS NULL OR semaphore NOT IN "
                   "(SELECT semaphore FROM stages WHERE state = 'running' AND semaphore IS NOT NULL)) "
                   "ORDER BY rank LIMIT ?")

    def ready(self, limit: int) -> list[ReadyStage]:
        return [ReadyStage(*row) for row in self.db.execute(self.READY_QUERY, (limit,))]

    def claim(self, pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Claim]:
        with self._tx() as db:
            return self._claim(db, pilot, requests, now)

    def finish(self, pilot: int, results: Sequence[Finish]) -> list[bool]:
        with self._tx(exclusive=any(r.expansion is not None for r in results)) as db:
            return self._finish(db, pilot, results)

    def _claim(self, db: Connection, pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Claim]:
        out = []
        self._lock_semaphores(db, sorted({r.semaphore for r in requests if r.semaphore is not None}))
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
            (attempt_id,) = db.execute(
                "INSERT INTO attempts (stage, number, pilot, state, start, cpu, mem, backfill) "
                "VALUES (?,?,?,'running',?,?,?,?) RETURNING id",
                (name, number, pilot, now, req.cpu, req.mem, int(req.backfill))).fetchone()
            out.append(Claim(int(attempt_id), req.stage_id, name, number, counted, req.cpu, req.mem,
                             req.backfill, mem_factor, time_factor, retry_limit))
        return out

    def _finish(self, db: Connection, pilot: int, results: Sequence[Finish]) -> list[bool]:
        accepted = []
        for r in results:
            cur = db.execute(
                "UPDATE attempts SET state = ?, \"end\" = ?, exit_code = ?, failure = ?, peak_mem = ?, "
                "cpu_time = ?, log = ?, rule = ? WHERE id = ? AND pilot = ? AND state = 'running'",
                ("done" if r.ok else "retried" if r.retry else "failed", r.end, r.exit_code, r.failure,
                 r.peak_mem, r.cpu_time, r.log, r.rule, r.attempt_id, pilot))
            accepted.append(cur.rowcount == 1)
            if cur.rowcount == 1 and self._end_stage(db, r):
                self._released()
        return accepted

    def _end_stage(self, db: Connection, r: Finish) -> bool:
        """Record how the stage ended; True when that may have changed which stages are ready."""
        if r.ok and r.expansion is not None and not self._expand(db, r):
            return True
        if r.ok:
            db.execute("UPDATE stages SET state = 'done', reason = ? WHERE id = ?", (r.reason, r.stage_id))
        elif r.retry:
            db.execute("UPDATE stages SET state = 'ready', counted = counted + ?, mem_factor = ?, "
                       "time_factor = ?, retry_limit = ?, reason = ? WHERE id = ?",
                       (1 if r.charged else 0, r.mem_factor, r.time_factor, r.retry_limit, r.reason, r.stage_id))
            return True
        else:
            db.execute("UPDATE stages SET state = 'failed', counted = counted + 1, reason = ? WHERE id = ?",
                       (r.reason, r.stage_id))
        return graph.stage_ended(db, r.stage_id) or r.expansion is not None

    @staticmethod
    def _expand(db: Connection, r: Finish) -> bool:
        """Add what the stage added; if that is impossible the stage fails, saying why."""
        assert r.expansion is not None
        name, rank = db.execute("SELECT name, rank FROM stages WHERE id = ?", (r.stage_id,)).fetchone()
        db.execute("SAVEPOINT expand")
        try:
            graph.apply_expansion(db, (r.stage_id, name, rank), r.expansion.stages, r.expansion.needs)
        except StoreError as exc:
            db.execute("ROLLBACK TO SAVEPOINT expand")
            db.execute("RELEASE SAVEPOINT expand")
            db.execute("UPDATE stages SET state = 'failed', counted = counted + 1, reason = ? WHERE id = ?",
                       (f"cannot add stages: {exc}", r.stage_id))
            db.execute("UPDATE attempts SET state = 'failed', failure = 'exit' WHERE id = ?", (r.attempt_id,))
            graph.stage_ended(db, r.stage_id)
            return False
        db.execute("RELEASE SAVEPOINT expand")
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
            "SELECT a.stage, a.number, a.pilot, coalesce(p.host, ''), a.state, a.start, a.\"end\", a.exit_code, "
            "a.failure, a.cpu, a.mem, a.peak_mem, a.cpu_time, a.log, a.backfill, a.rule "
            "FROM attempts a LEFT JOIN pilots p ON p.id = a.pilot ORDER BY a.id")
        return [Attempt._make((*row[:14], bool(row[14]), row[15])) for row in rows]

    def statuses(self) -> list[StageStatus]:
        rows = self.db.execute("SELECT name, state, counted, reason, wanted, handled FROM stages ORDER BY id")
        return [StageStatus(n, State(s), c, r, bool(w), bool(h)) for n, s, c, r, w, h in rows]
