"""Property tests of the scheduler's invariants, on the real store and the real selection and retry code.

Processes are simulated (each attempt ends after a drawn duration, succeeding or failing as drawn): the
things under test are the decisions, not fork/exec.
"""

import heapq
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cwlpilot.executor.booking import Limits, Request, Usage, booking, select
from cwlpilot.executor.condition import evaluate, parse
from cwlpilot.executor.graph import ranks
from cwlpilot.executor.outcome import Ended, conclude
from cwlpilot.executor.plan import Stage
from cwlpilot.executor.retry import RetryRule
from cwlpilot.executor.store.base import ClaimRequest, StageRow, State
from cwlpilot.executor.store.sqlite import SQLiteStore


@st.composite
def plans(draw):
    n = draw(st.integers(1, 14))
    out = []
    for i in range(n):
        needs = draw(st.sets(st.integers(0, i - 1), max_size=3)) if i else set()
        names = [f"s{j}" for j in sorted(needs)]
        condition = None
        if names and draw(st.booleans()):  # a random condition over the needs
            tests = [f"{draw(st.sampled_from(['done', 'failed', 'skipped', 'ended']))}({n})" for n in names]
            condition = draw(st.sampled_from([" && ", " || "])).join(tests)
            condition = f"!({condition})" if draw(st.booleans()) else condition
        out.append(Stage(name=f"s{i}", cmd="x", index=i, needs=tuple(names),
                         cpu=draw(st.sampled_from([0.5, 1, 2, 3])), mem=draw(st.sampled_from([-1, 100, 500])),
                         retry_count=draw(st.integers(0, 2)),
                         semaphore=draw(st.sampled_from([None, None, None, "lock"])), condition=condition))
    return out


RULES = (RetryRule("no_retry", exit_codes=(3,)), RetryRule("increase_memory", value=1.5, exit_codes=(4,)))


def simulate(plan, limits, outcomes, durations, keep_going=True):
    """Drive the store like a pilot does; return the store, the log of (time, event) and budget checks."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "sim.db")
        rank = ranks(plan)
        store.sync_plan([StageRow(s.index, s.name, "{}", s.fingerprint(), rank[s.name], s.needs, s.cpu, s.mem,
                                  None, s.semaphore, s.retry_count, s.condition) for s in plan], {"run_id": "sim"})
        pilot = store.register_pilot("h", 1, 0.0, limits.cpu, limits.mem)
        by_id = {s.index: s for s in plan}
        running: list[tuple[float, int, Any]] = []
        events: list[tuple[Any, ...]] = []
        now, draws = 0.0, 0
        while True:
            usage = Usage(sum(c.cpu for _, _, c in running), sum(c.mem for _, _, c in running), len(running),
                          sum(c.backfill for _, _, c in running),
                          frozenset(by_id[c.stage_id].semaphore for _, _, c in running if by_id[c.stage_id].semaphore))

            def pick(ready, held=(), usage=usage):
                reqs = [Request(r.id, *booking(r.cpu, r.mem, limits, r.mem_factor), r.semaphore)
                        for r in ready]
                usage = usage._replace(cpu=usage.cpu + sum(c.cpu for c in held),
                                       mem=usage.mem + sum(c.mem for c in held), jobs=usage.jobs + len(held),
                                       backfill_jobs=usage.backfill_jobs + sum(c.backfill for c in held))
                return [ClaimRequest(c.request.id, c.request.cpu, c.request.mem, c.backfill, c.request.semaphore)
                        for c in select(reqs, usage, limits)]

            _, claims = store.cycle(pilot, [], pick, 100, now)
            now_states = {s.name: s.state for s in store.statuses()}
            ended = (State.DONE, State.FAILED, State.SKIPPED)
            for c in claims:
                stage = by_id[c.stage_id]
                ok = all(now_states[n] is State.DONE for n in stage.needs) if stage.condition is None else \
                    all(now_states[n] in ended for n in stage.needs) and \
                    evaluate(parse(stage.condition), {n: now_states[n].value for n in stage.needs})
                events.append(("start", c.name, c.number, ok))
                heapq.heappush(running, (now + durations[draws % len(durations)], c.attempt_id, c))
                draws += 1
            cpu = sum(c.cpu for _, _, c in running if not c.backfill)
            total_cpu = sum(c.cpu for _, _, c in running)
            mem = sum(c.mem for _, _, c in running)
            sems = [by_id[c.stage_id].semaphore for _, _, c in running if by_id[c.stage_id].semaphore]
            events.append(("budget", cpu <= limits.cpu + 1e-9 or any(c.backfill for _, _, c in running),
                           total_cpu <= limits.cpu * limits.backfill_factor + 1e-9 and mem <= limits.mem + 1e-9
                           and len(running) <= limits.max_jobs and len(sems) == len(set(sems))))
            if not running:
                break
            now, _, claim = heapq.heappop(running)
            code = outcomes[draws % len(outcomes)]
            stage = by_id[claim.stage_id]
            fin, _ = conclude(claim, Ended(exit_code=code, end=now), stage.retry_count, RULES, "log")
            events.append(("end", claim.name, claim.counted + 1, fin.ok))
            store.finish(pilot, [fin])
        statuses = {s.name: s for s in store.statuses()}
        store.close()
        return statuses, events


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), cpu=st.sampled_from([1, 2, 4]), mem=st.sampled_from([600, 2000]),
       backfill=st.integers(0, 1), outcomes=st.lists(st.sampled_from([0, 0, 0, 1, 3, 4]), min_size=1, max_size=20),
       durations=st.lists(st.floats(0.1, 5), min_size=1, max_size=10))
def test_invariants_hold_for_any_plan_and_any_outcomes(plan, cpu, mem, backfill, outcomes, durations):
    limits = Limits(cpu=cpu, mem=mem, max_jobs=3, n_backfill=backfill, optimistic=True)
    statuses, events = simulate(plan, limits, outcomes, durations)
    # never over budget (backfill within its documented bound), semaphores exclusive
    assert all(ok_normal and ok_total for kind, ok_normal, ok_total, *_ in
               [e + (None,) for e in events if e[0] == "budget"])
    # a stage starts only after every stage it needs is done (with a condition: has ended, and it holds)
    assert all(e[3] for e in events if e[0] == "start")
    # every stage ends in exactly one terminal state, and the simulation drained
    assert all(s.state in (State.DONE, State.FAILED, State.SKIPPED) for s in statuses.values())
    # attempts never exceed retry_count + 1
    by_name = {s.name: s for s in plan}
    for s in statuses.values():
        assert s.attempts <= by_name[s.name].retry_count + 1
    ends: dict[str, Any] = {}
    for e in events:
        if e[0] == "end":
            ends.setdefault(e[1], []).append(e[3])
    for name, results in ends.items():
        assert len(results) <= by_name[name].retry_count + 1
        assert statuses[name].state is (State.DONE if results[-1] else State.FAILED)
        assert all(not ok for ok in results[:-1])  # nothing runs again after it succeeded
    # without a condition: done stages had all needs done, skipped ones a failed or skipped need;
    # with one: the stage ran exactly when the condition held over how its needs ended
    for s in plan:
        state = statuses[s.name].state
        final = {n: statuses[n].state.value for n in s.needs}
        if s.condition is not None:
            assert (s.name in ends) == evaluate(parse(s.condition), final)
        elif state is State.DONE:
            assert all(v == "done" for v in final.values())
        if state is State.SKIPPED:
            assert s.name not in ends
            assert s.condition is not None or any(v in ("failed", "skipped") for v in final.values())
