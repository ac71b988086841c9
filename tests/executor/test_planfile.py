"""executor.planfile: whatever a plan file holds, a PlanError naming file, line and column, never a traceback."""

import json

import pytest

from cwlpilot.executor.errors import PlanError
from cwlpilot.executor.planfile import MAX_DEPTH, check_depth, parse_json, read_text


def problems_of(func, *args):
    with pytest.raises(PlanError) as info:
        func(*args)
    return info.value.problems


def test_invalid_utf8_names_the_line_column_and_byte(tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(b'{"stages": [\n  {"name": "\xff"}]}')
    assert problems_of(read_text, path) == [f"{path}:2:13: not UTF-8 text (byte 0xff); a plan is a JSON file"]


def test_a_nul_byte_or_a_binary_file_is_not_a_plan(tmp_path):
    path = tmp_path / "p.json"
    path.write_bytes(b'{"stages": []}\n\x00\x01\x02')
    assert problems_of(read_text, path) == [f"{path}:2:1: a NUL byte: this is not a text file"]
    path.write_bytes(bytes(range(256)) * 4)
    assert "not UTF-8 text" in problems_of(read_text, path)[0]


def test_a_folder_and_a_missing_file(tmp_path):
    assert problems_of(read_text, tmp_path) == [f"{tmp_path}: is a folder, not a plan file"]
    assert "cannot read the plan: No such file or directory" in problems_of(read_text, tmp_path / "x.json")[0]


def test_duplicate_keys_name_both_lines():
    """Regression: two `cmd` keys ran the second; two `name` keys renamed the stage."""
    text = '{"stages": [\n {"name": "a",\n  "cmd": "rm -rf old",\n  "cmd": "true"}]}'
    assert problems_of(parse_json, text, "p.json") == [
        "p.json:4:3: key 'cmd' given twice in the same object (lines 3 and 4); JSON readers disagree on which "
        "one counts"]
    nested = '{"stages": [{"name": "a", "cmd": "x", "resources": {"cpu": 1,\n "cpu": 2}}]}'
    assert problems_of(parse_json, nested, "p.json")[0].startswith("p.json:2:2: key 'cpu' given twice")


def test_same_keys_in_different_objects_are_fine():
    doc = parse_json('{"stages": [{"name": "a", "cmd": "x"}, {"name": "b", "cmd": "x"}]}', "p.json")
    assert [s["name"] for s in doc["stages"]] == ["a", "b"]


def test_deep_nesting_is_refused_quickly_with_its_position():
    text = '{"stages": [], "meta": ' + "[" * 100000 + "]" * 100000 + "}"
    (message,) = problems_of(parse_json, text, "p.json")
    assert message.startswith(f"p.json:1:{23 + MAX_DEPTH}: nested too deeply")


def test_huge_integers_and_non_numbers():
    text = '{"stages": [{"name": "a", "cmd": "x",\n "timeframe": ' + "9" * 5000 + "}]}"
    assert problems_of(parse_json, text, "p.json") == ["p.json:2:15: a number of 5000 digits; not a number a plan "
                                                       "may hold"]
    assert "NaN is not a number a plan may hold" in problems_of(parse_json, '{"stages": [NaN]}', "p.json")[0]
    assert "not valid JSON" in problems_of(parse_json, '{"stages": [}', "p.json")[0]


def test_check_depth_is_iterative():
    deep: list = []
    for _ in range(10000):
        deep = [deep]
    assert not check_depth(deep) and check_depth(json.loads("[[[1]]]"))
