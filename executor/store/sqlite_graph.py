"""The SQL stores' graph bookkeeping: when a stage may start, skipping, and stages added at run time.

Written for SQLite first and run as it is by the PostgreSQL store too (its connection translates the `?`
placeholders); the statements keep to what both engines understand.

A pending stage counts in `remaining` the needs that have not ended (ended = done, failed or skipped). When
that count reaches zero the stage is decided: without a condition it becomes ready if every need is done
and is skipped otherwise; with a condition it becomes ready if the condition holds. Skipping cascades.

Stages added at run time (a kind's `expand`, e.g. the next iteration of a loop) are kept as an expansion
record next to the stages, so that loading the plan again (a resume) replays what a finished spawner added.
All functions run inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from cwlpilot.executor.condition import evaluate, failures_tested, parse, tests_outcome
from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store.base import StageRow

ENDED = ("done", "failed", "skipped")


class Cursor(Protocol):
    rowcount: int

    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the stores use (sqlite3's, or the PostgreSQL store's wrapper)."""

    def execute(self, sql: str, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: str, params: Iterable[Sequence[Any]], /) -> Any: ...


def insert_rows(db: Connection, rows: Sequence[StageRow], states: dict[str, str], tries: dict[str, int],
                origin: str | None = None) -> dict[str, int]:
    """Insert stages (ids from the rows) and their needs; returns {name: id} of the inserted rows."""
    db.executemany(
        "INSERT INTO stages (id, name, spec, fingerprint, rank, state, cpu, mem, relative_cpu, semaphore, "
        "retry_count, tries, condition, origin) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        [(r.id, r.name, r.spec, r.fingerprint, r.rank, states.get(r.name, "pending"), r.cpu, r.mem,
          r.relative_cpu, r.semaphore, r.retry_count, tries.get(r.name, 0), r.condition, origin) for r in rows])
    ids = {r.name: r.id for r in rows}
    known = ids_of(db, {n for r in rows for n in r.needs} - set(ids))
    missing = {n for r in rows for n in r.needs} - set(ids) - set(known)
    if missing:
        raise StoreError(f"added stages need unknown stage(s): {', '.join(sorted(missing))}")
    known.update(ids)
    db.executemany("INSERT INTO edges (parent, child) VALUES (?, ?)",
                   [(known[n], r.id) for r in rows for n in r.needs])
    return ids


def ids_of(db: Connection, names: Iterable[str]) -> dict[str, int]:
    out = {}
    for name in names:
        row = db.execute("SELECT id FROM stages WHERE name = ?", (name,)).fetchone()
        if row is not None:
            out[name] = int(row[0])
    return out


def recount(db: Connection) -> None:
    """Recompute every unstarted stage's count of needs that have not ended, then decide those at zero."""
    db.execute("""UPDATE stages SET remaining = (SELECT count(*) FROM edges e JOIN stages p ON p.id = e.parent
                                                 WHERE e.child = stages.id AND p.state NOT IN
                                                 ('done', 'failed', 'skipped'))
                  WHERE state IN ('pending', 'ready')""")
    db.execute("UPDATE stages SET state = 'pending' WHERE state = 'ready'")
    # the common case in bulk: no condition and every need done (a 10,000-stage plan loads in one statement)
    db.execute("""UPDATE stages SET state = 'ready', reason = '' WHERE state = 'pending' AND remaining = 0
                  AND condition IS NULL AND NOT EXISTS (SELECT 1 FROM edges e JOIN stages p ON p.id = e.parent
                                                        WHERE e.child = stages.id AND p.state != 'done')""")
    for (stage_id,) in db.execute("SELECT id FROM stages WHERE state = 'pending' AND remaining = 0").fetchall():
        if db.execute("SELECT state FROM stages WHERE id = ?", (stage_id,)).fetchone()[0] == "pending":
            decide(db, stage_id)


