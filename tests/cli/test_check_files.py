"""Tests for cwlpilot.check_files: which files `check PATH...` checks, as what, and which it skips and why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cwlpilot.argparsing import UsageError
from cwlpilot.check_files import Target, discover

DOC = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'true'\ninputs: []\noutputs: []\n"


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_folder_is_walked_in_name_order_for_documents_and_plans(tmp_path: Path) -> None:
    tree(tmp_path, {
        "b.cwl": DOC,
        "a/tool.cwl": DOC,
        "a/plan.json": json.dumps({"stages": [{"name": "s", "cmd": "true"}]}),
        "a/job.json": json.dumps({"stages": [{"stageId": 1}], "reads": {}}),  # an inputs file with `stages`
        "a/packed.json": json.dumps({"cwlVersion": "v1.2", "$graph": []}),
        "a/part.cwl": "inputs: []\n",  # a fragment others $import
        "a/broken.cwl": "class: [\n",  # does not parse: checked, so that the reason is reported
        "a/notes.txt": "x",  # neither *.cwl nor *.json: not looked at
        ".git/x.cwl": DOC,  # hidden folders are left out
        "c/empty.json": "",
    })
    targets, skipped = discover([str(tmp_path)])
    assert [(Path(t.path).relative_to(tmp_path).as_posix(), t.kind) for t in targets] == [
        ("a/broken.cwl", "cwl"),
        ("a/packed.json", "cwl"),
        ("a/plan.json", "plan"),
        ("a/tool.cwl", "cwl"),
        ("b.cwl", "cwl"),
    ]
    reasons = {Path(s.file).name: s.reason for s in skipped}
    assert sorted(reasons) == ["empty.json", "job.json", "part.cwl"]
    assert "not a CWL document" in reasons["part.cwl"]
    assert "neither a stages plan" in reasons["job.json"]


def test_the_file_after_a_document_is_its_inputs_file(tmp_path: Path) -> None:
    tree(tmp_path, {"wf.cwl": DOC, "job.yml": "x: 1\n", "job.json": '{"x": 1}', "other.cwl": DOC,
                    "plan.json": json.dumps({"stages": []})})
    p = {name: str(tmp_path / name) for name in ("wf.cwl", "job.yml", "job.json", "other.cwl", "plan.json")}
    targets, skipped = discover([p["wf.cwl"], p["job.yml"], p["other.cwl"], p["job.json"], p["plan.json"]])
    assert targets == [Target(p["wf.cwl"], "cwl", p["job.yml"]), Target(p["other.cwl"], "cwl", p["job.json"]),
                       Target(p["plan.json"], "plan")]
    assert skipped == []
    # an inputs-like file with no document before it is skipped, saying why
    targets, skipped = discover([p["job.yml"]])
    assert targets == [] and [s.reason for s in skipped] == [
        "no `class`, `cwlVersion` or `$graph`: not a CWL document (a file others `$import`?)"]
    # a document right after a document is a document: two .cwl files never pair
    assert discover([p["wf.cwl"], p["other.cwl"]])[0] == [Target(p["wf.cwl"], "cwl"), Target(p["other.cwl"], "cwl")]


def test_an_entry_of_a_graph_and_a_missing_path(tmp_path: Path) -> None:
    tree(tmp_path, {"packed.cwl": DOC})
    assert discover([f"{tmp_path}/packed.cwl#main"])[0] == [Target(f"{tmp_path}/packed.cwl#main", "cwl")]
    with pytest.raises(UsageError, match="no such file: .*nope.cwl"):
        discover([str(tmp_path / "nope.cwl")])


def test_an_unreadable_file_named_is_checked_so_that_the_reason_is_given(tmp_path: Path) -> None:
    (tmp_path / "bin.yml").write_bytes(b"\0\1\2")
    targets, _ = discover([str(tmp_path / "bin.yml")])
    assert [t.kind for t in targets] == ["cwl"]
