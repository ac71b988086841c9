"""The store contract, run against every store (SQLite and PostgreSQL): the state machine, atomic claims,
semaphores across pilots, heartbeats and requeueing, stages added at run time, keeping finished work."""

import time

import pytest

from cwlpilot.executor.store import open_store
from cwlpilot.executor.store.base import ClaimRequest, State
from cwlpilot.executor.takeover import live_pilots, requeue_dead_pilots

from .helpers_store import claim_all, finish, rows, stages

PLAN = {"a": [], "b": ["a"], "c": ["a"], "d": ["b", "c"], "e": []}


@pytest.fixture(params=["sqlite", "postgresql"])
def connect(request, tmp_path):
    """A function opening one more connection to the same, fresh store (as one more pilot would)."""
    url = f"sqlite:///{tmp_path}/run.db" if request.param == "sqlite" else request.getfixturevalue("pg_url")
    opened = []

    def open_another():
        opened.append(open_store(url))
        return opened[-1]

    yield open_another
    for s in opened:
        s.close()


@pytest.fixture
def store(connect, tmp_path):
    s = connect()
    s.sync_plan(rows(stages(PLAN)), {"workdir": str(tmp_path), "run_id": "r1"})
    return s


def states(store):
    return {s.name: s.state.value for s in store.statuses()}


def test_only_stages_without_needs_start_ready(store):
    assert states(store) == {"a": "ready", "b": "pending", "c": "pending", "d": "pending", "e": "ready"}


def test_done_releases_dependents_only_when_all_needs_are_done(store):
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    claims = {c.name: c for c in claim_all(store, pilot)}
    assert set(claims) == {"a", "e"}
    assert store.finish(pilot, [finish(claims["a"])]) == [True]
    claims = {c.name: c for c in claim_all(store, pilot)}
    assert set(claims) == {"b", "c"}
    store.finish(pilot, [finish(claims["b"])])
    assert states(store)["d"] == "pending"
    store.finish(pilot, [finish(claims["c"])])
    assert states(store)["d"] == "ready"


def test_final_failure_skips_everything_downstream_with_the_reason(store):
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    claims = {c.name: c for c in claim_all(store, pilot)}
    store.finish(pilot, [finish(claims["a"], ok=False)])
    st = {s.name: s for s in store.statuses()}
    assert [st[n].state for n in "abcd"] == [State.FAILED, State.SKIPPED, State.SKIPPED, State.SKIPPED]
    assert st["d"].reason == "needs failed stage 'a'"
    assert st["e"].state is State.RUNNING


def test_retry_makes_the_stage_ready_again_and_counts_the_attempt(store):
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    a = next(c for c in claim_all(store, pilot) if c.name == "a")
    store.finish(pilot, [finish(a, ok=False, retry=True)])
    again = next(c for c in claim_all(store, pilot) if c.name == "a")
    assert (again.number, again.counted) == (2, 1)
    assert [x.state for x in store.attempts() if x.stage == "a"] == ["retried", "running"]


def test_a_claim_is_taken_once_even_when_two_pilots_race(store, connect):
    other = connect()
    p1, p2 = store.register_pilot("h", 1, 0.0, 1, 1), other.register_pilot("h", 2, 0.0, 1, 1)
    ready = store.ready(10)
    first = claim_all(store, p1)
    second = other.claim(p2, [ClaimRequest(r.id, 1, 10, False) for r in ready], 0.0)
    assert {c.name for c in first} == {"a", "e"} and second == []


def test_requeue_of_a_dead_pilot_loses_its_attempts_without_counting_them(store):
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    claims = claim_all(store, pilot)
    lost = store.requeue_pilot(pilot, "lost: pilot died")
    assert sorted(lost) == sorted(c.attempt_id for c in claims)
    assert states(store)["a"] == "ready"
    # the dead pilot's late result is refused: nothing counts twice
    assert store.finish(pilot, [finish(claims[0])]) == [False]
    new = store.register_pilot("h", 2, 0.0, 1, 1)
    again = {c.name: c for c in claim_all(store, new)}
    assert (again["a"].number, again["a"].counted) == (2, 0)


