"""executor.learning: families of like stages, and the bookings O2DPG's dynamic resources and scouts give."""

import pytest

from cwlpilot.executor.learning import (
    MIN_TIMEOUT,
    Learner,
    Measured,
    family,
    json_stat,
    o2dpg_name,
    percentile,
    read_estimates,
    updated,
)


def test_families_of_timeframes_scatters_and_job_splits():
    assert family("tpcreco_2") == "tpcreco" and family("tpcclusterpart0_1") == "tpcclusterpart0"
    assert family("align[3]") == "align[]" and family("sub[1].step[2,0]") == "sub[].step[]"
    assert family("sim.job12") == "sim.job" and family("sim.job12.collect") == "sim.job.collect"
    assert family("aodmerge") is None and family("s1") is None and family("reco_x") is None


def test_o2dpg_update_key_drops_the_last_part_of_timeframe_stages_only():
    assert o2dpg_name("tpcreco_2", 2) == "tpcreco" and o2dpg_name("grpcreate", -1) == "grpcreate"
    assert o2dpg_name("sgn_gen_3", 3) == "sgn_gen"


def test_percentile_interpolates_as_numpy():
    assert percentile([1, 2, 3, 4], 75) == 3.25 and percentile([5], 75) == 5


def test_dynamic_resources_follow_o2dpgs_sample_resources():
    learner = Learner(dynamic=True)
    assert learner.booking("sim_2", None, False) is None  # nothing ended yet
    learner.record("sim_1", Measured(peak_mem=1200.0, cpu=3.0, seconds=20, samples=4), 4.0, 8000.0)
    learner.record("sim_3", Measured(peak_mem=900.0, cpu=1.0, seconds=20, samples=5), 4.0, 8000.0)
    assert learner.booking("sim_2", 0.5, False) == (1.0, 1200.0, None)  # mean cpu x relative_cpu, max PSS
    assert learner.booking("sim_2", None, False) == (2.0, 1200.0, None)
    learner.record("short_1", Measured(peak_mem=10.0, cpu=0.1, seconds=1, samples=1), 2.0, 3000.0)
    assert learner.booking("short_2", None, False) == (2.0, 3000.0, None)  # too few samples: declared


def test_dynamic_resources_keep_a_measured_zero_cpu_as_o2dpg_does():
    learner = Learner(dynamic=True)
    learner.record("wait_1", Measured(peak_mem=5.0, cpu=0.0, seconds=30, samples=10), 1.0, 500.0)
    assert learner.booking("wait_2", None, False) == (0.0, 5.0, None)


def test_scouts_book_the_rest_never_below_a_scout_and_learn_a_timeout():
    learner = Learner(scouts=3)
    for i, (mem, cpu, sec) in enumerate([(1000, 0.9, 10), (1400, 1.1, 12), (1200, 1.0, 11)]):
        assert learner.booking(f"job[{i + 3}]", None, False) is None  # not enough scouts yet
        learner.record(f"job[{i}]", Measured(mem, cpu, sec, samples=20), 1.0, 16000.0)
    learned = learner.booking("job[7]", None, False)
    assert learned.mem == pytest.approx(max(1300 * 1.2, 1400)) and learned.cpu == pytest.approx(1.05)
    assert learned.timeout == max(5 * 12, MIN_TIMEOUT)
    assert learner.booking("job[7]", None, True).timeout is None  # the plan's timeout stays
    assert learned.mem >= 1400


def test_scouts_too_short_to_measure_teach_nothing():
    learner = Learner(scouts=1)
    learner.record("j.job0", Measured(None, None, 0.1, samples=0), 1.0, 100.0)
    assert learner.booking("j.job1", None, False) is None


def test_update_resources_reads_o2dpgs_json_stat_and_scales_cpu():
    text = '{"sim": {"pss": {"max": 1234.5}, "cpu": {"mean": 3.0}}, "count": 1, "meta-data": {}}'
    estimates = read_estimates("m.json", text)
    assert estimates == {"sim": (1234.5, 3.0)}
    assert updated(estimates["sim"], 7.0, 4000.0, 0.5) == (1.5, 1234.5)  # O2DPG's measured example
    assert updated((None, None), 7.0, 4000.0, None) == (7.0, 4000.0)


def test_json_stat_round_trips_through_read_estimates():
    stat = json_stat({"sim": [Measured(1000.0, 2.0, 10, 5), Measured(1500.0, 4.0, 12, 6)]}, {"run": 1})
    assert stat["sim"]["pss"]["max"] == 1500.0 and stat["sim"]["cpu"]["mean"] == 3.0
    assert stat["count"] == 1 and stat["meta-data"] == {"run": 1}
    import json

    assert read_estimates("x", json.dumps(stat)) == {"sim": (1500.0, 3.0)}