def stage_ended(db: Connection, stage_id: int) -> bool:
    """A stage reached done, failed or skipped: count it off its dependents and decide those now free.
    Returns whether some stage was decided (made ready or skipped)."""
    todo = [stage_id]
    decided = False
    while todo:
        parent = todo.pop()
        rows = db.execute("UPDATE stages SET remaining = remaining - 1 WHERE state = 'pending' AND id IN "
                          "(SELECT child FROM edges WHERE parent = ?) RETURNING id, remaining", (parent,)).fetchall()
        for child, remaining in rows:
            if remaining == 0:
                decided = True
                if not decide(db, child, cascade=False):
                    todo.append(child)
    return decided


def decide(db: Connection, stage_id: int, cascade: bool = True) -> bool:
    """Make a pending stage whose needs have all ended ready (True) or skipped (False, cascading if asked)."""
    (condition,) = db.execute("SELECT condition FROM stages WHERE id = ?", (stage_id,)).fetchone()
    needs = db.execute("SELECT p.name, p.state, p.reason, p.cause FROM edges e JOIN stages p ON p.id = e.parent "
                       "WHERE e.child = ? ORDER BY p.rank", (stage_id,)).fetchall()
    cause = None
    if condition:
        node = parse(condition)
        states = {name: state for name, state, _, _ in needs}
        if evaluate(node, lambda name: states.get(name, "skipped")):
            # the failures this condition looked for, directly or through the stages they made skip
            causes = {n: c for n, s, _, c in needs if s == "skipped" and c}
            handled = [n if states.get(n) == "failed" else causes.get(n) for n in failures_tested(node)]
            db.executemany("UPDATE stages SET handled = 1 WHERE name = ? AND state = 'failed'",
                           [(n,) for n in handled if n])
            db.execute("UPDATE stages SET state = 'ready', reason = '' WHERE id = ?", (stage_id,))
            return True
        reason = f"condition false: {condition}"
    else:
        blocking = next(((n, s, r, c) for n, s, r, c in needs if s != "done"), None)
        if blocking is None:
            db.execute("UPDATE stages SET state = 'ready', reason = '' WHERE id = ?", (stage_id,))
            return True
        name, state, why, upstream = blocking
        if state == "failed":
            reason, cause = f"needs failed stage '{name}'", name
        else:  # name the root cause, not only the stage in between
            reason = why if why.startswith("needs ") else f"needs skipped stage '{name}' ({why})"
            cause = upstream
    db.execute("UPDATE stages SET state = 'skipped', reason = ?, cause = ? WHERE id = ?", (reason, cause, stage_id))
    if cascade:
        stage_ended(db, stage_id)
    return False


def failure_may_be_handled(db: Connection, stage_id: int) -> bool:
    """Whether some condition looks at the failure (or skip) of this stage or of a stage it would make skip:
    then its failure must not stop the run, since a branch may be waiting for it."""
    rows = db.execute(
        "WITH RECURSIVE down(id) AS (SELECT CAST(? AS BIGINT) UNION SELECT e.child FROM edges e "
        "JOIN down d ON e.parent = d.id JOIN stages c ON c.id = e.child WHERE c.condition IS NULL) "
        "SELECT c.condition, p.name FROM edges e JOIN stages c ON c.id = e.child JOIN stages p ON p.id = e.parent "
        "WHERE e.parent IN (SELECT id FROM down) AND c.condition IS NOT NULL", (stage_id,)).fetchall()
    return any(name in tests_outcome(parse(condition)) for condition, name in rows)


