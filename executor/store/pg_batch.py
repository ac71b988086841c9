"""The PostgreSQL store's batched transitions: server functions that make a pilot's whole cycle (record every
end, claim the chosen stages, read the ready queue) one statement, and claim stages in one call.

A round trip to the server and the planning of a statement each cost more than the work of the statements
themselves (0.04 ms and 0.1-0.2 ms here), so what the SQLite store does in a few statements per stage is done
by PL/pgSQL functions whatever the number of stages: PL/pgSQL plans its statements once per connection, and a
cycle is one prepared statement in one round trip, its own transaction. Data-modifying common table expressions
chain the updates (attempts, their stages, the stages' dependents) inside one statement.

One round trip per cycle: the pilot picks among the ready stages the previous cycle read (`offered`), and the
function claims its picks only if no stage it was not offered is now ready with a better rank than one it
picked (made ready by this cycle's ends, or by other pilots); otherwise it claims nothing and answers the fresh
queue, and the pilot picks again (a second call), as it does for the room its claims left (picks another pilot
claimed first). So every pick is made, as in the SQLite store, as if on the queue as it stands after the
cycle's ends: the best ranked stages, including those just made ready. Since the check makes a pick on any
earlier read safe, the queue is read only when what the pilot holds of it no longer offers `limit` stages
beyond its picks (a read of 10 serves about six cycles of a pilot running one stage at a time), or when the
picks are refused.

A third of the function's own time is the executor's start of its statements (perf: opening a table's
indexes for an update costs more than the update of one row), so it runs only the statements a cycle needs:
the ids travel as arrays, no statement looks for dependents of stages that have none, and only the ends not
recorded (no longer this pilot's attempts) and the dependents left to the caller are answered.

A dependent whose needs have all ended is made ready by the function when it has no condition and its needs all
succeeded (sqlite_graph.decide's common case); the others (a condition, whose grammar is Python's, or a need that
failed or was skipped) are reported and decided in Python, and the function then claims nothing, since that
decision may change the queue. Stages adding others and claims of stages with a semaphore take the general
path (executor/store/sql.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from cwlpilot.executor.store.base import Claim, ClaimRequest, Finish, ReadyStage

VERSION = "3"  # of the functions: part of their names, so that a newer cwlpilot never calls an older body

# The ends and claims travel as one JSON text each: psycopg dumps a list parameter element by element in
# Python (0.14 ms for a cycle's 16 arrays, more than the server's work on them), json.dumps in C (0.01 ms).
ENDS = ("a bigint, s bigint, ast text, sst text, e float8, c integer, f text, pk float8, ct float8, l text, "
        "r text, n integer, mf float8, tf float8, rl integer, rs text")
READY = ("s.state = 'ready' AND s.wanted = 1 AND (s.semaphore IS NULL OR s.semaphore NOT IN "
         "(SELECT r.semaphore FROM stages r WHERE r.state = 'running' AND r.semaphore IS NOT NULL))")
ROW = ("o_kind text, o_id bigint, o_stage bigint, o_name text, o_n integer, o_counted integer, o_cpu float8, "
       "o_mem float8, o_rel float8, o_sem text, o_mf float8, o_tf float8, o_rl integer, o_k integer")
CLAIMS = """
  WITH r AS (SELECT * FROM ROWS FROM (json_to_recordset(p_claims) AS (i bigint, c float8, m float8, b integer))
             WITH ORDINALITY AS u(i, c, m, b, k)),
  c AS (UPDATE stages s SET state = 'running', tries = s.tries + 1 FROM r
        WHERE s.id = ANY(v_ids) AND s.id = r.i AND s.state = 'ready' AND s.wanted = 1
        RETURNING s.id, s.name, s.tries, s.counted, s.mem_factor, s.time_factor, s.retry_limit, r.c, r.m, r.b, r.k),
  a AS (INSERT INTO attempts (stage, number, pilot, state, start, cpu, mem, backfill)
        SELECT c.name, c.tries, p_pilot, 'running', p_now, c.c, c.m, c.b FROM c ORDER BY c.k
        RETURNING attempts.id, attempts.stage)
  SELECT 'c', a.id, c.id, c.name, c.tries, c.counted, NULL::float8, NULL::float8, NULL::float8, NULL::text,
         c.mem_factor, c.time_factor, c.retry_limit, c.k::integer
  FROM c JOIN a ON a.stage = c.name ORDER BY c.k"""

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION cwl_cycle_v3(p_key integer, p_channel text, p_pilot bigint, p_now float8,
    p_ends json, p_aids bigint[], p_sids bigint[], p_offered bigint[], p_claims json, p_cids bigint[],
    p_limit integer, p_cache integer, p_read boolean)
RETURNS TABLE({ROW})
LANGUAGE plpgsql AS $body$
DECLARE
  v_ids bigint[] := p_cids; v_att bigint[] := '{{}}'; v_retry bigint[] := '{{}}'; v_free bigint[] := '{{}}';
  v_ended bigint[]; v_ready bigint[] := '{{}}'; v_queued integer := 0; v_read boolean := p_read;
BEGIN
  PERFORM pg_advisory_xact_lock_shared(p_key, 0);
  IF cardinality(p_aids) > 0 THEN
    WITH v AS (SELECT * FROM json_to_recordset(p_ends) AS u({ENDS})),
    att AS (UPDATE attempts a SET state = v.ast, "end" = v.e, exit_code = v.c, failure = v.f, peak_mem = v.pk,
              cpu_time = v.ct, log = v.l, rule = v.r
            FROM v WHERE a.id = ANY(p_aids) AND a.id = v.a AND a.pilot = p_pilot AND a.state = 'running'
            RETURNING a.id),
    st AS (UPDATE stages s SET state = v.sst, counted = s.counted + v.n, mem_factor = coalesce(v.mf, s.mem_factor),
             time_factor = coalesce(v.tf, s.time_factor),
             retry_limit = CASE WHEN v.sst = 'ready' THEN v.rl ELSE s.retry_limit END, reason = v.rs
           FROM v JOIN att ON att.id = v.a WHERE s.id = ANY(p_sids) AND s.id = v.s
           RETURNING s.id, s.state)
    SELECT ARRAY(SELECT id FROM att), ARRAY(SELECT id FROM st WHERE st.state = 'ready'),
           ARRAY(SELECT id FROM st WHERE st.state IN ('done', 'failed')) INTO v_att, v_retry, v_ended;
    -- their dependents, if any (a plan of independent stages is spared the statement)
    IF cardinality(v_ended) > 0 AND EXISTS (SELECT 1 FROM edges e WHERE e.parent = ANY(v_ended)) THEN
      WITH freed AS (UPDATE stages s SET remaining = s.remaining - c.n
                     FROM (SELECT e.child, count(*)::integer AS n FROM edges e WHERE e.parent = ANY(v_ended)
                           GROUP BY e.child) AS c
                     WHERE s.id = c.child AND s.state = 'pending' RETURNING s.id, s.remaining)
      SELECT ARRAY(SELECT id FROM freed WHERE remaining = 0 ORDER BY id) INTO v_free;
    END IF;
    IF cardinality(v_free) > 0 THEN  -- sqlite_graph.decide for a stage without a condition, its needs all done
      WITH ok AS (UPDATE stages s SET state = 'ready', reason = '' WHERE s.id = ANY(v_free) AND s.condition IS NULL
                  AND NOT EXISTS (SELECT 1 FROM edges e JOIN stages p ON p.id = e.parent
                                  WHERE e.child = s.id AND p.state <> 'done') RETURNING s.id)
      SELECT ARRAY(SELECT id FROM ok) INTO v_ready;
      v_free := ARRAY(SELECT x FROM unnest(v_free) AS x WHERE x <> ALL(v_ready));
    END IF;
    -- the ends not recorded (no longer this pilot's attempts) and the dependents left to the caller, if any
    IF cardinality(v_att) < cardinality(p_aids) OR cardinality(v_free) > 0 THEN
      RETURN QUERY SELECT 'n', x, NULL::bigint, NULL::text, 0, 0, NULL::float8, NULL::float8, NULL::float8,
        NULL::text, NULL::float8, NULL::float8, NULL::integer, NULL::integer FROM unnest(p_aids) AS x
        WHERE x <> ALL(v_att)
      UNION ALL SELECT 'f', x, NULL, NULL, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL
        FROM unnest(v_free) AS x;
    END IF;
  END IF;
  -- the picks stand unless a stage the pilot was not offered is now ready and ranks before one it picked (a
  -- pick is greedy in rank order: stages gone since, claimed by other pilots, change none of its choices but
  -- their own, which the claim finds taken); a dependent left to the caller may change the queue: then
  -- nothing is claimed
  IF p_offered IS NOT NULL AND cardinality(v_free) = 0 THEN
    -- the best p_limit ready stages hold every such stage (the picks are at most p_limit, offered among them)
    IF NOT EXISTS (SELECT 1 FROM (SELECT s.id, s.rank FROM stages s WHERE {READY} ORDER BY s.rank LIMIT p_limit) f
                   WHERE f.rank < (SELECT max(w.rank) FROM stages w WHERE w.id = ANY(v_ids))
                   AND f.id <> ALL(p_offered)) THEN
      RETURN QUERY {CLAIMS};
    ELSE
      v_read := true;  -- the pilot picks again, on the queue as it is now
      RETURN QUERY SELECT 'x', NULL::bigint, NULL::bigint, NULL::text, 0, 0, NULL::float8, NULL::float8,
        NULL::float8, NULL::text, NULL::float8, NULL::float8, NULL::integer, NULL::integer;
    END IF;
  END IF;
  IF p_cache > 0 AND v_read THEN
    RETURN QUERY SELECT 'q', s.id, NULL::bigint, s.name, 0, 0, s.cpu, s.mem, s.relative_cpu, s.semaphore,
      s.mem_factor, NULL::float8, NULL::integer, NULL::integer FROM stages s WHERE {READY} ORDER BY s.rank
      LIMIT p_cache;
    GET DIAGNOSTICS v_queued = ROW_COUNT;
  END IF;
  -- wake the idle pilots: stages became ready, or ends left nothing to claim (the run may be over; a pilot
  -- that did not read the queue still holds enough of it that another read will follow)
  IF cardinality(v_retry) > 0 OR cardinality(v_ready) > 0 OR (cardinality(v_att) > 0 AND v_read AND v_queued = 0) THEN
    PERFORM pg_notify(p_channel, '');
  END IF;
END $body$;

CREATE OR REPLACE FUNCTION cwl_claim_v3(p_pilot bigint, p_now float8, p_claims json) RETURNS TABLE({ROW})
LANGUAGE plpgsql AS $body$
DECLARE
  v_ids bigint[];
BEGIN
  SELECT array_agg(u.i) INTO v_ids FROM json_to_recordset(p_claims) AS u(i bigint);
  RETURN QUERY {CLAIMS};
END $body$;
"""

