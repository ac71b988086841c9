"""executor.plan: O2DPG defaults, and every problem of a bad plan reported at once with file, line, stage."""

import json

import pytest

from cwlpilot.executor.errors import PlanError
from cwlpilot.executor.plan import DEFAULT_CPU, DEFAULT_MEM
from cwlpilot.executor.planload import load_plan, parse_plan


def plan_text(*stages, **top):
    return json.dumps({"stages": list(stages), **top}, indent=1)


def problems(text, source="p.json"):
    with pytest.raises(PlanError) as info:
        parse_plan(text, source)
    return info.value.problems


def test_o2dpg_defaults_apply_to_a_minimal_stage():
    plan = parse_plan(plan_text({"name": "a", "cmd": "true"}))
    (a,) = plan.stages
    assert (a.cpu, a.mem, a.relative_cpu, a.timeframe, a.cwd, a.retry_count, a.kind) == (
        DEFAULT_CPU, DEFAULT_MEM, None, -1, "./", 0, "shell")


def test_global_init_task_is_removed_and_carries_env_and_command():
    plan = parse_plan(plan_text({"name": "__global_init_task__", "cmd": "echo hi", "env": {"A": 1, "B": True}},
                                {"name": "a", "cmd": "true"}))
    assert [s.name for s in plan.stages] == ["a"]
    assert dict(plan.global_env) == {"A": "1", "B": "true"}
    assert plan.global_cmd == "echo hi"
    no_cmd = parse_plan(plan_text({"name": "__global_init_task__", "cmd": "NO-COMMAND"}, {"name": "a", "cmd": "x"}))
    assert no_cmd.global_cmd is None


def test_global_init_task_not_first_is_an_ordinary_stage():
    plan = parse_plan(plan_text({"name": "a", "cmd": "true"}, {"name": "__global_init_task__", "cmd": "true"}))
    assert [s.name for s in plan.stages] == ["a", "__global_init_task__"]


def test_schema_errors_name_file_line_and_stage():
    text = plan_text({"name": "ok", "cmd": "true"}, {"name": "bad", "cmd": "true", "resources": {"cpu": "two"}},
                     {"name": "worse", "cmd": 3})
    found = problems(text)
    line_cpu = text.splitlines().index('    "cpu": "two"') + 1
    assert f"p.json:{line_cpu}:5: stage 'bad': resources.cpu: 'two' is not a number (nor a string O2DPG's " \
           "float() reads)" in found
    line_cmd = text.splitlines().index('   "cmd": 3') + 1
    assert f"p.json:{line_cmd}:4: stage 'worse': cmd: 3 is not of type 'string'" in found
    assert len(found) == 2


def test_duplicates_unknown_needs_and_cycles_are_all_reported():
    text = plan_text({"name": "a", "cmd": "x", "needs": ["c"]}, {"name": "b", "cmd": "x", "needs": ["a"]},
                     {"name": "c", "cmd": "x", "needs": ["b"]}, {"name": "a", "cmd": "y"},
                     {"name": "d", "cmd": "x", "needs": ["bb"]})
    found = problems(text)
    assert found == [  # in the order they are written, each at the key it is about
        "p.json:6:4: stage 'a': cycle: a -> c -> b -> a (each stage needs the next)",
        "p.json:25:4: stage 'a': duplicate name (first used by stage #1)",
        "p.json:31:4: stage 'd': needs unknown stage 'bb'; did you mean 'b'?"]


def test_a_stage_needing_itself_is_a_cycle():
    found = problems(plan_text({"name": "a", "cmd": "x", "needs": ["a"]}))
    assert found == ["p.json:6:4: stage 'a': cycle: a -> a (each stage needs the next)"]


def test_unknown_kind_is_refused_before_running():
    found = problems(plan_text({"name": "a", "cmd": "x", "kind": "warp"}))
    assert found == ["p.json:6:4: stage 'a': unknown kind 'warp' (this cwlpilot runs: shell)"]


def test_invalid_json_names_line_and_column():
    assert problems('{"stages": [\n  {"name": "a",, }]}') == [
        "p.json:2:16: not valid JSON: Expecting property name enclosed in double quotes"]


def test_unknown_keys_are_errors_with_a_suggestion_and_x_keys_are_yours():
    """Regression: a typo'd `need` only warned, and the stage ran without its dependency."""
    found = problems(plan_text({"name": "a", "cmd": "x"}, {"name": "b", "cmd": "x", "need": ["a"], "x-owner": "me",
                                                            "resources": {"cpu": 1, "memory": 5, "x-note": 1}},
                               stagez=[], **{"x-tool": "gen"}))
    assert found == [
        "p.json:10:4: stage 'b': unknown key 'need'; did you mean 'needs'?",
        "p.json:16:5: stage 'b': unknown key 'memory' in resources (keys of your own may start with x-)",
        "p.json:21:2: unknown key 'stagez'; did you mean 'stages'?"]


def test_keys_o2dpg_writes_are_known():
    parse_plan(plan_text({"name": "a", "cmd": "x", "alternative_alienv_package": "None",
                          "disable_alternative_reco_software": True, "resources": {"cpu": "1", "mem": "4000",
                                                                                   "relative_cpu": None}},
                         meta={"run": 1}, comments="generated"))


def test_load_plan_reports_a_missing_file(tmp_path):
    with pytest.raises(PlanError) as info:
        load_plan(tmp_path / "nope.json")
    assert "nope.json: cannot read the plan: No such file or directory" in info.value.problems[0]


def test_fingerprint_ignores_resources_but_not_the_command():
    base = {"name": "a", "cmd": "x", "resources": {"cpu": 1, "mem": 10}}
    fp = parse_plan(plan_text(base)).stages[0].fingerprint()
    assert parse_plan(plan_text({**base, "resources": {"cpu": 4, "mem": 99}})).stages[0].fingerprint() == fp
    assert parse_plan(plan_text({**base, "cmd": "y"})).stages[0].fingerprint() != fp
    assert parse_plan(plan_text({**base, "env": {"A": "1"}})).stages[0].fingerprint() != fp


def test_spec_round_trips_through_the_schema():
    from cwlpilot.executor.plan import stage_from_spec

    plan = parse_plan(plan_text({"name": "a", "cmd": "x", "retry_rules": [{"action": "no_retry", "exit_codes": [3]}],
                                 "data": {"k": [1, 2]}, "timeout": 5, "semaphore": "s"}))
    stage = plan.stages[0]
    again = stage_from_spec(json.loads(json.dumps(stage.spec())), 0)
    assert again == stage
    parse_plan(plan_text(stage.spec()))  # the spec is itself a valid stage


def test_example_o2dpg_plan_validates():
    plan = load_plan("examples/o2dpg/sim_workflow.json")
    assert len(plan.stages) == 26 and plan.global_cmd is None
    assert {s.semaphore for s in plan.stages} == {None, "ccdb"}
