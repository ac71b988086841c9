"""executor.plancheck: schema, stage, graph and fit problems reported together, at the key they are about."""

import json

from cwlpilot.executor.booking import Limits
from cwlpilot.executor.plancheck import MAX_NAME_BYTES, report
from cwlpilot.executor.planload import read_plan


def plan_text(*stages, **top):
    return json.dumps({"stages": list(stages), **top}, indent=1)


def checked(text, wanted=None, limits=None, kinds=("shell",)):
    return report(read_plan(text, "p.json"), wanted, kinds, limits)


def test_schema_graph_and_fit_problems_come_in_one_report():
    """Regression: checking stopped after the schema phase, then after the graph phase."""
    text = plan_text({"name": "big", "cmd": "x", "resources": {"cpu": 16}},
                     {"name": "typo", "cmd": "x", "need": ["big"]},
                     {"name": "lost", "cmd": "x", "needs": ["bgi"]})
    errors = checked(text, limits=Limits(cpu=4, mem=1000)).errors
    assert [e.split(": ", 2)[1] for e in errors] == ["stage 'big'", "stage 'typo'", "stage 'lost'"]
    assert "books 16 CPU cores but the CPU limit is 4" in errors[0]
    assert "unknown key 'need'; did you mean 'needs'?" in errors[1]
    assert "needs unknown stage 'bgi'; did you mean 'big'?" in errors[2]


def test_numbers_as_o2dpg_writes_them_and_those_float_cannot_read():
    text = plan_text({"name": "a", "cmd": "x", "resources": {"cpu": "0", "mem": " 4000 ", "relative_cpu": 0.5},
                      "retry_count": "2"},
                     {"name": "b", "cmd": "x", "resources": {"cpu": "1e999"}},
                     {"name": "c", "cmd": "x", "resources": {"mem": "lots"}})
    plan = read_plan(text, "p.json")
    assert [(s.cpu, s.mem, s.retry_count) for s in plan.stages] == [(0.0, 4000.0, 2)]
    errors = report(plan, None, ("shell",)).errors
    assert "stage 'b': '1e999' is not a finite number (O2DPG reads it with float())" in errors[0]
    assert "stage 'c': resources.mem: 'lots' is not a number (nor a string O2DPG's float() reads)" in errors[1]


def test_names_and_environments_a_system_cannot_hold():
    """Regression: a 300-character name passed and failed at start ("File name too long")."""
    long = "\U0001d11e" * (MAX_NAME_BYTES // 4 + 1)  # within the schema's 200 characters, over 200 bytes
    text = plan_text({"name": long, "cmd": "x"}, {"name": "s" * 300, "cmd": "x"},
                     {"name": "e", "cmd": "x", "env": {"A=B": "1", "": "2"}},
                     {"name": "n", "cmd": "echo \u0000"}, {"name": "w h", "cmd": "x"})
    errors = checked(text).errors
    assert f"at most {MAX_NAME_BYTES} bytes, this one has {4 * (MAX_NAME_BYTES // 4 + 1)}" in errors[0]
    assert "is too long" in errors[1]
    assert "'A=B' cannot be the name of an environment variable" in errors[2]
    assert "'' cannot be the name of an environment variable" in errors[3]
    assert "stage 'n': holds a NUL character" in errors[4]
    assert "does not match" in errors[5]  # no whitespace or '/' in a name (the schema's pattern)


def test_dangling_needs_are_errors_only_where_the_selection_goes():
    text = plan_text({"name": "a", "cmd": "x"}, {"name": "b", "cmd": "x", "needs": ["a"]},
                     {"name": "qc", "cmd": "x", "needs": ["a", "qc_local1"]})
    everything = checked(text)
    assert len(everything.errors) == 1 and "stage 'qc': needs unknown stage 'qc_local1'" in everything.errors[0]
    selected = checked(text, wanted={"a", "b"})
    assert selected.errors == []
    assert selected.warnings == ["p.json:17:4: stage 'qc': needs unknown stage 'qc_local1' (not selected to run: "
                                 "ignored)"]


def test_a_stage_too_broken_to_build_is_not_unknown_to_its_dependents():
    text = plan_text({"name": "a", "cmd": 3}, {"name": "b", "cmd": "x", "needs": ["a"]})
    errors = checked(text).errors
    assert len(errors) == 1 and "stage 'a': cmd: 3 is not of type 'string'" in errors[0]


def test_huge_values_give_short_messages():
    text = plan_text({"name": "a", "cmd": "x", "labels": "L" * 100000})
    (error,) = checked(text).errors
    assert len(error) < 400


def test_o2dpg_memory_is_clamped_and_cpu_refused_as_o2dpg_does():
    text = plan_text({"name": "a", "cmd": "x", "resources": {"cpu": 1, "mem": "10000000"}})
    assert checked(text, limits=Limits(cpu=4, mem=1000, clamp_memory=True)).errors == []
    refused = checked(text, limits=Limits(cpu=4, mem=1000)).errors
    assert "books 10000000 MB but the memory limit is 1000 MB" in refused[0]
