"""The PostgreSQL store: one run shared by pilots on any number of hosts, with the SQLite store's guarantees.

Concurrency. Pilots' transactions run side by side (READ COMMITTED); what SQLite's single writer gave for
free is made explicit:
- a claim takes a stage only while it is still ready, in a row update: two pilots never take the same stage
  (the second finds it taken and picks again; pg_batch says how a pick is checked against the queue as it
  stands); the general path reads the queue with `FOR UPDATE SKIP LOCKED`, passing over others' picks;
- a stage's semaphore is an advisory lock held until the claim commits, so two stages sharing it are never
  claimed at once, whichever pilots claim them;
- transactions that change the graph's shape (loading a plan, resets, stages added at run time) take the
  run's advisory lock exclusively; every other write takes it shared.
Counting a finished stage off its dependents is a row update, so concurrent ends are counted exactly once.

Waking. A transaction that makes stages ready (or stops the run) sends NOTIFY on the run's channel; idle
pilots wait for it (`idle_wait`) instead of polling.

Connection loss. Every call retries with back-off until the database answers again. A transaction whose
COMMIT got no answer may have happened: a cycle or claim then re-validates against the store which claims
this pilot holds (those it does not know of are the lost commit's, and are taken as made; results it sent
are accepted only if recorded). A pilot that cannot reach the store for half its heartbeat timeout raises
`StoreUnavailable`, so it stops its stages before other pilots may take them over; one found presumed dead
on reconnecting raises at once. So a pilot never runs a stage whose claim it lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store import pg_batch
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
    SyncReport,
)
from cwlpilot.executor.store.pg_connection import (
    RETRY_AT_ONCE,
    Backoff,
    PgConnection,
    StoreUnavailable,
    connect,
    connection_lost,
    first_line,
    lock_key,
    redact,
    split_url,
)
from cwlpilot.executor.store.sql import SQLStore

T = TypeVar("T")


class PostgresStore(SQLStore):
    def __init__(self, url: str, lease: float = 60.0) -> None:
        """`lease`: the heartbeat timeout other pilots apply to this one (see the module's docstring)."""
        self.url = url
        self.conninfo, self.schema = split_url(url)
        self.lease = lease
        self.run_key = lock_key(self.schema)
        self._pilot: int | None = None
        self._beat_ok = time.monotonic()
        self._held: set[int] = set()  # attempts handed to this pilot and not finished
        self._notify = False
        self._queue: list[ReadyStage] | None = None  # the ready stages the last cycle read
        try:  # the first connection fails at once: a wrong URL is not an outage to wait out
            self.db = self._open()
        except psycopg.Error as exc:
            raise StoreError(f"{self}: cannot connect to the store: {first_line(exc)}") from None
        self._retry(self._check_version)

    def __str__(self) -> str:
        return redact(self.url)

    def _open(self) -> PgConnection:
        return connect(self.conninfo, self.schema)

    def close(self) -> None:
        self.db.conn.close()

    # -- transactions and retries -----------------------------------------------------------------
    @contextmanager
    def _tx(self, exclusive: bool = False) -> Iterator[PgConnection]:
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        self._notify = False
        db = self.db
        db.execute(f"BEGIN; SELECT {lock}({self.run_key}, 0)")
        try:
            yield db
        except BaseException:
            if not db.broken:
                db.execute("ROLLBACK")
            raise
        db.execute(f'SELECT pg_notify(\'{self.schema}\', \'\'); COMMIT' if self._notify else "COMMIT")

    def _released(self) -> None:
        self._notify = True

    def _lock_semaphores(self, db: PgConnection, names: Sequence[str]) -> None:
        for name in names:  # sorted by the caller: two pilots never wait for each other in a circle
            db.execute("SELECT pg_advisory_xact_lock(?, ?)", (self.run_key, lock_key(f"semaphore:{name}")))

    def _retry(self, op: Callable[[], T], recover: Callable[[], T | None] | None = None) -> T:
        """Run `op`; on a lost connection reconnect with back-off and run it again, unless `recover` finds
        that the lost attempt took effect (then its answer is returned). The checks after reconnecting may
        lose the connection again: they are retried the same way."""
        backoff: Backoff | None = None
        reconnected = False
        while True:
            try:
                if reconnected:
                    self._check_alive()
                    answer = recover() if recover is not None else None
                    reconnected = False
                    if answer is not None:
                        return answer
                return op()
            except RETRY_AT_ONCE:
                continue  # a deadlock between pilots: PostgreSQL rolled this one back; run it again
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                if not connection_lost(exc, self.db):
                    raise StoreError(f"{self}: {first_line(exc)}") from None
                if backoff is None:
                    backoff = Backoff(self._give_up_at())
                self._reconnect(backoff, exc)
                reconnected = True
            except psycopg.Error as exc:
                raise StoreError(f"{self}: {first_line(exc)}") from None

    def _give_up_at(self) -> float:
        if self._pilot is not None:  # stop before other pilots may take this one's stages over
            return self._beat_ok + self.lease / 2
        return time.monotonic() + self.lease

    def _reconnect(self, backoff: Backoff, exc: BaseException) -> None:
        first = exc
        while True:
            if not backoff.wait():
                stage_note = "; this pilot stops its stages before other pilots take them over" \
                    if self._pilot is not None else ""
                raise StoreUnavailable(f"{self}: lost the connection to the store ({first_line(first)}) and "
                                       f"could not connect again{stage_note}: {first_line(exc)}") from None
            try:
                self.db.conn.close()
                self.db = self._open()
                return
            except psycopg.Error as again:
                exc = again

    def _check_alive(self) -> None:
        """After reconnecting: a pilot presumed dead meanwhile must stop at once (its stages are others')."""
        if self._pilot is None:
            return
        row = self.db.execute("SELECT ended FROM pilots WHERE id = ?", (self._pilot,)).fetchone()
        if row is None or row[0]:
            raise StoreError(f"{self}: this pilot was presumed dead while the store was out of reach; "
                             "its stages were given to other pilots")

    # -- every public call goes through _retry --------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        parent = super().get_meta
        return self._retry(lambda: parent(key))

    def sync_plan(self, rows: Sequence[StageRow], meta: dict[str, str]) -> SyncReport:
        parent = super().sync_plan
        report = self._retry(lambda: parent(rows, meta))
        # Fresh statistics, or the planner takes the run's tables for empty and reads the whole ready queue
        # to find its best few stages (a sort of every ready stage, instead of the rank index's first rows)
        self._retry(lambda: self.db.execute("ANALYZE stages, edges"))
        return report

    def set_wanted(self, names: Iterable[str] | None) -> None:
        parent, names = super().set_wanted, None if names is None else list(names)
        self._retry(lambda: parent(names))

    def reset_from(self, names: Iterable[str]) -> list[str]:
        parent, names = super().reset_from, list(names)
        return self._retry(lambda: parent(names))

    def reset_unfinished(self) -> None:
        self._retry(super().reset_unfinished)

    def request_stop(self, reason: str) -> None:
        parent = super().request_stop
        self._retry(lambda: parent(reason))

    def progress(self) -> Progress:
        return self._retry(super().progress)

    def register_pilot(self, host: str, pid: int, pid_started: float, cpu: float, mem: float,
                       batch_job: str = "") -> int:
        parent = super().register_pilot
        self._pilot = self._retry(lambda: parent(host, pid, pid_started, cpu, mem, batch_job))
        self._beat_ok = time.monotonic()
        return self._pilot

    def heartbeat(self, pilot: int) -> bool:
        parent = super().heartbeat
        alive = self._retry(lambda: parent(pilot))
        if alive and pilot == self._pilot:
            self._beat_ok = time.monotonic()
        return alive

    def end_pilot(self, pilot: int) -> None:
        parent = super().end_pilot
        self._retry(lambda: parent(pilot))
        self._no_longer(pilot)

    def _no_longer(self, pilot: int) -> None:
        """This connection's pilot has ended: what it does next (reports) is not a pilot's work."""
        if pilot == self._pilot:
            self._pilot = None
            self._held.clear()

    def pilots(self) -> list[PilotRecord]:
        return self._retry(super().pilots)

    def running_attempts(self, pilot: int) -> list[int]:
        parent = super().running_attempts
        return self._retry(lambda: parent(pilot))

    def requeue_pilot(self, pilot: int, reason: str) -> list[int]:
        parent = super().requeue_pilot
        lost = self._retry(lambda: parent(pilot, reason))
        self._no_longer(pilot)
        return lost

    def ready(self, limit: int) -> list[ReadyStage]:
        parent = super().ready
        return self._retry(lambda: parent(limit))

    def failure_may_be_handled(self, name: str) -> bool:
        parent = super().failure_may_be_handled
        return self._retry(lambda: parent(name))

    def stage_specs(self, ids: Iterable[int]) -> dict[int, str]:
        parent, ids = super().stage_specs, list(ids)
        return self._retry(lambda: parent(ids))

    def attempts(self) -> list[Attempt]:
        return self._retry(super().attempts)

    def statuses(self) -> list[StageStatus]:
        return self._retry(super().statuses)

    # -- claims and ends --------------------------------------------------------------------------
    def claim(self, pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Claim]:
        def op() -> list[Claim]:
            with self._tx() as db:
                return self._claim(db, pilot, requests, now)

        claims = self._retry(op, recover=lambda: self._recover(pilot, [])[1] or None)
        self._held.update(c.attempt_id for c in claims)
        return claims

    def finish(self, pilot: int, results: Sequence[Finish]) -> list[bool]:
        def op() -> list[bool]:
            with self._tx(exclusive=any(r.expansion is not None for r in results)) as db:
                return self._finish(db, pilot, results)

        accepted = self._retry(op, recover=lambda: self._recover_finish(pilot, results))
        self._held.difference_update(r.attempt_id for r in results)
        return accepted

    def cycle(self, pilot: int, results: Sequence[Finish], pick: Picker, limit: int,
              now: float) -> tuple[list[bool], list[Claim]]:
        """`finish`, then `pick` among the best `limit` ready stages and claim them: usually one statement and
        one round trip (pg_batch), the pick made on the queue the previous cycle read and claimed only if that
        is still the queue after this cycle's ends; otherwise a second call picks on the fresh queue. Stages
        adding others take the general path, one transaction under the run's exclusive lock."""
        general = any(r.expansion is not None for r in results)

        def op() -> tuple[list[bool], list[Claim]]:
            if general:
                self._queue = None
                with self._tx(exclusive=True) as db:
                    accepted = self._finish(db, pilot, results)
                    requests = pick(self._ready_locked(db, limit)) if limit > 0 else []
                    return accepted, self._claim(db, pilot, requests, now) if requests else []
            return self._fast_cycle(pilot, results, pick, limit, now)

        def recover() -> tuple[list[bool], list[Claim]] | None:
            self._queue = None
            accepted, claims = self._recover(pilot, results)
            if accepted is None:
                return None
            if not claims and limit > 0:  # the ends committed in a call of their own: the pick is still to make
                claims = self._locked_pick(pilot, pick, limit, now)
            return accepted, claims

        accepted, claims = self._retry(op, recover=recover)
        self._held.difference_update(r.attempt_id for r in results)
        self._held.update(c.attempt_id for c in claims)
        return accepted, claims

    def _ready_locked(self, db: PgConnection, limit: int) -> list[ReadyStage]:
        return [ReadyStage(*row) for row in db.execute(self.READY_QUERY + " FOR UPDATE OF stages SKIP LOCKED",
                                                       (limit,))]

    CACHE = 8  # ready stages read for the next cycle's pick, at least (twice the stages this one may pick)

    def _fast_cycle(self, pilot: int, results: Sequence[Finish], pick: Picker, limit: int,
                    now: float) -> tuple[list[bool], list[Claim]]:
        cached, self._queue = self._queue, None  # out of date until this cycle's answer says otherwise
        offered = cached[:limit] if cached is not None and limit > 0 else []
        requests = self._plain(pick(offered)) if offered else []
        # the cached queue beyond the picks serves the next pick unread while it offers `limit` stages: the
        # server's check makes a pick on it safe, however old, and a pick on a queue out of date is made again
        rest = None
        if requests and cached:
            picked = {q.stage_id for q in requests}
            rest = [r for r in cached if r.id not in picked]
        read = rest is None or len(rest) < limit
        answer = self._call(pilot, results, offered, requests, limit, now, read)
        if answer.free:  # dependents whose decision needs the condition grammar: the queue read is out of date
            with self._tx() as db:
                self._decide(db, answer.free)
        claims = list(answer.claims or [])
        queue = None if answer.free else answer.queue if read or answer.claims is None else rest
        collided = requests is not None and len(claims) < len(requests)
        while limit > 0:  # room left (a stale pick, picks taken by others, stages new in the queue): pick again
            # after a collision with other pilots (picks taken first, or made on a queue they changed), the
            # queue is read and locked in the claim's transaction: pilots racing for the same stages would
            # collide again on what they read
            if queue is None or requests is None or collided:
                return answer.accepted, claims + self._locked_pick(pilot, pick, limit, now, claims)
            offered = queue[:limit]
            requests = self._plain(pick(offered, claims))
            if requests == []:
                break
            if requests is not None:
                again = self._call(pilot, (), offered, requests, limit, now)
                claims += again.claims or []
                collided = len(again.claims or []) < len(requests)
                queue = again.queue
        self._queue = queue
        return answer.accepted, claims

    def _locked_pick(self, pilot: int, pick: Picker, limit: int, now: float,
                     held: Sequence[Claim] = ()) -> list[Claim]:
        """The general path: the queue read and locked in the claim's transaction. What it read and did not
        claim is the next cycle's queue (less what other pilots were claiming: those rows were locked)."""
        with self._tx() as db:
            ready = self._ready_locked(db, self._cache_size(limit))
            requests = pick(ready[:limit], held)
            claims = self._claim(db, pilot, requests, now) if requests else []
        taken = {r.stage_id for r in requests}
        self._queue = [r for r in ready if r.id not in taken]
        return claims

    def _cache_size(self, limit: int) -> int:
        """Ready stages to read for the next cycle's pick (none when this one may pick none)."""
        return max(2 * limit, self.CACHE) if limit > 0 else 0

    @staticmethod
    def _plain(requests: list[ClaimRequest]) -> list[ClaimRequest] | None:
        """The picks, or None when one has a semaphore (claimed on the general path, under its lock)."""
        return None if any(r.semaphore is not None for r in requests) else requests

    def _call(self, pilot: int, results: Sequence[Finish], offered: list[ReadyStage],
              requests: list[ClaimRequest] | None, limit: int, now: float, read: bool = True) -> pg_batch.Answer:
        """One cycle statement: record `results`, claim `requests` if `offered` is still the queue's head;
        read the queue if `read` (or the picks are refused)."""
        ids = [r.id for r in offered] if requests else None
        params = pg_batch.cycle_params(self.run_key, self.schema, pilot, now, results, ids, requests or [],
                                       limit, self._cache_size(limit), read)
        rows = self.db.conn.execute(pg_batch.CYCLE, params, prepare=True).fetchall()
        return pg_batch.read_cycle(rows, results, requests or [], ids is not None)

    def _decide(self, db: PgConnection, free: Sequence[int]) -> None:
        self._released()
        for child in free:
            if not graph.decide(db, child, cascade=False):
                graph.stage_ended(db, child)  # skipped: count it off its own dependents

    def _recover_finish(self, pilot: int, results: Sequence[Finish]) -> list[bool] | None:
        return self._recover(pilot, results)[0]

    def _recover(self, pilot: int, results: Sequence[Finish]) -> tuple[list[bool] | None, list[Claim]]:
        """After a lost connection: did the transaction that sent `results` (and made claims) commit?

        Its results were all recorded or none (one transaction); claims this pilot holds in the store but
        was never told of are its claims. Returns (accepted or None when it did not commit, its claims)."""
        rows = self.db.execute(
            "SELECT a.id, s.id, a.stage, a.number, s.counted, a.cpu, a.mem, a.backfill, s.mem_factor, "
            "s.time_factor, s.retry_limit FROM attempts a JOIN stages s ON s.name = a.stage "
            "WHERE a.pilot = ? AND a.state = 'running' ORDER BY a.id", (pilot,)).fetchall()
        sent = {r.attempt_id for r in results}
        unknown = [Claim(int(a), int(s), n, num, c, cpu, mem, bool(b), mf, tf, rl)
                   for a, s, n, num, c, cpu, mem, b, mf, tf, rl in rows if a not in self._held and a not in sent]
        if any(a in sent for a, *_ in rows):  # a result still running: nothing of that transaction happened
            for claim in unknown:  # cannot be: claims and results commit together
                raise StoreError(f"{self}: attempt {claim.attempt_id} is held by this pilot unknown to it")
            return None, []
        if not results and not unknown:
            return None, []  # nothing to tell: doing it again is harmless
        states = dict(self.db.execute(
            "SELECT id, state FROM attempts WHERE id IN (" + ",".join("?" * len(sent)) + ")",
            list(sent)).fetchall()) if sent else {}
        return [states.get(r.attempt_id) in ("done", "failed", "retried") for r in results], unknown

    def _finish(self, db: Any, pilot: int, results: Sequence[Finish]) -> list[bool]:
        """Every end in one call (pg_batch); stages adding others take the general path."""
        if not results or any(r.expansion is not None for r in results):
            return super()._finish(db, pilot, results)
        self._queue = None
        params = pg_batch.cycle_params(self.run_key, self.schema, pilot, 0.0, results, None, [], 0, 0)
        answer = pg_batch.read_cycle(db.conn.execute(pg_batch.CYCLE, params).fetchall(), results, [], False)
        if answer.free:
            self._decide(db, answer.free)
        return answer.accepted

    def _claim(self, db: Any, pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Claim]:
        """Claims without a semaphore in one call (pg_batch); those with one, one by one under its lock
        (each must see the ones before it)."""
        plain = [r for r in requests if r.semaphore is None]
        out = super()._claim(db, pilot, [r for r in requests if r.semaphore is not None], now)
        if not plain:
            return out
        rows = db.conn.execute(pg_batch.CLAIM, pg_batch.claim_params(pilot, plain, now)).fetchall()
        return out + pg_batch.read_claims(rows, plain)

    # -- waiting ----------------------------------------------------------------------------------
    def idle_wait(self, poll: float, longest: float) -> None:
        """Wait for a NOTIFY on the run's channel (or one already received), at most `longest` seconds."""
        def wait() -> None:
            for _ in self.db.conn.notifies(timeout=max(0.0, longest), stop_after=1):
                break

        self._retry(wait)