def apply_expansion(db: Connection, spawner: tuple[int, str, float], rows: Sequence[StageRow],
                    needs: Sequence[tuple[str, str]], replay: dict[str, str] | None = None,
                    tries: dict[str, int] | None = None) -> None:
    """Add stages and needs produced by `spawner` (id, name, rank), before it is recorded as done.

    New stages get ids after the largest one and ranks just after the spawner's, so that a loop's next
    iteration keeps the priority its first one had. With `replay` (the states stages had before the plan
    was loaded again) nothing is recorded or decided: the caller recounts everything afterwards.
    """
    spawner_id, spawner_name, rank = spawner
    (top,) = db.execute("SELECT coalesce(max(id), -1) FROM stages").fetchone()
    clash = ids_of(db, [r.name for r in rows])
    if clash:
        raise StoreError(f"stage '{spawner_name}' adds stages that already exist: {', '.join(sorted(clash))}")
    placed = [r._replace(id=top + 1 + k, rank=rank + (k + 1) * 1e-6) for k, r in enumerate(rows)]
    kept = {r.name: "done" for r in rows if replay and replay.get(r.name) == "done"}
    insert_rows(db, placed, kept, tries or {}, origin=spawner_name)
    for waiting, need in needs:
        ids = ids_of(db, [waiting, need])
        if len(ids) != 2:
            raise StoreError(f"stage '{spawner_name}' adds a need between unknown stages: {waiting} -> {need}")
        (state,) = db.execute("SELECT state FROM stages WHERE id = ?", (ids[waiting],)).fetchone()
        if replay is None and state not in ("pending", "ready"):
            raise StoreError(f"stage '{spawner_name}' adds a need to stage '{waiting}', which is already {state}")
        db.execute("INSERT INTO edges (parent, child) VALUES (?, ?)", (ids[need], ids[waiting]))
    if replay is not None:
        return
    db.execute("INSERT INTO expansions (spawner, payload) VALUES (?, ?)",
               (spawner_name, json.dumps({"stages": [r._asdict() for r in rows], "needs": list(needs)})))
    touched = [r.id for r in placed] + [ids_of(db, [w])[w] for w, _ in needs]
    for stage_id in touched:
        (remaining,) = db.execute(
            "SELECT count(*) FROM edges e JOIN stages p ON p.id = e.parent WHERE e.child = ? AND p.state NOT IN "
            "('done', 'failed', 'skipped')", (stage_id,)).fetchone()
        db.execute("UPDATE stages SET remaining = ?, state = 'pending' WHERE id = ? AND state IN ('pending', 'ready')",
                   (remaining, stage_id))
        if remaining == 0:
            decide(db, stage_id)


def replay_expansions(db: Connection, old_states: dict[str, str], tries: dict[str, int]) -> None:
    """After the plan was loaded again: re-add what spawners that are still done had added, in order, with
    the states those stages had; drop the records of spawners that will run again."""
    for exp_id, spawner, payload in db.execute("SELECT id, spawner, payload FROM expansions ORDER BY id").fetchall():
        row = db.execute("SELECT id, rank, state FROM stages WHERE name = ?", (spawner,)).fetchone()
        if row is None or row[2] != "done":
            db.execute("DELETE FROM expansions WHERE id = ?", (exp_id,))
            continue
        doc = json.loads(payload)
        rows = [StageRow(**{**r, "needs": tuple(r["needs"])}) for r in doc["stages"]]
        apply_expansion(db, (row[0], spawner, row[1]), rows, [tuple(n) for n in doc["needs"]], replay=old_states,
                        tries=tries)
    # a stage kept as done whose needs are not all done any more (something upstream changed) runs again
    while True:
        cur = db.execute("UPDATE stages SET state = 'pending' WHERE state = 'done' AND origin IS NOT NULL AND "
                         "EXISTS (SELECT 1 FROM edges e JOIN stages p ON p.id = e.parent "
                         "WHERE e.child = stages.id AND p.state != 'done')")
        if cur.rowcount == 0:
            break


def drop_added_by(db: Connection, names: Iterable[str]) -> None:
    """Remove the stages (and their needs) that these stages added at run time, recursively."""
    todo = list(names)
    while todo:
        spawner = todo.pop()
        added = db.execute("SELECT id, name FROM stages WHERE origin = ?", (spawner,)).fetchall()
        for stage_id, name in added:
            todo.append(name)
            db.execute("DELETE FROM edges WHERE parent = ? OR child = ?", (stage_id, stage_id))
            db.execute("DELETE FROM stages WHERE id = ?", (stage_id,))
        db.execute("DELETE FROM expansions WHERE spawner = ?", (spawner,))
