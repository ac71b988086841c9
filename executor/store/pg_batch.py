"""The PostgreSQL store's batched transitions: server functions that record every end of a cycle at once,
read the ready queue, and claim every chosen stage at once.

A round trip to the server and the planning of a statement each cost more than the work of the statements
themselves (0.06 ms and 0.1-0.2 ms here), so what the SQLite store does in a few statements per stage is done
by two PL/pgSQL functions per cycle, whatever the number of stages: PL/pgSQL plans its statements once per
connection, and each function is called in one round trip (with the transaction's BEGIN, or its COMMIT).
Data-modifying common table expressions chain the updates (attempts, their stages, the stages' dependents)
inside one statement. Stages adding others and claims of stages with a semaphore take the general path
(executor/store/sql.py). A dependent whose needs have all ended is made ready by the function when it has no
condition and its needs all succeeded (sqlite_graph.decide's common case); the others (a condition, whose grammar
is Python's, or a need that failed or was skipped) are reported, and decided in Python.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from cwlpilot.executor.store.base import Claim, ClaimRequest, Finish, ReadyStage

VERSION = "2"  # of the functions: part of their names, so that a newer cwlpilot never calls an older body

# The ends and claims travel as one JSON text each: psycopg dumps a list parameter element by element in
# Python (0.14 ms for a cycle's 16 arrays, more than the server's work on them), json.dumps in C (0.01 ms).
ENDS = ("a bigint, s bigint, ast text, sst text, e float8, c integer, f text, pk float8, ct float8, l text, "
        "r text, n integer, mf float8, tf float8, rl integer, rs text")

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION cwl_cycle_v2(p_key integer, p_pilot bigint, p_ends json, p_limit integer)
RETURNS TABLE(o_kind text, o_id bigint, o_n integer, o_name text, o_cpu float8, o_mem float8, o_rel float8,
              o_sem text, o_mf float8)
LANGUAGE plpgsql AS $body$
DECLARE
  v_ids bigint[]; v_sids bigint[]; v_att bigint[]; v_retry bigint[]; v_free bigint[]; v_ready bigint[];
BEGIN
  PERFORM pg_advisory_xact_lock_shared(p_key, 0);
  IF json_array_length(p_ends) > 0 THEN
    SELECT array_agg(u.a), array_agg(u.s) INTO v_ids, v_sids FROM json_to_recordset(p_ends) AS u(a bigint, s bigint);
    WITH v AS (SELECT * FROM json_to_recordset(p_ends) AS u({ENDS})),
    att AS (UPDATE attempts a SET state = v.ast, "end" = v.e, exit_code = v.c, failure = v.f, peak_mem = v.pk,
              cpu_time = v.ct, log = v.l, rule = v.r
            FROM v WHERE a.id = ANY(v_ids) AND a.id = v.a AND a.pilot = p_pilot AND a.state = 'running'
            RETURNING a.id),
    st AS (UPDATE stages s SET state = v.sst, counted = s.counted + v.n, mem_factor = coalesce(v.mf, s.mem_factor),
             time_factor = coalesce(v.tf, s.time_factor),
             retry_limit = CASE WHEN v.sst = 'ready' THEN v.rl ELSE s.retry_limit END, reason = v.rs
           FROM v JOIN att ON att.id = v.a WHERE s.id = ANY(v_sids) AND s.id = v.s
           RETURNING s.id, s.state),
    freed AS (UPDATE stages s SET remaining = s.remaining - c.n
              FROM (SELECT e.child, count(*)::integer AS n FROM edges e JOIN st ON st.id = e.parent
                    WHERE e.parent = ANY(v_sids) AND st.state IN ('done', 'failed') GROUP BY e.child) AS c
              WHERE s.id = c.child AND s.state = 'pending' RETURNING s.id, s.remaining)
    SELECT ARRAY(SELECT id FROM att), ARRAY(SELECT id FROM st WHERE st.state = 'ready'),
           ARRAY(SELECT id FROM freed WHERE remaining = 0 ORDER BY id) INTO v_att, v_retry, v_free;
    IF cardinality(v_free) > 0 THEN
      -- what sqlite_graph.decide does for a stage without a condition whose needs are all done (the common
      -- case, and the only one that needs no condition grammar); the others go back to the caller
      WITH ok AS (UPDATE stages s SET state = 'ready', reason = '' WHERE s.id = ANY(v_free) AND s.condition IS NULL
                  AND NOT EXISTS (SELECT 1 FROM edges e JOIN stages p ON p.id = e.parent
                                  WHERE e.child = s.id AND p.state <> 'done') RETURNING s.id)
      SELECT ARRAY(SELECT id FROM ok) INTO v_ready;
    END IF;
    RETURN QUERY SELECT 'a', x, 0, NULL::text, NULL::float8, NULL::float8, NULL::float8, NULL::text, NULL::float8
      FROM unnest(v_att) AS x
    UNION ALL SELECT 'r', x, 0, NULL, NULL, NULL, NULL, NULL, NULL FROM unnest(v_retry) AS x
    UNION ALL SELECT 'd', x, 0, NULL, NULL, NULL, NULL, NULL, NULL FROM unnest(v_ready) AS x
    UNION ALL SELECT 'f', x, 0, NULL, NULL, NULL, NULL, NULL, NULL FROM unnest(v_free) AS x
      WHERE v_ready IS NULL OR x <> ALL(v_ready);
  END IF;
  IF p_limit > 0 THEN
    RETURN QUERY SELECT 'q', s.id, 0, s.name, s.cpu, s.mem, s.relative_cpu, s.semaphore, s.mem_factor
      FROM stages s WHERE s.state = 'ready' AND s.wanted = 1 AND (s.semaphore IS NULL OR s.semaphore NOT IN
        (SELECT r.semaphore FROM stages r WHERE r.state = 'running' AND r.semaphore IS NOT NULL))
      ORDER BY s.rank LIMIT p_limit FOR UPDATE OF s SKIP LOCKED;
  END IF;
END $body$;

CREATE OR REPLACE FUNCTION cwl_claim_v2(p_pilot bigint, p_now float8, p_claims json)
RETURNS TABLE(o_attempt bigint, o_stage bigint, o_name text, o_number integer, o_counted integer,
              o_mf float8, o_tf float8, o_rl integer, o_k integer)
LANGUAGE plpgsql AS $body$
DECLARE
  v_ids bigint[];
BEGIN
  SELECT array_agg(u.i) INTO v_ids FROM json_to_recordset(p_claims) AS u(i bigint);
  RETURN QUERY
  WITH r AS (SELECT * FROM ROWS FROM (json_to_recordset(p_claims) AS (i bigint, c float8, m float8, b integer))
             WITH ORDINALITY AS u(i, c, m, b, k)),
  c AS (UPDATE stages s SET state = 'running', tries = s.tries + 1 FROM r
        WHERE s.id = ANY(v_ids) AND s.id = r.i AND s.state = 'ready' AND s.wanted = 1
        RETURNING s.id, s.name, s.tries, s.counted, s.mem_factor, s.time_factor, s.retry_limit, r.c, r.m,
                  r.b, r.k),
  a AS (INSERT INTO attempts (stage, number, pilot, state, start, cpu, mem, backfill)
        SELECT c.name, c.tries, p_pilot, 'running', p_now, c.c, c.m, c.b FROM c ORDER BY c.k
        RETURNING attempts.id, attempts.stage)
  SELECT a.id, c.id, c.name, c.tries, c.counted, c.mem_factor, c.time_factor, c.retry_limit, c.k::integer
  FROM c JOIN a ON a.stage = c.name ORDER BY c.k;
END $body$;
"""

