"""Tests for compiler.cli: the `check` and `graph` commands, their output formats and exit codes."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from cwlpilot.check_cmd import main

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


GREET_TEXT = """\
workflow examples/cwl/greet.cwl (v1.2)
inputs:
  names: string[]
outputs:
  greetings: File <- join/all
steps:
  say: echo.cwl (CommandLineTool)
    needs: -
    in: message <- names
    out: out
    scatter: message (dotproduct)
  join: cat.cwl (CommandLineTool)
    needs: say
    in: files <- say/out
    out: all
"""


def test_check_valid_prints_the_graph() -> None:
    assert run("check", "examples/cwl/greet.cwl", "examples/cwl/greet-job.yml") == (0, GREET_TEXT, "")


def test_check_invalid_prints_every_error_and_exits_1() -> None:
    code, out, err = run("check", "examples/cwl/invalid/when-v10.cwl")
    assert (code, out) == (1, "")
    assert err == (
        "examples/cwl/invalid/when-v10.cwl:7:3: error: step 'say': `when` is JavaScript "
        "(`$(inputs.message != \"\")`), which needs InlineJavascriptRequirement: add it to the requirements "
        "[cwl-javascript-requirement]\n"
        "examples/cwl/invalid/when-v10.cwl:7:3: error: step 'say': "
        "`when` needs cwlVersion v1.2 (this document is v1.0) [cwl-version]\n"
        "examples/cwl/invalid/when-v10.cwl:12:11: warning: step 'say': output 'out' is read by no step and no "
        "workflow output [cwl-unused-output]\n"
        "examples/cwl/invalid/when-v10.cwl: 2 errors, 1 warning\n"
    )


def test_check_json() -> None:
    code, out, _ = run("check", "examples/cwl/nested.cwl", "--format", "json")
    data = json.loads(out)
    assert code == 0 and data["valid"] is True and data["diagnostics"] == []
    (checked,) = data["files"]
    assert [(s["name"], s["needs"], s["when"]) for s in checked["graph"]["steps"]] == [
        ("greet.say", [], []),
        ("greet.join", ["greet.say"], []),
        ("count_lines", ["greet.join"], ["$(inputs.enabled)"]),
    ]
    assert out == run("check", "examples/cwl/nested.cwl", "--format", "json")[1]  # stable


def test_check_json_errors() -> None:
    code, out, _ = run("check", "examples/cwl/invalid/syntax.cwl", "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["diagnostics"] == [
        {
            "file": "examples/cwl/invalid/syntax.cwl",
            "line": 7,
            "col": 1,
            "step": None,
            "severity": "error",
            "rule": "cwl-yaml",
            "message": "YAML syntax error: expected ',' or ']', but got '<stream end>' "
            "(while parsing a flow sequence at line 6)",
        }
    ]
    assert data["valid"] is False and data["summary"]["errors"] == 1
    assert data["files"] == [{"file": "examples/cwl/invalid/syntax.cwl", "kind": "cwl", "inputs": None,
                              "valid": False, "errors": 1, "warnings": 0}]


def test_check_github_annotations() -> None:
    code, out, _ = run("check", "examples/cwl/invalid/many-errors.cwl", "--format", "github")
    lines = out.splitlines()
    assert code == 1 and len(lines) == 14  # 9 errors, 4 warnings, the summary
    assert lines[0] == (
        "::error file=examples/cwl/invalid/many-errors.cwl,line=10,col=3,title=cwl-source::"
        "output 'result': unknown source 'join/al': step 'join' has no output 'al'"
    )
    assert lines[2] == (
        "::warning file=examples/cwl/invalid/many-errors.cwl,line=19,col=11,title=cwl-unused-output::"
        "step 'say': output 'out' is read by no step and no workflow output"
    )
    assert lines[8] == (
        "::error file=examples/cwl/invalid/many-errors.cwl,line=30,col=3,title=cwl-cycle::"
        "step 'ping': steps form a cycle: ping -> pong -> ping"
    )
    assert lines[-1] == "examples/cwl/invalid/many-errors.cwl: 9 errors, 4 warnings"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["check"], "cwlpilot check: the following arguments are required: PATH\n"),
        (
            ["check", "examples/cwl/greet.cwl", "--format", "xml"],
            "cwlpilot check: argument --format: invalid choice",
        ),
        (["check", "nope.cwl"], "cwlpilot check: no such file: nope.cwl\n"),
        (["check", "examples/cwl/greet.cwl", "nope.yml"], "cwlpilot check: no such file: nope.yml\n"),
        (["graph", "nope.cwl"], "cwlpilot graph: no such file: nope.cwl\n"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str) -> None:
    code, out, err = run(*argv)
    assert (code, out) == (2, "")
    assert err.startswith(message)


def test_graph_dot() -> None:
    code, out, _ = run("graph", "examples/cwl/nested.cwl")
    assert code == 0
    assert (
        out
        == """\
digraph "examples/cwl/nested.cwl" {
  rankdir=LR;
  node [shape=box];
  "in:names" [label="names", shape=ellipse];
  "in:count" [label="count", shape=ellipse];
  subgraph "cluster_greet" { label="greet";
    "greet.say" [label="say\\nscatter: message"];
    "greet.join" [label="join"];
  }
  "count_lines" [label="count_lines\\nwhen: $(inputs.enabled)", style=dashed];
  "out:greetings" [label="greetings", shape=ellipse];
  "out:lines" [label="lines", shape=ellipse];
  "in:names" -> "greet.say";
  "greet.say" -> "greet.join";
  "in:count" -> "count_lines";
  "greet.join" -> "count_lines";
  "greet.join" -> "out:greetings";
  "count_lines" -> "out:lines";
}
"""
    )


def test_graph_of_a_plan(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps({"stages": [{"name": "a", "cmd": "true"}, {"name": "b", "cmd": "true", "needs": ["a"]}]})
    )
    code, out, _ = run("graph", str(plan), "-o", str(tmp_path / "plan.dot"))
    assert (code, out) == (0, "")
    assert (tmp_path / "plan.dot").read_text() == (
        'digraph plan {\n  rankdir=LR;\n  node [shape=box];\n  "a";\n  "b";\n  "a" -> "b";\n}\n'
    )


def test_graph_of_an_invalid_workflow_exits_1() -> None:
    code, out, err = run("graph", "examples/cwl/invalid/when-v10.cwl")
    assert (code, out) == (1, "")
    assert "`when` needs cwlVersion v1.2" in err


def test_graph_of_a_plan_that_is_no_plan_file_says_where(tmp_path: Path) -> None:
    # regression: `graph` read a plan with json.load: a binary plan was a UnicodeDecodeError, a deeply nested
    # one a RecursionError, an integer of 4,301 digits a ValueError (internal errors, exit 70)
    corpus = REPO / "tests/fuzz/corpus"
    expected = {"plan-binary.json": "plan-binary.json:1:2: not UTF-8 text (byte 0x8b)",
                "plan-deep-nesting.json": "plan-deep-nesting.json:44:74: nested too deeply (more than 64 levels)",
                "plan-huge-int.json": "plan-huge-int.json:47:12: a number of 4301 digits"}
    for name, message in expected.items():
        (tmp_path / name).write_bytes((corpus / name).read_bytes())
        code, out, err = run("graph", str(tmp_path / name))
        assert (code, out) == (1, "") and err.startswith(f"{tmp_path / message}"), err
