"""The PostgreSQL store's batched transitions: server functions that record every end of a cycle at once,
read the ready queue, and claim every chosen stage at once.

A round trip to the server and the planning of a statement each cost more than the work of the statements
themselves (0.06 ms and 0.1-0.2 ms here), so what the SQLite store does in a few statements per stage is done
by two PL/pgSQL functions per cycle, whatever the number of stages: PL/pgSQL plans its statements once per
connection, and each function is called in one round trip (with the transaction's BEGIN, or its COMMIT).
Data-modifying common table expressions chain the updates (attempts, their stages, the stages' dependents)
inside one statement. Stages adding others and claims of stages with a semaphore take the general path
(executor/store/sql.py). Decisions that need the condition grammar (a dependent whose needs have all ended)
stay in Python: the functions report those stages.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from cwlpilot.executor.store.base import Claim, ClaimRequest, Finish, ReadyStage

VERSION = "1"  # of the functions: part of their names, so that a newer cwlpilot never calls an older body

FUNCTIONS = """
CREATE OR REPLACE FUNCTION cwl_cycle_v1(p_key integer, p_pilot bigint, p_attempt bigint[], p_stage bigint[],
    p_astate text[], p_sstate text[], p_end float8[], p_code integer[], p_failure text[], p_peak float8[],
    p_cpu_time float8[], p_log text[], p_rule text[], p_n integer[], p_mf float8[], p_tf float8[],
    p_rl integer[], p_reason text[], p_limit integer)
RETURNS TABLE(o_kind text, o_id bigint, o_n integer, o_name text, o_cpu float8, o_mem float8, o_rel float8,
              o_sem text, o_mf float8)
LANGUAGE plpgsql AS $body$
BEGIN
  PERFORM pg_advisory_xact_lock_shared(p_key, 0);
  IF cardinality(p_attempt) > 0 THEN
    RETURN QUERY
    WITH v AS (SELECT * FROM unnest(p_attempt, p_stage, p_astate, p_sstate, p_end, p_code, p_failure, p_peak,
                                    p_cpu_time, p_log, p_rule, p_n, p_mf, p_tf, p_rl, p_reason)
               AS u(attempt, stage, astate, sstate, e, code, failure, peak, cpu_time, log, rule, n, mf, tf, rl,
                    reason)),
    att AS (UPDATE attempts a SET state = v.astate, "end" = v.e, exit_code = v.code, failure = v.failure,
              peak_mem = v.peak, cpu_time = v.cpu_time, log = v.log, rule = v.rule
            FROM v WHERE a.id = ANY(p_attempt) AND a.id = v.attempt AND a.pilot = p_pilot AND a.state = 'running'
            RETURNING a.id),
    st AS (UPDATE stages s SET state = v.sstate, counted = s.counted + v.n, mem_factor = coalesce(v.mf, s.mem_factor),
             time_factor = coalesce(v.tf, s.time_factor),
             retry_limit = CASE WHEN v.sstate = 'ready' THEN v.rl ELSE s.retry_limit END, reason = v.reason
           FROM v JOIN att ON att.id = v.attempt WHERE s.id = ANY(p_stage) AND s.id = v.stage
           RETURNING s.id, s.state),
    freed AS (UPDATE stages s SET remaining = s.remaining - c.n
              FROM (SELECT e.child, count(*)::integer AS n FROM edges e JOIN st ON st.id = e.parent
                    WHERE e.parent = ANY(p_stage) AND st.state IN ('done', 'failed') GROUP BY e.child) AS c
              WHERE s.id = c.child AND s.state = 'pending' RETURNING s.id, s.remaining)
    SELECT 'a', att.id, 0, NULL::text, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::float8 FROM att
    UNION ALL SELECT 'r', st.id, 0, NULL, NULL, NULL, NULL, NULL, NULL FROM st WHERE st.state = 'ready'
    UNION ALL SELECT 'f', freed.id, freed.remaining, NULL, NULL, NULL, NULL, NULL, NULL FROM freed;
  END IF;
  IF p_limit > 0 THEN
    RETURN QUERY SELECT 'q', s.id, 0, s.name, s.cpu, s.mem, s.relative_cpu, s.semaphore, s.mem_factor
      FROM stages s WHERE s.state = 'ready' AND s.wanted = 1 AND (s.semaphore IS NULL OR s.semaphore NOT IN
        (SELECT r.semaphore FROM stages r WHERE r.state = 'running' AND r.semaphore IS NOT NULL))
      ORDER BY s.rank LIMIT p_limit FOR UPDATE OF s SKIP LOCKED;
  END IF;