CYCLE = ("SELECT * FROM cwl_cycle_v3(%s, %s, %s, %s, %s::json, %s::bigint[], %s::bigint[], %s::bigint[], "
         "%s::json, %s::bigint[], %s, %s, %s)")
CLAIM = "SELECT * FROM cwl_claim_v3(%s, %s, %s::json)"


class Answer(NamedTuple):
    """What a cycle call answered."""

    accepted: list[bool]  # per result: recorded (False: the attempt was no longer this pilot's)
    free: list[int]  # dependents with no needs left, for the caller to decide
    claims: list[Claim] | None  # None: the picks were made on an out-of-date queue, nothing was claimed
    queue: list[ReadyStage] | None  # the ready stages after the claims (None: not read)


def cycle_params(key: int, channel: str, pilot: int, now: float, results: Sequence[Finish],
                 offered: Sequence[int] | None, requests: Sequence[ClaimRequest], limit: int,
                 cache: int, read: bool = True) -> list[Any]:
    """Record the ends of `results` (none with stages to add); claim `requests`, picked among `offered` (the
    best `limit` ready stages as the pilot last saw them) if those are still the best `limit` ones; read the
    best `cache` ready stages, if `read` or if the picks were made on a queue out of date."""
    ends = []
    for r in results:
        retry = not r.ok and r.retry
        ends.append({"a": r.attempt_id, "s": r.stage_id, "ast": "done" if r.ok else "retried" if retry else "failed",
                     "sst": "done" if r.ok else "ready" if retry else "failed", "e": r.end, "c": r.exit_code,
                     "f": r.failure, "pk": r.peak_mem, "ct": r.cpu_time, "l": r.log, "r": r.rule,
                     "n": 0 if r.ok or not r.charged else 1, "mf": r.mem_factor if retry else None,
                     "tf": r.time_factor if retry else None, "rl": r.retry_limit if retry else None,
                     "rs": r.reason})
    return [key, channel, pilot, now, json.dumps(ends), _ids(r.attempt_id for r in results),
            _ids(r.stage_id for r in results), None if offered is None else _ids(offered), _claims_json(requests),
            _ids(r.stage_id for r in requests), limit, cache, read]


