"""Tests for cwlpilot.cwl.collect and cwlpilot.cwl.staging on real files in a temporary directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl.collect import OutputError, collect
from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import PYTHON_ONLY
from cwlpilot.semantics.cwl.staging import prepare_job, stage_initial_workdir


def test_glob_load_contents_output_eval_and_secondary_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("42\n")
    (tmp_path / "a.txt.idx").write_text("")
    ports = {
        "n": {"type": "int", "glob": ["a.txt"], "loadContents": True, "outputEval": "$(self[0].contents)"},
        "f": {"type": "File", "glob": ["*.txt"], "secondaryFiles": [{"pattern": ".idx"}]},
        "none": {"type": "File?", "glob": ["missing"]},
    }
    out = collect(ports, str(tmp_path), {}, {}, PYTHON_ONLY)
    assert out["n"] == "42\n"
    assert out["f"]["path"] == str(tmp_path / "a.txt") and out["f"]["size"] == 3
    assert [s["basename"] for s in out["f"]["secondaryFiles"]] == ["a.txt.idx"]
    assert out["none"] is None


def test_a_required_output_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(OutputError, match="output 'f'"):
        collect({"f": {"type": "File", "glob": ["nope"]}}, str(tmp_path), {}, {}, PYTHON_ONLY)


def test_a_directory_matched_for_a_file_output_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="not a File"):
        collect({"f": {"type": "File", "glob": ["d"]}}, str(tmp_path), {}, {}, PYTHON_ONLY)


def test_cwl_output_json_wins_and_its_paths_are_relative_to_the_output_directory(tmp_path: Path) -> None:
    (tmp_path / "r.txt").write_text("x")
    (tmp_path / "cwl.output.json").write_text(json.dumps({"f": {"class": "File", "location": "r.txt"}, "n": 3}))
    out = collect({"f": {"type": "File", "glob": ["other"]}, "n": {"type": "int"}}, str(tmp_path), {}, {}, PYTHON_ONLY)
    assert out["n"] == 3 and out["f"]["path"] == str(tmp_path / "r.txt")


def test_prepare_job_writes_literals_and_stages_renamed_files(tmp_path: Path) -> None:
    (tmp_path / "orig.txt").write_text("data")
    job = {
        "lit": {"class": "File", "basename": "hello.txt", "contents": "hi"},
        "ren": {"class": "File", "path": str(tmp_path / "orig.txt"), "basename": "new.txt"},
    }
    ready = prepare_job(job, {}, tmp_path / "scratch", PYTHON_ONLY)
    assert Path(ready["lit"]["path"]).read_text() == "hi"
    assert ready["ren"]["basename"] == "new.txt" and Path(ready["ren"]["path"]).name == "new.txt"
    assert Path(ready["ren"]["path"]).read_text() == "data"


def test_a_required_secondary_file_must_be_listed_for_a_step(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("")
    (tmp_path / "a.s2").write_text("")
    job = {"f": {"class": "File", "path": str(tmp_path / "a")}}
    spec = {"f": {"type": "File", "secondaryFiles": [".s2"]}}
    with pytest.raises(CwlError, match="a.s2"):
        prepare_job(job, spec, tmp_path / "scratch", PYTHON_ONLY)
    found = prepare_job(job, spec, tmp_path / "scratch", PYTHON_ONLY, discover=True)
    assert found["f"]["secondaryFiles"][0]["basename"] == "a.s2"


def test_initial_workdir_writes_entries_and_repoints_staged_inputs(tmp_path: Path) -> None:
    (tmp_path / "in.txt").write_text("data")
    outdir = tmp_path / "out"
    outdir.mkdir()
    job = {"f": files.named({"class": "File"}, str(tmp_path / "in.txt"))}
    listing = [{"entryname": "conf.ini", "entry": "x=$(inputs.f.basename)"}, "$(inputs.f)"]
    staged = stage_initial_workdir(listing, job, outdir, {"inputs": job, "self": None, "runtime": {}}, PYTHON_ONLY)
    assert (outdir / "conf.ini").read_text() == "x=in.txt"
    assert staged["f"]["path"] == str(outdir / "in.txt") and (outdir / "in.txt").read_text() == "data"


def test_load_contents_refuses_files_over_64_kib(tmp_path: Path) -> None:
    big = tmp_path / "big"
    big.write_bytes(b"x" * (64 * 1024 + 1))
    with pytest.raises(CwlError, match="64 KiB"):
        files.contents(str(big))