CYCLE = "SELECT * FROM cwl_cycle_v2(%s, %s, %s::json, %s)"
CLAIM = "SELECT * FROM cwl_claim_v2(%s, %s, %s::json)"


def cycle_params(key: int, pilot: int, results: Sequence[Finish], limit: int) -> list[Any]:
    """Record the ends of `results` (none with stages to add), then read up to `limit` ready stages locked for
    this transaction. The answer's rows: ('a', attempt) recorded, ('r', stage) ready again for a retry,
    ('d', stage) a dependent made ready, ('f', stage) a dependent with no needs left for the caller to decide
    (it has a condition, or a need did not succeed), ('q', ready stage...)."""
    ends = []
    for r in results:
        retry = not r.ok and r.retry
        ends.append({"a": r.attempt_id, "s": r.stage_id, "ast": "done" if r.ok else "retried" if retry else "failed",
                     "sst": "done" if r.ok else "ready" if retry else "failed", "e": r.end, "c": r.exit_code,
                     "f": r.failure, "pk": r.peak_mem, "ct": r.cpu_time, "l": r.log, "r": r.rule,
                     "n": 0 if r.ok or not r.charged else 1, "mf": r.mem_factor if retry else None,
                     "tf": r.time_factor if retry else None, "rl": r.retry_limit if retry else None,
                     "rs": r.reason})
    return [key, pilot, json.dumps(ends), limit]


def read_cycle(rows: Sequence[tuple[Any, ...]], results: Sequence[Finish]
               ) -> tuple[list[bool], bool, list[int], list[ReadyStage]]:
    """(accepted per result, whether stages were made ready, dependents left to decide, ready)."""
    recorded = {row[1] for row in rows if row[0] == "a"}
    woke = any(row[0] in ("r", "d") for row in rows)
    free = sorted(row[1] for row in rows if row[0] == "f")
    ready = [ReadyStage(row[1], row[3], row[4], row[5], row[6], row[7], row[8]) for row in rows if row[0] == "q"]
    return [r.attempt_id in recorded for r in results], woke, free, ready


def claim_params(pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Any]:
    """Claim stages without a semaphore (the ready ones among them), in the order asked."""
    return [pilot, now, json.dumps([{"i": r.stage_id, "c": r.cpu, "m": r.mem, "b": int(r.backfill)}
                                    for r in requests])]


def read_claims(rows: Sequence[tuple[Any, ...]], requests: Sequence[ClaimRequest]) -> list[Claim]:
    out = []
    for attempt, stage, name, number, counted, mem_factor, time_factor, retry_limit, k in rows:
        r = requests[k - 1]
        out.append(Claim(int(attempt), int(stage), name, number, counted, r.cpu, r.mem, r.backfill, mem_factor,
                         time_factor, retry_limit))
    return out
