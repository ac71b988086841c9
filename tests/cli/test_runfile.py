"""cli/runfile.py: `cwlpilot run FILE` tells a stages plan from a CWL document by what the file holds, whatever
its name and wherever the options are (regressions: `run --workdir D plan.json` and `run -j 2 plan.json`
failed with "could not get the cwlVersion"; a CWL document saved as `.json` was taken for a plan)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from cwlpilot.runfile import HEAD_BYTES, sniff

from ..e2e.helpers import ROOT, cwlpilot, states, write_plan

PLAN = ROOT / "examples/o2dpg/sim_workflow.json"
GREET = (ROOT / "examples/cwl/greet.cwl", ROOT / "examples/cwl/greet-job.yml")


@pytest.mark.parametrize(("text", "kind", "cls"), [
    ('{"stages": [{"name": "a", "cmd": "true"}]}', "plan", None),
    ('{"outputs": {}, "schema_version": 1, "stages": []}', "plan", None),  # a compiled plan: sorted keys
    ('{"meta": {"class": "x"}, "stages": []}', "plan", None),  # `class` deeper down tells nothing
    ('{"cwlVersion": "v1.2", "class": "CommandLineTool", "inputs": []}', "cwl", "CommandLineTool"),
    ('{"$graph": [{"class": "Workflow"}], "cwlVersion": "v1.2"}', "cwl", None),
    ("cwlVersion: v1.2\nclass: Workflow\n", "cwl", "Workflow"),
    ("#!/usr/bin/env cwl-runner\n# only comments\n", "cwl", None),
    ("{cwlVersion: v1.2, class: Workflow}\n", "cwl", None),  # YAML flow style
    ("\ufeff  \nclass: ExpressionTool\n", "cwl", "ExpressionTool"),
])
def test_the_content_decides(tmp_path: Path, text: str, kind: str, cls: str | None) -> None:
    for name in ("file.json", "file.cwl", "file"):  # the name never matters when the content tells
        (tmp_path / name).write_text(text)
        assert sniff(str(tmp_path / name)) == (kind, cls), name


def test_a_plan_whose_telling_key_comes_late_is_read_further(tmp_path: Path) -> None:
    big = {"outputs": {f"o{i}": {"value": "x" * 100} for i in range(2 * HEAD_BYTES // 100)}, "stages": []}
    (tmp_path / "plan.cwl").write_text(json.dumps(big))
    assert sniff(str(tmp_path / "plan.cwl")).kind == "plan"


@pytest.mark.parametrize(("name", "kind"), [("x.json", "plan"), ("x.cwl", "cwl"), ("x", "cwl")])
def test_the_name_decides_only_when_the_content_tells_nothing(tmp_path: Path, name: str, kind: str) -> None:
    assert sniff(str(tmp_path / name)).kind == kind  # missing: each side says so in its own words
    (tmp_path / name).write_bytes(b"\x00\xff binary")
    assert sniff(str(tmp_path / name)).kind == kind
    assert sniff(f"{tmp_path / name}#main").kind == kind


def test_options_may_come_before_or_after_a_plan(tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "plan.json", [{"name": "a", "cmd": "echo hi", "needs": [],
                                                 "resources": {"cpu": 1, "mem": 10}}])
    for n, argv in enumerate((["--workdir", "{w}", plan], ["-j", "2", plan, "--workdir", "{w}"],
                              [plan, "-q", "--workdir", "{w}", "--cpu-limit", "1"])):
        workdir = tmp_path / f"w{n}"
        proc = cwlpilot("run", *[str(a).format(w=workdir) for a in argv])
        assert proc.returncode == 0, proc.stderr
        assert states(workdir) == {"a": "done"}


def test_a_cwl_document_saved_as_json_runs_as_cwl_and_a_plan_named_cwl_as_a_plan(tmp_path: Path) -> None:
    tool = tmp_path / "tool.json"  # a CWL document in JSON, as cwltool --pack writes them
    tool.write_text(json.dumps({"cwlVersion": "v1.2", "class": "CommandLineTool", "baseCommand": "true",
                                "inputs": [], "outputs": []}))
    proc = cwlpilot("run", "-q", "--workdir", tmp_path / "w", tool)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "w" / "outputs.json").read_text()) == {}
    shutil.copy(PLAN, tmp_path / "plan.cwl")
    proc = cwlpilot("run", tmp_path / "plan.cwl", "--list-tasks")
    assert proc.returncode == 0 and "digi_1" in proc.stdout, proc.stderr


def test_what_fits_only_the_other_kind_of_file_is_a_usage_error(tmp_path: Path) -> None:
    proc = cwlpilot("run", PLAN, GREET[1], "--workdir", tmp_path)
    assert proc.returncode == 2
    assert f"{PLAN} is a stages plan: it takes no inputs file ({GREET[1]})" in proc.stderr
    proc = cwlpilot("run", PLAN, "--outDS", "user.me", "--workdir", tmp_path)
    assert proc.returncode == 2 and "--outDS apply to CWL and PanDA-style documents only" in proc.stderr
    proc = cwlpilot("run", PLAN, "-f", PLAN)
    assert proc.returncode == 2 and "give the file once" in proc.stderr
    proc = cwlpilot("run", "-q")
    assert proc.returncode == 2 and "give the plan or the CWL document" in proc.stderr
    assert list(tmp_path.iterdir()) == []