def _ids(ids: Iterable[int]) -> str:
    """A bigint[] parameter as the text psycopg would send (its dumper builds it element by element in Python)."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def read_cycle(rows: Sequence[tuple[Any, ...]], results: Sequence[Finish],
               requests: Sequence[ClaimRequest], offered: bool) -> Answer:
    refused = {row[1] for row in rows if row[0] == "n"}
    free = sorted(row[1] for row in rows if row[0] == "f")
    stale = any(row[0] == "x" for row in rows) or (offered and bool(free))
    claims = None if stale else read_claims([row for row in rows if row[0] == "c"], requests)
    queue = [ReadyStage(row[1], row[3], row[6], row[7], row[8], row[9], row[10]) for row in rows if row[0] == "q"]
    return Answer([r.attempt_id not in refused for r in results], free, claims, queue)


def claim_params(pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Any]:
    """Claim stages without a semaphore (the ready ones among them), in the order asked."""
    return [pilot, now, _claims_json(requests)]


def _claims_json(requests: Sequence[ClaimRequest]) -> str:
    return json.dumps([{"i": r.stage_id, "c": r.cpu, "m": r.mem, "b": int(r.backfill)} for r in requests])


def read_claims(rows: Sequence[tuple[Any, ...]], requests: Sequence[ClaimRequest]) -> list[Claim]:
    """The claim rows ('c') of an answer, as Claims with the bookings asked for."""
    out = []
    for _, attempt, stage, name, number, counted, _c, _m, _r, _s, mem_factor, time_factor, retry_limit, k in rows:
        r = requests[k - 1]
        out.append(Claim(int(attempt), int(stage), name, number, counted, r.cpu, r.mem, r.backfill, mem_factor,
                         time_factor, retry_limit))
    return out
