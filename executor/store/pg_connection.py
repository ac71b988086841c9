"""The PostgreSQL store's connection: URLs and run names, the schema, reconnecting with back-off.

A run lives in a schema of its own, so one database holds any number of runs: the URL's `run` parameter
names it (`postgresql://user@host:5432/db?run=tf2026` -> schema `cwlpilot_tf2026`; without it, schema
`cwlpilot`). Every other part of the URL is psycopg's (libpq's) own: host, port, user, password, sslmode...
"""

from __future__ import annotations

import re
import time
import zlib
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store import pg_batch

RUN_NAME = re.compile(r"[a-z0-9_]{1,40}")

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS stages (
  id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, spec TEXT NOT NULL, fingerprint TEXT NOT NULL,
  rank DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, wanted INTEGER NOT NULL DEFAULT 1,
  remaining INTEGER NOT NULL DEFAULT 0, cpu DOUBLE PRECISION NOT NULL, mem DOUBLE PRECISION NOT NULL,
  relative_cpu DOUBLE PRECISION, semaphore TEXT, retry_count INTEGER NOT NULL DEFAULT 0,
  counted INTEGER NOT NULL DEFAULT 0, mem_factor DOUBLE PRECISION NOT NULL DEFAULT 1,
  time_factor DOUBLE PRECISION NOT NULL DEFAULT 1, retry_limit INTEGER, tries INTEGER NOT NULL DEFAULT 0,
  reason TEXT NOT NULL DEFAULT '', condition TEXT, handled INTEGER NOT NULL DEFAULT 0, origin TEXT, cause TEXT);
CREATE INDEX IF NOT EXISTS stages_ready_rank ON stages(rank) WHERE state = 'ready';
CREATE INDEX IF NOT EXISTS stages_running_semaphore ON stages(semaphore)
  WHERE state = 'running' AND semaphore IS NOT NULL;