def test_semaphore_is_never_held_twice(connect):
    s = connect()
    plan = stages({"x": [], "y": [], "z": []})
    plan = [st.__class__(**{**st.__dict__, "semaphore": None if st.name == "z" else "lock"}) for st in plan]
    s.sync_plan(rows(plan), {"run_id": "r"})
    pilot = s.register_pilot("h", 1, 0.0, 1, 1)
    assert sorted(c.name for c in claim_all(s, pilot)) == ["x", "z"]
    assert s.ready(10) == []
    other = connect()  # another pilot, offered the held semaphore's other stage, does not get it
    p2 = other.register_pilot("h", 2, 0.0, 1, 1)
    y = next(st for st in s.statuses() if st.name == "y")
    assert y.state is State.READY
    assert other.claim(p2, [ClaimRequest(1, 1, 10, False, "lock")], 0.0) == []


def test_a_pilot_without_heartbeats_is_presumed_dead_and_its_stages_requeued(store):
    remote = store.register_pilot("far-away-node", 4242, 0.0, 1, 1, batch_job="77_1")
    claims = claim_all(store, remote)
    assert store.pilots()[0].batch_job == "77_1"
    assert [p.id for p in live_pilots(store, "here", 60)] == [remote]
    time.sleep(0.2)
    assert live_pilots(store, "here", 0.1) == []
    messages = requeue_dead_pilots(store, "r1", "here", 0.1)
    assert messages == [f"pilot {remote} (pid 4242 on far-away-node) is gone: 2 interrupted stage(s) will run again"]
    assert {s.state.value for s in store.statuses() if s.name in "ae"} == {"ready"}
    assert [a.state for a in store.attempts()] == ["lost", "lost"] and len(claims) == 2
    assert store.heartbeat(remote) is False  # a pilot presumed dead learns it at its next heartbeat


def test_sync_keeps_done_stages_and_reruns_changed_ones_with_their_downstream(store):
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    for _ in range(3):
        store.finish(pilot, [finish(c) for c in claim_all(store, pilot)])
    assert set(states(store).values()) == {"done"}
    changed = stages(PLAN)
    changed[1] = changed[1].__class__(**{**changed[1].__dict__, "cmd": "new b"})
    report = store.sync_plan(rows(changed), {"run_id": "r1"})
    assert (report.kept, report.rerun) == (3, ["b", "d"])
    assert states(store) == {"a": "done", "b": "ready", "c": "done", "d": "pending", "e": "done"}


def test_a_stage_its_kind_bypassed_keeps_the_reason_when_the_plan_is_loaded_again(store):
    """A CWL step whose `when` is false is done, without running, and shown as skipped for that reason; a
    resume (the same plan loaded again) keeps it so."""
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    claims = {c.name: c for c in claim_all(store, pilot)}
    bypass = "skipped: its `when` is false"
    store.finish(pilot, [finish(claims["a"]), finish(claims["e"])._replace(rule=bypass, reason=bypass)])
    store.sync_plan(rows(stages(PLAN)), {"run_id": "r1"})
    st = {s.name: s for s in store.statuses()}
    assert (st["e"].state, st["e"].reason) == (State.DONE, bypass) and st["a"].reason == ""


def test_reset_unfinished_gives_failed_and_skipped_stages_a_fresh_start(store):
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    claims = {c.name: c for c in claim_all(store, pilot)}
    store.finish(pilot, [finish(claims["a"], ok=False), finish(claims["e"])])
    store.request_stop("stage 'a' failed")
    store.reset_unfinished()
    assert states(store) == {"a": "ready", "b": "pending", "c": "pending", "d": "pending", "e": "done"}
    assert store.progress().stop_reason is None


def test_wanted_restricts_ready_stages_and_progress(store):
    store.set_wanted(["a", "b"])
    assert [r.name for r in store.ready(10)] == ["a"]
    assert store.progress().total == 2


@pytest.fixture
def make_store(connect):
    def make(plan, conditions=None):
        s = connect()
        rs = [r._replace(condition=(conditions or {}).get(r.name)) for r in rows(stages(plan))]
        s.sync_plan(rs, {"run_id": "c"})
        return s

    return make


