"""The PostgreSQL store's batched statements: every end of a cycle in one statement, every claim in another.

A round trip to the server costs far more than the work of a statement (0.1-0.2 ms on one host), so what the
SQLite store does in a few statements per stage is done here in one statement per cycle, whatever the
number of stages: data-modifying common table expressions chain the updates (attempts, then their stages,
then the stages' dependents) inside the statement. Stages adding others and claims of stages with a
semaphore take the general path (executor/store/sql.py). Pure SQL text and parameters, plus reading the
answers; the caller sends them (in a pipeline where it can).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cwlpilot.executor.store.base import Claim, ClaimRequest, Finish

_END_ROW = ("(%s::bigint, %s::bigint, %s, %s, %s::float8, %s::int, %s::text, %s::float8, %s::float8, %s::text, "
            "%s::text, %s::int, %s::float8, %s::float8, %s::int, %s::text)")
_END = """WITH v(attempt, stage, astate, sstate, e, code, failure, peak, cpu_time, log, rule, n, mf, tf, rl, reason)
  AS (VALUES {rows}),
att AS (UPDATE attempts a SET state = v.astate, "end" = v.e, exit_code = v.code, failure = v.failure,
          peak_mem = v.peak, cpu_time = v.cpu_time, log = v.log, rule = v.rule
        FROM v WHERE a.id = ANY(%s::bigint[]) AND a.id = v.attempt AND a.pilot = %s AND a.state = 'running'
        RETURNING a.id),
st AS (UPDATE stages s SET state = v.sstate, counted = s.counted + v.n, mem_factor = coalesce(v.mf, s.mem_factor),
         time_factor = coalesce(v.tf, s.time_factor),
         retry_limit = CASE WHEN v.sstate = 'ready' THEN v.rl ELSE s.retry_limit END, reason = v.reason
       FROM v JOIN att ON att.id = v.attempt WHERE s.id = ANY(%s::bigint[]) AND s.id = v.stage
       RETURNING s.id, s.state),
freed AS (UPDATE stages s SET remaining = s.remaining - c.n
          FROM (SELECT e.child, count(*) AS n FROM edges e JOIN st ON st.id = e.parent
                WHERE e.parent = ANY(%s::bigint[]) AND st.state IN ('done', 'failed') GROUP BY e.child) AS c
          WHERE s.id = c.child AND s.state = 'pending' RETURNING s.id, s.remaining)
SELECT 'a', id, 0 FROM att UNION ALL SELECT 'r', id, 0 FROM st WHERE state = 'ready'
UNION ALL SELECT 'f', id, remaining FROM freed"""

_CLAIM_ROW = "(%s::bigint, %s::float8, %s::float8, %s::int, %s::int)"
_CLAIM = """WITH r(id, cpu, mem, backfill, k) AS (VALUES {rows}),
c AS (UPDATE stages s SET state = 'running', tries = s.tries + 1 FROM r
      WHERE s.id = ANY(%s::bigint[]) AND s.id = r.id AND s.state = 'ready' AND s.wanted = 1
      RETURNING s.id, s.name, s.tries, s.counted, s.mem_factor, s.time_factor, s.retry_limit, r.cpu, r.mem,
                r.backfill, r.k),
a AS (INSERT INTO attempts (stage, number, pilot, state, start, cpu, mem, backfill)
      SELECT name, tries, %s, 'running', %s, cpu, mem, backfill FROM c ORDER BY k RETURNING id, stage)
SELECT a.id, c.id, c.name, c.tries, c.counted, c.mem_factor, c.time_factor, c.retry_limit, c.k
FROM c JOIN a ON a.stage = c.name ORDER BY c.k"""


def end_statement(pilot: int, results: Sequence[Finish]) -> tuple[str, list[Any]]:
    """Record the ends of `results` (none with stages to add): the rows it answers say which attempts were
    recorded ('a', attempt id), which stages are ready again for a retry ('r', stage id) and which
    dependents were counted down ('f', stage id, needs left)."""
    params: list[Any] = []
    for r in results:
        retry = not r.ok and r.retry
        params += [r.attempt_id, r.stage_id, "done" if r.ok else "retried" if retry else "failed",
                   "done" if r.ok else "ready" if retry else "failed", r.end, r.exit_code, r.failure, r.peak_mem,
                   r.cpu_time, r.log, r.rule, 0 if r.ok else 1, r.mem_factor if retry else None,
                   r.time_factor if retry else None, r.retry_limit if retry else None, r.reason]
    # The id lists repeat what the rows say, so that the planner looks the rows up by their keys whatever
    # its statistics (a run's tables grow from empty while it goes on)
    attempts, stages = [r.attempt_id for r in results], [r.stage_id for r in results]
    return _END.format(rows=",".join([_END_ROW] * len(results))), [*params, attempts, pilot, stages, stages]


def read_ends(rows: Sequence[tuple[str, int, int]], results: Sequence[Finish]) -> tuple[list[bool], bool, list[int]]:
    """(accepted per result, whether a retry made a stage ready, dependents with no needs left)."""
    recorded = {i for kind, i, _ in rows if kind == "a"}
    retried = any(kind == "r" for kind, _, _ in rows)
    free = sorted(i for kind, i, left in rows if kind == "f" and left == 0)
    return [r.attempt_id in recorded for r in results], retried, free


def claim_statement(pilot: int, requests: Sequence[ClaimRequest], now: float) -> tuple[str, list[Any]]:
    """Claim stages without a semaphore (the ready ones among them), in the order asked."""
    params: list[Any] = []
    for k, r in enumerate(requests):
        params += [r.stage_id, r.cpu, r.mem, int(r.backfill), k]
    return _CLAIM.format(rows=",".join([_CLAIM_ROW] * len(requests))), [*params, [r.stage_id for r in requests],
                                                                         pilot, now]


def read_claims(rows: Sequence[tuple[Any, ...]], requests: Sequence[ClaimRequest]) -> list[Claim]:
    out = []
    for attempt, stage, name, number, counted, mem_factor, time_factor, retry_limit, k in rows:
        r = requests[k]
        out.append(Claim(int(attempt), int(stage), name, number, counted, r.cpu, r.mem, r.backfill, mem_factor,
                         time_factor, retry_limit))
    return out
