"""cwlpilot.panda.loops and .datasets: iterations from templates; dataset files, jobs and names."""

import copy

from cwlpilot.semantics.panda.datasets import chunks, dataset_files, output_name
from cwlpilot.semantics.panda.loops import MARK, instantiate

TEMPLATE = {
    "name": f"L.{MARK}.a",
    "needs": [f"L.{MARK}.b", "outside"],
    "condition": f"done(L.{MARK}.b)",
    "data": {
        "panda": {
            "dataset": f"datasets/x_L.{MARK}.a",
            "exec": f"echo {MARK} %{{i}}",
            "args": MARK,
            "params": {"k": MARK},
            "iteration": None,
        }
    },
}


def test_instantiate_rewrites_names_and_paths_never_user_text():
    before = copy.deepcopy(TEMPLATE)
    stage = instantiate(TEMPLATE, 3, {"k": 7})
    assert before == TEMPLATE
    assert stage["name"] == "L.3.a" and stage["needs"] == ["L.3.b", "outside"] and stage["condition"] == "done(L.3.b)"
    panda = stage["data"]["panda"]
    assert panda["dataset"] == "datasets/x_L.3.a"
    assert panda["exec"] == f"echo {MARK} %{{i}}" and panda["args"] == MARK
    assert panda["iteration"] == 3 and panda["params"] == {"k": 7}


def test_dataset_files_filter_by_type_and_skip_bookkeeping(tmp_path):
    for name in ("a._000000.x.root", "a._000001.x.root", "a._000000.y.pool", ".hidden.root"):
        (tmp_path / name).write_text("")
    (tmp_path / ".cwlpilot").mkdir()
    (tmp_path / ".cwlpilot" / "z.root").write_text("")
    assert [p.name for p in dataset_files(tmp_path, "x.root")] == ["a._000000.x.root", "a._000001.x.root"]
    assert len(dataset_files(tmp_path)) == 3
    assert [p.name for p in dataset_files(tmp_path, "*.root")] == ["a._000000.x.root", "a._000001.x.root"]


def test_chunks_and_names():
    assert chunks([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]
    assert chunks([1, 2], None) == [[1, 2]] and chunks([], 3) == [[]]
    assert output_name("datasets/user.me.x_001_b", 12, "out.root") == "user.me.x_001_b._000012.out.root"