def test_conditions_choose_a_branch_after_a_failure(make_store):
    from cwlpilot.executor.runner import succeeded

    s = make_store({"top": [], "ok": ["top"], "ng": ["top"], "after_ok": ["ok"]},
                   {"ok": "done(top)", "ng": "failed(top)"})
    pilot = s.register_pilot("h", 1, 0.0, 1, 1)
    (top,) = claim_all(s, pilot)
    s.finish(pilot, [finish(top, ok=False)])
    st = {x.name: x for x in s.statuses()}
    assert (st["ok"].state, st["ok"].reason) == (State.SKIPPED, "condition false: done(top)")
    assert st["after_ok"].reason == "needs skipped stage 'ok' (condition false: done(top))"
    assert st["ng"].state is State.READY and st["top"].handled
    (ng,) = claim_all(s, pilot)
    s.finish(pilot, [finish(ng)])
    assert succeeded(s.statuses())


def test_an_unhandled_failure_is_not_success(make_store):
    from cwlpilot.executor.runner import succeeded

    s = make_store({"top": [], "ok": ["top"]}, {"ok": "done(top)"})
    pilot = s.register_pilot("h", 1, 0.0, 1, 1)
    s.finish(pilot, [finish(c, ok=False) for c in claim_all(s, pilot)])
    assert {x.name: x.state.value for x in s.statuses()} == {"top": "failed", "ok": "skipped"}
    assert not succeeded(s.statuses())


def test_a_condition_waits_for_every_need_to_end(make_store):
    s = make_store({"a": [], "b": [], "c": ["a", "b"]}, {"c": "failed(a) || done(b)"})
    pilot = s.register_pilot("h", 1, 0.0, 1, 1)
    claims = {c.name: c for c in claim_all(s, pilot)}
    s.finish(pilot, [finish(claims["a"], ok=False)])
    assert states(s)["c"] == "pending"  # b has not ended yet
    s.finish(pilot, [finish(claims["b"])])
    assert states(s)["c"] == "ready"


def added(*specs, needs=()):
    from cwlpilot.executor.kinds import Expansion, additions

    return additions(Expansion(tuple(specs), tuple(needs)))


def test_added_stages_run_and_hold_back_the_stages_that_wait_for_them(make_store):
    s = make_store({"j0": [], "gate": ["j0"]})
    pilot = s.register_pilot("h", 1, 0.0, 1, 1)
    (j0,) = claim_all(s, pilot)
    more = added({"name": "body1", "cmd": "x", "needs": ["j0"]}, {"name": "j1", "cmd": "x", "needs": ["body1"]},
                 needs=[("gate", "j1")])
    assert s.finish(pilot, [finish(j0)._replace(expansion=more)]) == [True]
    assert states(s) == {"j0": "done", "gate": "pending", "body1": "ready", "j1": "pending"}
    (b1,) = claim_all(s, pilot)
    s.finish(pilot, [finish(b1)])
    (j1,) = claim_all(s, pilot)
    s.finish(pilot, [finish(j1)])
    assert states(s)["gate"] == "ready"
    # loading the same plan again (a resume) keeps what was added and what it did
    s.sync_plan(rows(stages({"j0": [], "gate": ["j0"]})), {"run_id": "c"})
    assert states(s) == {"j0": "done", "gate": "ready", "body1": "done", "j1": "done"}
    # running the spawner again removes what it added: it will add it again
    assert s.reset_from(["j0"]) == ["body1", "gate", "j0", "j1"]
    assert states(s) == {"j0": "ready", "gate": "pending"}


def test_adding_a_stage_that_exists_fails_the_spawner(make_store):
    s = make_store({"j0": [], "other": []})
    pilot = s.register_pilot("h", 1, 0.0, 1, 1)
    claims = {c.name: c for c in claim_all(s, pilot)}
    s.finish(pilot, [finish(claims["j0"])._replace(expansion=added({"name": "other", "cmd": "x"}))])
    st = {x.name: x for x in s.statuses()}
    assert st["j0"].state is State.FAILED
    assert st["j0"].reason == "cannot add stages: stage 'j0' adds stages that already exist: other"


