"""executor.store.postgres: what only the PostgreSQL store does (the contract is test_store.py): runs named in
the URL, pilots claiming at the same moment from many connections, waking idle pilots, and losing the
connection (a real server behind a TCP relay that can cut it)."""

import threading
import time
from typing import Any
from urllib.parse import urlsplit

import pytest

from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.store import open_store, store_exists
from cwlpilot.executor.store.base import ClaimRequest, State
from cwlpilot.executor.store.pg_connection import StoreUnavailable, split_url

from ..e2e.pgproxy import Proxy
from .helpers_store import claim_all, finish, rows, stages


def test_a_run_is_named_in_the_url_and_runs_share_a_database(pg_url):
    assert split_url("postgresql://u@h:5/db?run=tf_1&sslmode=disable") == ("postgresql://u@h:5/db?sslmode=disable",
                                                                           "cwlpilot_tf_1")
    assert split_url("postgresql://u@h/db")[1] == "cwlpilot"
    with pytest.raises(StoreError, match="a run name is 1 to 40 of a-z, 0-9 and _"):
        split_url("postgresql://u@h/db?run=Bad-Name")
    other_url = pg_url + "x"
    assert not store_exists(pg_url)
    one, two = open_store(pg_url), open_store(other_url)
    try:
        one.sync_plan(rows(stages({"a": [], "b": ["a"]})), {"run_id": "one"})
        two.sync_plan(rows(stages({"z": []})), {"run_id": "two"})
        assert store_exists(pg_url) and store_exists(other_url)
        assert [s.name for s in one.statuses()] == ["a", "b"] and [s.name for s in two.statuses()] == ["z"]
    finally:
        one.close()
        two.close()
        import psycopg

        with psycopg.connect(split_url(other_url)[0], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{split_url(other_url)[1]}" CASCADE')


def test_a_server_that_cannot_be_reached_is_said_at_once():
    t0 = time.monotonic()
    with pytest.raises(StoreError, match="cannot connect to the store"):
        open_store("postgresql://nobody@127.0.0.1:1/none")
    assert time.monotonic() - t0 < 5


def test_pilots_claiming_at_once_from_many_connections_run_every_stage_once(pg_url):
    """Four pilots (threads, a connection each) drain 240 stages, chains and a semaphore among them: every stage
    is claimed once, after its needs, and the semaphore is never held twice."""
    plan = {f"s{i}": ([f"s{i - 40}"] if i >= 40 else []) for i in range(240)}
    specs = stages(plan)
    specs = [s.__class__(**{**s.__dict__, "semaphore": "disk" if s.index % 10 == 0 else None}) for s in specs]
    setup = open_store(pg_url)
    setup.sync_plan(rows(specs), {"run_id": "race"})
    setup.close()
    needs = {s.name: s.needs for s in specs}
    sem = {s.name for s in specs if s.semaphore}
    done: list[str] = []
    holder: list[str] = []
    problems: list[str] = []
    lock = threading.Lock()

    def pilot(k: int) -> None:
        store = open_store(pg_url)
        me = store.register_pilot(f"host{k}", k, 0.0, 4, 100)
        held: list[Any] = []
        while True:
            def pick(ready, taken=()):  # three slots
                return [ClaimRequest(r.id, 1, 10, False, r.semaphore) for r in ready[:3 - len(taken)]]

            with lock:  # ended before the end is committed: a claim that does not see it here is a real fault
                done.extend(c.name for c in held)
                for c in held:
                    if c.name in sem:
                        holder.remove(c.name)
            accepted, claims = store.cycle(me, [finish(c) for c in held], pick, 3, 0.0)
            with lock:
                if not all(accepted):
                    problems.append(f"ends refused: {held}")
                for c in claims:
                    if any(n not in done for n in needs[c.name]):
                        problems.append(f"{c.name} claimed before its needs")
                    if c.name in sem:
                        if holder:
                            problems.append(f"{c.name} claimed while {holder} holds the semaphore")
                        holder.append(c.name)
            held = claims
            if not held and store.progress().active == 0:
                break
        store.close()

    threads = [threading.Thread(target=pilot, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert problems == []
    assert sorted(done) == sorted(plan) and len(done) == len(set(done))
    check = open_store(pg_url)
    assert {a.state for a in check.attempts()} == {"done"} and len(check.attempts()) == 240
    assert len({a.pilot for a in check.attempts()}) > 1
    check.close()


def test_an_idle_pilot_is_woken_when_stages_become_ready(pg_url):
    a = open_store(pg_url)
    a.sync_plan(rows(stages({"first": [], "second": ["first"]})), {"run_id": "w"})
    b = open_store(pg_url)
    pa = a.register_pilot("h", 1, 0.0, 1, 1)
    (first,) = claim_all(a, pa)
    t0 = time.monotonic()
    b.idle_wait(0.25, 0.5)  # nothing happens: it waits as long as it was allowed
    assert time.monotonic() - t0 >= 0.45
    woke: list[float] = []

    def wait() -> None:
        b.idle_wait(0.25, 20.0)
        woke.append(time.monotonic())

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    sent = time.monotonic()
    a.finish(pa, [finish(first)])  # makes "second" ready: NOTIFY
    waiter.join(20)
    assert woke and woke[0] - sent < 2.0
    assert [r.name for r in b.ready(5)] == ["second"]
    a.close()
    b.close()


@pytest.fixture
def relay(pg_server):
    parts = urlsplit(pg_server[0])
    proxy = Proxy(parts.hostname, parts.port)
    yield proxy
    proxy.close()


def _through(relay, pg_url):
    return relay.url(pg_url)


def test_a_lost_connection_is_made_again_and_the_call_goes_through(pg_url, relay):
    store = open_store(_through(relay, pg_url), lease=20)
    store.sync_plan(rows(stages({"a": [], "b": []})), {"run_id": "r"})
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    relay.cut(refuse=True)
    threading.Timer(0.5, relay.restore).start()  # a server restart: down for half a second
    claims = claim_all(store, pilot)
    assert sorted(c.name for c in claims) == ["a", "b"]
    assert store.finish(pilot, [finish(c) for c in claims]) == [True, True]
    store.close()


def test_a_commit_whose_answer_was_lost_is_found_and_its_claims_kept(pg_url, relay):
    """The server commits a cycle (one end, two claims) but the pilot never hears it: on reconnecting it finds
    that the cycle took effect and gets its claims, instead of leaving them held by nobody or claiming again."""
    store = open_store(_through(relay, pg_url), lease=20)
    store.sync_plan(rows(stages({"a": [], "b": ["a"], "c": ["a"]})), {"run_id": "r"})
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    (a,) = store.claim(pilot, [ClaimRequest(0, 1, 10, False)], 0.0)
    relay.lose_next_commit_answer = True
    accepted, claims = store.cycle(pilot, [finish(a)], lambda ready, held=(): [ClaimRequest(r.id, 1, 10, False)
                                                                        for r in ready], 5, 0.0)
    assert relay.lose_next_commit_answer is False, "the relay did not cut the COMMIT's answer"
    assert accepted == [True] and sorted(c.name for c in claims) == ["b", "c"]
    st = {s.name: s.state for s in store.statuses()}
    assert st == {"a": State.DONE, "b": State.RUNNING, "c": State.RUNNING}
    assert [x.state for x in store.attempts()] == ["done", "running", "running"]  # each claimed once
    assert store.finish(pilot, [finish(c) for c in claims]) == [True, True]
    store.close()


def test_a_pilot_out_of_reach_for_half_its_lease_gives_up(pg_url, relay):
    store = open_store(_through(relay, pg_url), lease=1.0)
    store.sync_plan(rows(stages({"a": []})), {"run_id": "r"})
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    relay.cut(refuse=True)
    t0 = time.monotonic()
    with pytest.raises(StoreUnavailable, match="this pilot stops its stages before other pilots take them over"):
        claim_all(store, pilot)
    assert time.monotonic() - t0 < 3


def test_a_pilot_presumed_dead_while_out_of_reach_learns_it_on_reconnecting(pg_url, relay):
    store = open_store(_through(relay, pg_url), lease=30)
    store.sync_plan(rows(stages({"a": []})), {"run_id": "r"})
    pilot = store.register_pilot("far", 1, 0.0, 1, 1)
    claim_all(store, pilot)
    relay.cut(refuse=True)
    other = open_store(pg_url)  # another pilot, still reaching the server, takes the stage over
    other.requeue_pilot(pilot, "lost: pilot died")
    relay.restore()
    with pytest.raises(StoreError, match="this pilot was presumed dead while the store was out of reach"):
        store.progress()
    assert [s.state for s in other.statuses()] == [State.READY]
    other.close()


def test_after_its_pilot_ended_a_connection_reconnects_for_the_reports(pg_url, relay):
    """`cwlpilot run` reports from the store its pilot used: losing the connection then is an outage to
    wait out, not a pilot presumed dead."""
    store = open_store(_through(relay, pg_url), lease=20)
    store.sync_plan(rows(stages({"a": []})), {"run_id": "r"})
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    store.finish(pilot, [finish(c) for c in claim_all(store, pilot)])
    store.requeue_pilot(pilot, "interrupted")  # how a pilot ends (Pilot._shutdown)
    relay.cut(refuse=True)
    threading.Timer(0.5, relay.restore).start()
    assert [s.state for s in store.statuses()] == [State.DONE]
    store.close()


def _drain(store, pilot, slots=1):
    """A pilot's loop with `slots` stages at a time, each ending at once: (names in the order claimed)."""
    def pick(ready, taken=()):
        return [ClaimRequest(r.id, 1, 10, False) for r in ready[:slots - len(taken)]]

    held: list[Any] = []
    order: list[str] = []
    while True:
        accepted, held = store.cycle(pilot, [finish(c) for c in held], pick, slots + 4, 0.0)
        assert all(accepted)
        order += [c.name for c in held]
        if not held:
            return order


def test_a_cycle_is_one_statement_when_the_queue_it_read_still_stands(pg_url, relay):
    """Independent stages: after the first read, every cycle records the last end and claims the next stage
    in one statement (it took two before, in one transaction)."""
    store = open_store(_through(relay, pg_url), lease=20)
    store.sync_plan(rows(stages({f"s{i}": [] for i in range(20)})), {"run_id": "r"})
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    before = relay.statements
    assert sorted(_drain(store, pilot), key=lambda n: int(n[1:])) == [f"s{i}" for i in range(20)]
    assert relay.statements - before <= 20 + 3  # the first read, 20 cycles, the last end
    store.close()


def test_a_pilot_holding_enough_of_the_queue_does_not_read_it_again(pg_url, relay):
    """The queue read with a claim serves the next picks while it still offers as many stages as the pilot
    may pick from (`limit`): 40 stages claimed one by one read it about once every six cycles, not 40 times."""
    store = open_store(_through(relay, pg_url), lease=20)
    store.sync_plan(rows(stages({f"s{i}": [] for i in range(40)})), {"run_id": "r"})
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    before, statements = relay.rows, relay.statements
    assert sorted(_drain(store, pilot), key=lambda n: int(n[1:])) == [f"s{i}" for i in range(40)]
    assert relay.statements - statements <= 40 + 3
    # a claim row per stage and reads of 10 rows; read at every cycle, it would be 40 x (1 + 10)
    assert relay.rows - before < 40 + 10 * 10
    store.close()


def test_a_stage_ready_again_is_claimed_first_by_a_pilot_that_did_not_read_the_queue(pg_url):
    """b's x0 is ready again (a retry) after a read the queue with its claim of x1: a's next pick, made on
    what it read, does not stand (x0 ranks first), and a claims x0."""
    a, b = open_store(pg_url), open_store(pg_url)
    a.sync_plan(rows(stages({f"x{i}": [] for i in range(12)})), {"run_id": "r"})
    pa, pb = a.register_pilot("h", 1, 0.0, 1, 1), b.register_pilot("h", 2, 0.0, 1, 1)
    one = lambda ready, held=(): [ClaimRequest(r.id, 1, 10, False) for r in ready[:1 - len(held)]]  # noqa: E731
    _, (x0,) = b.cycle(pb, [], one, 5, 0.0)
    _, (x1,) = a.cycle(pa, [], one, 5, 0.0)
    assert (x0.name, x1.name) == ("x0", "x1")
    assert b.cycle(pb, [finish(x0, ok=False, retry=True)], lambda ready, held=(): [], 0, 0.0)[0] == [True]
    _, (again,) = a.cycle(pa, [finish(x1)], one, 5, 0.0)
    assert again.name == "x0" and again.number == 2
    a.close()
    b.close()


def test_a_chain_takes_two_statements_per_stage(pg_url, relay):
    """The next stage of a chain becomes ready only with the end of the one before: a second call claims it."""
    store = open_store(_through(relay, pg_url), lease=20)
    store.sync_plan(rows(stages({"c0": [], **{f"c{i}": [f"c{i - 1}"] for i in range(1, 10)}})), {"run_id": "c"})
    pilot = store.register_pilot("h", 1, 0.0, 1, 1)
    before = relay.statements
    assert _drain(store, pilot) == [f"c{i}" for i in range(10)]
    assert relay.statements - before <= 2 * 10 + 2
    store.close()


def test_a_pick_on_a_queue_another_pilot_changed_is_made_again(pg_url):
    """Pilot a read the queue (x2, x3, x4) when it claimed x1; b then claims x2. a's next pick, made on what
    it read, is refused by the server and made again on the queue as it stands; and the same for b."""
    a, b = open_store(pg_url), open_store(pg_url)
    a.sync_plan(rows(stages({f"x{i}": [] for i in range(1, 5)})), {"run_id": "r"})
    pa, pb = a.register_pilot("h", 1, 0.0, 1, 1), b.register_pilot("h", 2, 0.0, 1, 1)
    one = lambda ready, held=(): [ClaimRequest(r.id, 1, 10, False) for r in ready[:1 - len(held)]]  # noqa: E731
    _, (x1,) = a.cycle(pa, [], one, 5, 0.0)
    _, (x2,) = b.cycle(pb, [], one, 5, 0.0)
    _, (x3,) = a.cycle(pa, [finish(x1)], one, 5, 0.0)  # a's queue offered x2 first
    _, (x4,) = b.cycle(pb, [finish(x2)], one, 5, 0.0)  # b's offered x3 first
    assert [c.name for c in (x1, x2, x3, x4)] == ["x1", "x2", "x3", "x4"]
    assert a.cycle(pa, [finish(x3)], one, 5, 0.0)[1] == [] and b.cycle(pb, [finish(x4)], one, 5, 0.0)[1] == []
    assert sorted(x.state for x in a.attempts()) == ["done"] * 4  # each claimed once
    a.close()
    b.close()


def test_a_pick_another_pilot_claimed_first_leaves_no_room_unused(pg_url):
    """a (two slots) read x3..x6 when it claimed x1 and x2; b claims x3. a's next picks, x3 and x4, stand (no
    better stage is new), but x3 is taken: a picks again for the room left, counting x4 as taken."""
    a, b = open_store(pg_url), open_store(pg_url)
    a.sync_plan(rows(stages({f"x{i}": [] for i in range(1, 7)})), {"run_id": "r"})
    pa, pb = a.register_pilot("h", 1, 0.0, 2, 20), b.register_pilot("h", 2, 0.0, 1, 10)

    def slots(n):
        return lambda ready, held=(): [ClaimRequest(r.id, 1, 10, False) for r in ready[:n - len(held)]]

    _, first = a.cycle(pa, [], slots(2), 6, 0.0)
    _, (x3,) = b.cycle(pb, [], slots(1), 5, 0.0)
    assert sorted(c.name for c in first) == ["x1", "x2"] and x3.name == "x3"
    _, second = a.cycle(pa, [finish(c) for c in first], slots(2), 6, 0.0)
    assert sorted(c.name for c in second) == ["x4", "x5"]
    a.close()
    b.close()
