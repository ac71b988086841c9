"""Bookings learned while running (executor.learning), end to end with stages that really use memory."""

import json

from .helpers import attempts, cwlpilot, stage, timeline, write_plan

# Uses MB of memory (touched, so that PSS sees it) for S seconds.
USE = ("python3 -c 'import time; b = bytearray({mb} * 2**20); b[::4096] = b\"x\" * len(b[::4096]); "
       "time.sleep({s})'")


def siblings(n, mb=30, seconds=1.0, declared=4000, outlier=None, name="sim_{i}"):
    out = []
    for i in range(1, n + 1):
        use = USE.format(mb=400 if i == outlier else mb, s=seconds)
        out.append(stage(name.format(i=i), use, timeframe=i, cpu=1, mem=declared, cwd=f"tf{i}"))
    return out


def overlap(events, names):
    """The largest number of these stages running at the same moment."""
    points = sorted([(e["ts"], 1) for e in events if e["name"] in names]
                    + [(e["ts"] + e["dur"], -1) for e in events if e["name"] in names])
    best = cur = 0
    for _, step in points:
        cur += step
        best = max(best, cur)
    return best


RUN = ("--cpu-limit", 8, "--mem-limit", 8000, "--sample-interval", 0.1)


def test_static_bookings_serialise_the_siblings(tmp_path):
    plan = write_plan(tmp_path / "p.json", siblings(6))
    cwlpilot("run", plan, "--workdir", tmp_path / "w", *RUN, check=0)
    assert overlap(timeline(tmp_path / "w"), {f"sim_{i}" for i in range(1, 7)}) == 2


def test_dynamic_resources_let_the_rest_run_side_by_side(tmp_path):
    plan = write_plan(tmp_path / "p.json", siblings(6))
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", *RUN, "--dynamic-resources", check=0)
    events = timeline(tmp_path / "w")
    later = {e["name"] for e in events if e["args"]["mem_booked_mb"] < 4000}
    assert len(later) >= 3 and overlap(events, later) >= 3
    for e in events:
        if e["name"] in later:  # booked from the measured PSS, shown beside the declared booking
            assert 30 <= e["args"]["mem_booked_mb"] < 200 and e["args"]["mem_declared_mb"] == 4000
    assert "(declared 1, 4000 MB)" in proc.stdout
    measured = json.loads((tmp_path / "w" / "cwlpilot-resources.json").read_text())
    assert 30 <= measured["sim"]["pss"]["max"] < 200 and measured["sim"]["pss"]["count"] == 6


def test_scouts_book_a_scatters_instances(tmp_path):
    plan = write_plan(tmp_path / "p.json", siblings(6, name="fit[{i}]"))
    cwlpilot("run", plan, "--workdir", tmp_path / "w", *RUN, "--scouts", 2, check=0)
    events = timeline(tmp_path / "w")
    learned = [e for e in events if e["args"]["mem_booked_mb"] < 4000]
    assert len(learned) >= 3 and overlap(events, {e["name"] for e in learned}) >= 3
    scout_peak = max(e["args"]["peak_mem_mb"] or 0 for e in events if e["args"]["mem_booked_mb"] == 4000)
    assert all(e["args"]["mem_booked_mb"] >= scout_peak for e in learned)  # never below what a scout used


def test_an_outlier_over_its_learned_booking_runs_again_at_its_declared_one(tmp_path):
    plan = write_plan(tmp_path / "p.json", siblings(5, outlier=5, seconds=1.5))
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", *RUN, "--dynamic-resources",
                    "--mem-overuse-factor", 3, check=0)
    tries = [a for a in attempts(tmp_path / "w") if a[0] == "sim_5"]
    assert [(a[2], a[3]) for a in tries] == [("retried", "memory"), ("done", None)]
    assert tries[0][4] < 4000 and tries[1][4] == 4000  # learned, then declared
    assert "5 stages: 5 done" in proc.stdout  # retry_count is 0: the learned booking's failure was not charged


def test_update_resources_books_from_o2dpgs_metrics_file(tmp_path):
    metrics = tmp_path / "metrics.json"
    metrics.write_text(json.dumps({"sim": {"pss": {"max": 100.0}, "cpu": {"mean": 0.5}}, "count": 1}))
    plan = write_plan(tmp_path / "p.json", siblings(4, seconds=0.2))
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", *RUN, "--update-resources", metrics, check=0)
    assert "--update-resources: 4 stage(s) booked from" in proc.stderr
    booked = {(e["args"]["cpu_booked"], e["args"]["mem_booked_mb"]) for e in timeline(tmp_path / "w")}
    assert booked == {(0.5, 100.0)}
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    refused = cwlpilot("run", plan, "--workdir", tmp_path / "x", "--update-resources", bad, check=1)
    assert "not a metrics file of O2DPG's o2dpg_sim_metrics.py json-stat" in refused.stderr


def test_a_run_that_is_already_right_is_not_slowed(tmp_path):
    plan = write_plan(tmp_path / "p.json", siblings(4, declared=60, seconds=0.5))
    cwlpilot("run", plan, "--workdir", tmp_path / "w", *RUN, "--dynamic-resources", check=0)
    assert overlap(timeline(tmp_path / "w"), {f"sim_{i}" for i in range(1, 5)}) == 4