-- only stages added at run time have an origin: the others' updates then add no entry to this index
CREATE INDEX IF NOT EXISTS stages_added_origin ON stages(origin) WHERE origin IS NOT NULL;
CREATE TABLE IF NOT EXISTS expansions (id BIGSERIAL PRIMARY KEY, spawner TEXT NOT NULL, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS edges (parent BIGINT NOT NULL, child BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS edges_parent ON edges(parent);
CREATE INDEX IF NOT EXISTS edges_child ON edges(child);
CREATE TABLE IF NOT EXISTS attempts (
  id BIGSERIAL PRIMARY KEY, stage TEXT NOT NULL, number INTEGER NOT NULL, pilot BIGINT NOT NULL,
  state TEXT NOT NULL, start DOUBLE PRECISION NOT NULL, "end" DOUBLE PRECISION, exit_code INTEGER, failure TEXT,
  cpu DOUBLE PRECISION NOT NULL, mem DOUBLE PRECISION NOT NULL, peak_mem DOUBLE PRECISION,
  cpu_time DOUBLE PRECISION, log TEXT, backfill INTEGER NOT NULL DEFAULT 0, rule TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS attempts_stage ON attempts(stage);
CREATE INDEX IF NOT EXISTS attempts_running ON attempts(pilot) WHERE state = 'running';
CREATE TABLE IF NOT EXISTS pilots (
  id BIGSERIAL PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, pid_started DOUBLE PRECISION NOT NULL,
  started DOUBLE PRECISION NOT NULL, heartbeat DOUBLE PRECISION NOT NULL, ended INTEGER NOT NULL DEFAULT 0,
  cpu DOUBLE PRECISION NOT NULL, mem DOUBLE PRECISION NOT NULL, batch_job TEXT NOT NULL DEFAULT '');
"""


# Errors after which PostgreSQL rolled the transaction back and it may simply run again (psycopg's
# DeadlockDetected is not a TransactionRollback).
RETRY_AT_ONCE = (psycopg.errors.TransactionRollback, psycopg.errors.DeadlockDetected,
                 psycopg.errors.SerializationFailure)


class StoreUnavailable(StoreError):
    """The database could not be reached again in time."""


def is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def split_url(url: str) -> tuple[str, str]:
    """(libpq URL without our `run` parameter, the run's schema)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    runs = [v for k, v in query if k == "run"]
    name = runs[-1] if runs else ""
    if name and not RUN_NAME.fullmatch(name):
        raise StoreError(f"{url}: run={name!r}: a run name is 1 to 40 of a-z, 0-9 and _")
    rest = urlencode([(k, v) for k, v in query if k != "run"])
    return urlunsplit(parts._replace(query=rest)), f"cwlpilot_{name}" if name else "cwlpilot"


def lock_key(text: str) -> int:
    """A signed 32-bit key for PostgreSQL's advisory locks."""
    value = zlib.crc32(text.encode())
    return value - 2**32 if value >= 2**31 else value


class PgConnection:
    """A psycopg connection in autocommit mode (transactions are begun explicitly, as with SQLite) that
    takes the stores' `?` placeholders. No statement of the stores has a `?` or `%` of its own."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._sql: dict[str, str] = {}

    def translate(self, sql: str) -> str:
        out = self._sql.get(sql)
        if out is None:
            out = self._sql[sql] = sql.replace("?", "%s")
        return out

    def execute(self, sql: str, params: Sequence[Any] = (), /) -> Any:
        return self.conn.execute(self.translate(sql), params) if params else self.conn.execute(sql)

    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any:
        cur = self.conn.cursor()
        cur.executemany(self.translate(sql), list(params))
        return cur

    @property
    def broken(self) -> bool:
        return self.conn.broken or self.conn.closed


def connect(url: str, schema: str, timeout: float = 5.0) -> PgConnection:
    """Connect, create the run's schema and tables if missing, and LISTEN on the run's channel."""
    conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(timeout)))
    db = PgConnection(conn)
    if not _complete(db, schema):
        # Only when missing: CREATE INDEX takes a lock on its table even when the index exists, which would
        # wait for (and deadlock with) the pilots at work. Two creators at once collide in the catalogue:
        # one at a time.
        db.execute(f"BEGIN; SELECT pg_advisory_xact_lock({lock_key('cwlpilot-schema')})")
        if not _complete(db, schema):
            db.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            db.execute(f'SET search_path TO "{schema}"')
            db.execute(SCHEMA)
            db.execute(pg_batch.FUNCTIONS)
        db.execute("COMMIT")
    db.execute(f'SET search_path TO "{schema}"')  # SET inside a transaction lasts as long as it
    # The stores' statements are few and run thousands of times with like parameters: plan them once (psycopg
    # prepares a statement at its fifth run); planning a cycle's statements each time cost more than running them
    db.execute("SET plan_cache_mode = force_generic_plan")
    db.execute(f'LISTEN "{schema}"')
    return db


def _complete(db: PgConnection, schema: str) -> bool:
    """Whether the run's schema holds its tables and this version's functions (made in one transaction)."""
    return db.execute("SELECT 1 FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                      "WHERE n.nspname = ? AND p.proname = ?", (schema, f"cwl_claim_v{pg_batch.VERSION}")
                      ).fetchone() is not None


def schema_exists(url: str, schema: str) -> bool:
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            row = conn.execute("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND "
                               "table_name = 'meta'", (schema,)).fetchone()
            return row is not None
    except psycopg.Error as exc:
        raise StoreError(f"{redact(url)}: cannot reach the store: {first_line(exc)}") from None


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def connection_lost(exc: BaseException, db: PgConnection | None) -> bool:
    """Whether an error means the connection is gone (so: reconnect and try again)."""
    if isinstance(exc, RETRY_AT_ONCE):
        return False
    return isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError) and (db is None or db.broken)


class Backoff:
    """Waits of 0.05 s doubling up to 2 s, until `deadline` (monotonic)."""

    def __init__(self, deadline: float) -> None:
        self.deadline, self.delay = deadline, 0.05

    def wait(self) -> bool:
        """Sleep before the next try; False when the deadline has passed."""
        now = time.monotonic()
        if now >= self.deadline:
            return False
        time.sleep(min(self.delay, self.deadline - now))
        self.delay = min(self.delay * 2, 2.0)
        return True
