"""executor.booking: bookings, the selection of stages to start, and its bounds (with property tests)."""

from hypothesis import given, settings
from hypothesis import strategies as st

from cwlpilot.executor.booking import Choice, Limits, Request, Usage, booking, never_fit, select

LIMITS = Limits(cpu=4, mem=1000, max_jobs=10, n_backfill=0)


def test_booking_of_unknown_values_and_retry_factors():
    assert booking(-1, -1, LIMITS) == (1.0, 0.0)
    assert booking(1, 300, LIMITS, mem_factor=2) == (1.0, 600.0)


def test_cpu_is_booked_as_written_whatever_relative_cpu_says():
    """Regression: `relative_cpu` was booked as a fraction of --cpu-limit (7 cores for sgnsim at
    --cpu-limit 8). O2DPG's runner books `cpu`, which its generator already scaled by relative_cpu."""
    from cwlpilot.executor.planload import parse_plan

    plan = parse_plan('{"stages": [{"name": "sgnsim_1", "cmd": "true", '
                      '"resources": {"cpu": 1.75, "mem": "4000", "relative_cpu": 0.875}}]}')
    (s,) = plan.stages
    assert booking(s.cpu, s.mem, Limits(cpu=8, mem=16000)) == (1.75, 4000.0)
    assert s.relative_cpu == 0.875


def test_optimistic_resources_clamp_instead_of_refusing():
    assert booking(16, 5000, Limits(cpu=4, mem=1000, optimistic=True)) == (4, 1000)
    assert booking(2, 5000, Limits(cpu=4, mem=1000, clamp_memory=True)) == (2, 1000)


def test_never_fit_names_the_stage_the_resource_and_both_numbers():
    assert never_fit([("sim", 8, 100), ("ok", 1, 10), ("big", 1, 4000)], LIMITS) == [
        "stage 'sim': books 8 CPU cores but the CPU limit is 4 (raise --cpu-limit, or use "
        "--optimistic-resources to clamp the booking)",
        "stage 'big': books 4000 MB but the memory limit is 1000 MB (raise --mem-limit, or use "
        "--optimistic-resources to clamp the booking)"]


def test_select_takes_in_rank_order_and_fills_gaps_with_smaller_stages():
    ready = [Request(1, 3, 100), Request(2, 2, 100), Request(3, 1, 100)]
    assert [c.request.id for c in select(ready, Usage(), LIMITS)] == [1, 3]


def test_select_respects_memory_jobs_and_semaphores():
    ready = [Request(1, 1, 600), Request(2, 1, 600), Request(3, 1, 100, "s"), Request(4, 1, 100, "s")]
    assert [c.request.id for c in select(ready, Usage(), LIMITS)] == [1, 3]
    assert select(ready, Usage(semaphores=frozenset({"s"}), mem=900), LIMITS) == []
    assert len(select([Request(i, 0.1, 1) for i in range(50)], Usage(), LIMITS)) == 10


def test_backfill_starts_one_stage_beyond_the_cpu_budget_only_when_nothing_fits():
    limits = Limits(cpu=4, mem=1000, max_jobs=10, n_backfill=1, backfill_factor=1.5)
    busy = Usage(cpu=4, mem=100, jobs=2)
    assert select([Request(1, 2, 100), Request(2, 1, 100)], busy, limits) == [Choice(Request(1, 2, 100), True)]
    assert select([Request(1, 3, 100)], busy, limits) == []  # 7 > 1.5 x 4
    assert select([Request(1, 1, 100)], Usage(cpu=4, mem=100, jobs=2, backfill_jobs=1), limits) == []
    assert select([Request(1, 1, 950)], busy, limits) == []  # memory is never overbooked
    assert select([Request(1, 1, 100)], Usage(), limits) == [Choice(Request(1, 1, 100), False)]


requests = st.lists(st.builds(Request, id=st.integers(0, 10**6), cpu=st.sampled_from([0.5, 1, 2, 3, 4]),
                              mem=st.sampled_from([0, 100, 400, 900]),
                              semaphore=st.sampled_from([None, None, "a", "b"])), max_size=30)
limits_st = st.builds(Limits, cpu=st.sampled_from([1, 2, 4, 8]), mem=st.sampled_from([500, 1000, 4000]),
                      max_jobs=st.integers(1, 12), n_backfill=st.integers(0, 2),
                      backfill_factor=st.sampled_from([1.0, 1.5, 2.0]))


@settings(max_examples=300)
@given(ready=requests, limits=limits_st, used_cpu=st.floats(0, 8), used_mem=st.floats(0, 4000),
       jobs=st.integers(0, 12))
def test_selection_never_exceeds_the_budget(ready, limits, used_cpu, used_mem, jobs):
    used_cpu, used_mem = min(used_cpu, limits.cpu), min(used_mem, limits.mem)
    usage = Usage(cpu=used_cpu, mem=used_mem, jobs=min(jobs, limits.max_jobs))
    chosen = select(ready, usage, limits)
    normal = [c.request for c in chosen if not c.backfill]
    extra = [c.request for c in chosen if c.backfill]
    assert used_cpu + sum(r.cpu for r in normal) <= limits.cpu + 1e-9
    assert used_cpu + sum(r.cpu for r in chosen_requests(chosen)) <= limits.cpu * limits.backfill_factor + 1e-9
    assert used_mem + sum(r.mem for r in chosen_requests(chosen)) <= limits.mem + 1e-9
    assert usage.jobs + len(chosen) <= limits.max_jobs
    assert len(extra) <= limits.n_backfill
    semaphores = [r.semaphore for r in chosen_requests(chosen) if r.semaphore]
    assert len(semaphores) == len(set(semaphores))
    assert not (normal and extra)


def chosen_requests(chosen):
    return [c.request for c in chosen]