def test_invalid_added_stages_are_refused_before_the_store(tmp_path):
    from cwlpilot.executor.kinds import KindError

    with pytest.raises(KindError, match="cpu: 'x' is not a number"):
        added({"name": "n", "cmd": "x", "resources": {"cpu": "x"}})
    with pytest.raises(KindError, match="tests 'z', which is not one of the stage's needs"):
        added({"name": "n", "cmd": "x", "condition": "done(z)"})


def test_a_failure_that_skips_a_tested_stage_is_handled_through_it(make_store):
    """A job added at run time fails; the gather that needs it is skipped; a branch looking for that skip
    runs: the job's failure is handled, and it is known beforehand that it may be."""
    from cwlpilot.executor.runner import succeeded

    s = make_store({"split": [], "gather": ["split"], "ok": ["gather"], "rescue": ["gather"]},
                   {"ok": "done(gather)", "rescue": "failed(gather) || skipped(gather)"})
    pilot = s.register_pilot("h", 1, 0.0, 1, 1)
    (split,) = claim_all(s, pilot)
    s.finish(pilot, [finish(split)._replace(expansion=added({"name": "job0", "cmd": "x", "needs": ["split"]},
                                                            needs=[("gather", "job0")]))])
    assert s.failure_may_be_handled("job0") and s.failure_may_be_handled("gather")
    assert not s.failure_may_be_handled("ok")
    (job,) = claim_all(s, pilot)
    s.finish(pilot, [finish(job, ok=False)])
    st = {x.name: x for x in s.statuses()}
    assert (st["gather"].state, st["ok"].state, st["rescue"].state) == (State.SKIPPED, State.SKIPPED, State.READY)
    assert st["job0"].handled
    (rescue,) = claim_all(s, pilot)
    s.finish(pilot, [finish(rescue)])
    assert succeeded(s.statuses())


def _first(store, pilot, results=()):
    """One cycle claiming the best ready stage; its name, or None."""
    def pick(ready, held=()):  # one slot
        return [ClaimRequest(r.id, 1, 10, False, r.semaphore) for r in ready[:1 - len(held)]]

    _, claims = store.cycle(pilot, list(results), pick, 5, 0.0)
    return claims[0] if claims else None


def test_cycles_follow_what_another_pilot_changed(connect, tmp_path):
    """A pilot keeps the ready queue between cycles; a commit by another pilot (here one that finishes the
    need of the best-ranked stage, and one that claims a stage this pilot has seen ready) must show."""
    # "long" is the head of the critical path: once "gate" is done it outranks every "x" stage
    plan = {"gate": [], "long": ["gate"], "long2": ["long"], "long3": ["long2"], "x1": [], "x2": [], "x3": []}
    a = connect()
    a.sync_plan(rows(stages(plan)), {"workdir": str(tmp_path), "run_id": "r1"})
    b = connect()
    pa, pb = a.register_pilot("h", 1, 0.0, 1, 1), b.register_pilot("h", 2, 0.0, 1, 1)
    gate = _first(b, pb)
    assert gate.name == "gate"
    first = _first(a, pa)  # a reads the queue: x1, x2, x3
    assert first.name.startswith("x")
    taken = _first(b, pb)  # b claims the next x that a has in its queue
    assert taken.name.startswith("x") and taken.name != first.name
    b.cycle(pb, [finish(gate)], lambda ready, held=(): [], 0, 0.0)  # "long" becomes ready, best rank
    assert _first(a, pa, [finish(first)]).name == "long"
    last = _first(a, pa)
    assert last.name not in {first.name, taken.name, "long"} and last.name.startswith("x")
    assert _first(a, pa) is None and _first(b, pb) is None


def test_a_retry_or_a_release_in_the_same_cycle_is_seen_by_the_next(store):
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    a = _first(store, pilot)
    e = _first(store, pilot)
    assert {a.name, e.name} == {"a", "e"}
    assert _first(store, pilot) is None
    again = _first(store, pilot, [finish(a, ok=False, retry=True)])  # the retry is ready again at once
    assert (again.name, again.number) == ("a", 2)
    assert _first(store, pilot, [finish(again)]).name in {"b", "c"}  # released by the same cycle's finish
