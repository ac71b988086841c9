"""Tests for compiler.jobcheck: inputs files checked against a process's inputs."""

from __future__ import annotations

from pathlib import Path

import pytest

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Pos
from cwlpilot.compiler.jobcheck import check_job, value_problem
from cwlpilot.compiler.loader import load_strict
from cwlpilot.compiler.yamlsrc import YamlCache

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def test_value_problems() -> None:
    base = str(REPO / "examples" / "cwl")
    assert value_problem(3, "int", base) is None
    assert value_problem(True, "int", base) == "expected int, got a boolean (true)"
    assert (
        value_problem(["a", 2], ir.ArrayType("string"), base) == "item 1: expected string, got a number (2)"
    )
    assert value_problem("c", ir.EnumType("e", ("a", "b")), base) == "expected one of a, b, got 'c'"
    assert value_problem(None, ir.UnionType(("null", "int")), base) is None
    assert value_problem({"class": "File", "path": "data/hello.txt"}, "File", base) is None
    assert (
        value_problem({"class": "File", "path": "nope.txt"}, "File", base) == "file 'nope.txt' does not exist"
    )
    assert (
        value_problem("x.txt", "File", base)
        == "expected File (a mapping with `class: File`), got a string ('x.txt')"
    )
    assert value_problem({"class": "File", "contents": "x"}, "File", base) is None


def test_job_with_a_mistyped_value() -> None:
    wf = load_strict("examples/cwl/greet.cwl")
    found = check_job(wf, "examples/cwl/invalid/bad-job.yml", YamlCache())
    assert [str(d) for d in found] == [
        "examples/cwl/invalid/bad-job.yml:1:1: input 'names': expected string[], got a string ('Ada')"
    ]


def test_job_files_are_resolved_next_to_the_job() -> None:
    wf = load_strict("examples/cwl/odd paths/shout wf.cwl")
    assert check_job(wf, "examples/cwl/shout-job.yml", YamlCache()) == []
    found = check_job(wf, "examples/cwl/invalid/missing-file-job.yml", YamlCache())
    assert [(d.pos, d.message) for d in found] == [
        (
            Pos("examples/cwl/invalid/missing-file-job.yml", 1, 1),
            "input 'text': file '../data/missing.txt' does not exist",
        )
    ]


def test_optional_and_defaulted_inputs_may_be_missing(tmp_path: Path) -> None:
    job = tmp_path / "job.yml"
    job.write_text("message: hi\n")
    tool = load_strict("examples/cwl/tools/echo.cwl")
    assert check_job(tool, str(job), YamlCache()) == []
    job.write_text("{}\n")
    assert [d.message for d in check_job(tool, str(job), YamlCache())] == [
        "required input 'message' (string) is missing (declared at examples/cwl/tools/echo.cwl:16:3)"
    ]