END $body$;

CREATE OR REPLACE FUNCTION cwl_claim_v1(p_pilot bigint, p_now float8, p_id bigint[], p_cpu float8[],
    p_mem float8[], p_backfill integer[])
RETURNS TABLE(o_attempt bigint, o_stage bigint, o_name text, o_number integer, o_counted integer,
              o_mf float8, o_tf float8, o_rl integer, o_k integer)
LANGUAGE plpgsql AS $body$
BEGIN
  RETURN QUERY
  WITH r AS (SELECT * FROM unnest(p_id, p_cpu, p_mem, p_backfill) WITH ORDINALITY AS u(id, cpu, mem, backfill, k)),
  c AS (UPDATE stages s SET state = 'running', tries = s.tries + 1 FROM r
        WHERE s.id = ANY(p_id) AND s.id = r.id AND s.state = 'ready' AND s.wanted = 1
        RETURNING s.id, s.name, s.tries, s.counted, s.mem_factor, s.time_factor, s.retry_limit, r.cpu, r.mem,
                  r.backfill, r.k),
  a AS (INSERT INTO attempts (stage, number, pilot, state, start, cpu, mem, backfill)
        SELECT c.name, c.tries, p_pilot, 'running', p_now, c.cpu, c.mem, c.backfill FROM c ORDER BY c.k
        RETURNING attempts.id, attempts.stage)
  SELECT a.id, c.id, c.name, c.tries, c.counted, c.mem_factor, c.time_factor, c.retry_limit, c.k::integer
  FROM c JOIN a ON a.stage = c.name ORDER BY c.k;
END $body$;
"""

CYCLE = ("SELECT * FROM cwl_cycle_v1(%s, %s, %s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::float8[], "
         "%s::integer[], %s::text[], %s::float8[], %s::float8[], %s::text[], %s::text[], %s::integer[], "
         "%s::float8[], %s::float8[], %s::integer[], %s::text[], %s)")
CLAIM = "SELECT * FROM cwl_claim_v1(%s, %s, %s::bigint[], %s::float8[], %s::float8[], %s::integer[])"


def cycle_params(key: int, pilot: int, results: Sequence[Finish], limit: int) -> list[Any]:
    """Record the ends of `results` (none with stages to add), then read up to `limit` ready stages locked for
    this transaction. The answer's rows: ('a', attempt) recorded, ('r', stage) ready again for a retry,
    ('f', stage, needs left) counted down, ('q', ready stage...)."""
    columns: list[list[Any]] = [[] for _ in range(16)]
    for r in results:
        retry = not r.ok and r.retry
        row = (r.attempt_id, r.stage_id, "done" if r.ok else "retried" if retry else "failed",
               "done" if r.ok else "ready" if retry else "failed", r.end, r.exit_code, r.failure, r.peak_mem,
               r.cpu_time, r.log, r.rule, 0 if r.ok or not r.charged else 1, r.mem_factor if retry else None,
               r.time_factor if retry else None, r.retry_limit if retry else None, r.reason)
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return [key, pilot, *columns, limit]


def read_cycle(rows: Sequence[tuple[Any, ...]], results: Sequence[Finish]
               ) -> tuple[list[bool], bool, list[int], list[ReadyStage]]:
    """(accepted per result, whether a retry made a stage ready, dependents with no needs left, ready)."""
    recorded = {row[1] for row in rows if row[0] == "a"}
    retried = any(row[0] == "r" for row in rows)
    free = sorted(row[1] for row in rows if row[0] == "f" and row[2] == 0)
    ready = [ReadyStage(row[1], row[3], row[4], row[5], row[6], row[7], row[8]) for row in rows if row[0] == "q"]
    return [r.attempt_id in recorded for r in results], retried, free, ready


def claim_params(pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Any]:
    """Claim stages without a semaphore (the ready ones among them), in the order asked."""
    return [pilot, now, [r.stage_id for r in requests], [r.cpu for r in requests], [r.mem for r in requests],
            [int(r.backfill) for r in requests]]


def read_claims(rows: Sequence[tuple[Any, ...]], requests: Sequence[ClaimRequest]) -> list[Claim]:
    out = []
    for attempt, stage, name, number, counted, mem_factor, time_factor, retry_limit, k in rows:
        r = requests[k - 1]
        out.append(Claim(int(attempt), int(stage), name, number, counted, r.cpu, r.mem, r.backfill, mem_factor,
                         time_factor, retry_limit))
    return out
