"""Tests for compiler.emit: golden plans, determinism, schema validity, flattening, scatter, `when`."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from cwlpilot import schemas
from cwlpilot.check_cmd import main, plan_json
from cwlpilot.compiler.emit import compile_plan, files_resolved
from cwlpilot.compiler.loader import load_strict

REPO = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).resolve().parent / "golden"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)


def compile_example(name: str, job: dict[str, Any]) -> dict[str, Any]:
    return compile_plan(load_strict(f"examples/cwl/{name}"), job, str(REPO / "examples" / "cwl"))


def cli_compile(*argv: str) -> str:
    out = io.StringIO()
    assert main(["compile", *argv], out, io.StringIO()) == 0
    return out.getvalue()


@pytest.mark.parametrize("name", ["greet", "cross"])
def test_golden_plans_are_byte_identical(name: str) -> None:
    text = cli_compile(f"examples/cwl/{name}.cwl", f"examples/cwl/{name}-job.yml")
    assert text == (GOLDEN / f"{name}.plan.json").read_text()
    assert text == cli_compile(f"examples/cwl/{name}.cwl", f"examples/cwl/{name}-job.yml")


@pytest.mark.parametrize(
    ("name", "job"),
    [
        ("greet.cwl", {"names": ["a", "b"]}),
        ("nested.cwl", {"names": ["a"], "count": False}),
        ("cross.cwl", {"names": ["a"], "greetings": ["b", "c"], "shout": True}),
        ("odd paths/shout wf.cwl", {"text": {"class": "File", "path": "data/hello.txt"}}),
    ],
)
def test_plans_match_the_schema(name: str, job: dict[str, Any]) -> None:
    plan = compile_example(name, job)
    jsonschema.Draft202012Validator(schemas.load("stages")).validate(plan)
    assert json.loads(plan_json(plan)) == plan


def test_scatter_and_resources() -> None:
    plan = compile_example("greet.cwl", {"names": ["Ada", "Bo"]})
    say0, say1, join = plan["stages"]
    assert (say0["name"], say0["cmd"], say0["resources"], say0["timeout"]) == (
        "say[0]",
        "echo hello Ada > out.txt",
        {"cpu": 1, "mem": 64},
        60,
    )
    assert say1["cmd"] == "echo hello Bo > out.txt"
    assert join["needs"] == ["say[0]", "say[1]"]
    assert join["data"]["inputs"] == {"files": [{"$ref": "say[0]/out"}, {"$ref": "say[1]/out"}]}
    assert join["data"]["command"]["baseCommand"] == ["cat"]  # built at run time from the data
    assert join["data"]["outputs"]["all"]["glob"] == ["all.txt"]
    assert plan["outputs"] == {"greetings": {"type": "File", "value": {"$ref": "join/all"}}}


def test_sub_workflow_is_flattened_and_outputs_map_exactly() -> None:
    plan = compile_example("nested.cwl", {"names": ["Ada"]})
    assert [(s["name"], s["needs"]) for s in plan["stages"]] == [
        ("greet.say[0]", []),
        ("greet.join", ["greet.say[0]"]),
        ("count_lines", ["greet.join"]),
    ]
    assert plan["outputs"]["greetings"]["value"] == {"$ref": "greet.join/all"}


def test_static_when_false_leaves_only_a_stage_shown_as_skipped() -> None:
    plan = compile_example("cross.cwl", {"names": ["a"], "greetings": ["b"], "shout": False})
    assert [(s["name"], s["kind"], s["needs"]) for s in plan["stages"]] == [
        ("say[0][0]", "cwl_tool", []),
        ("loud", "cwl_skipped", []),
    ]
    assert plan["outputs"]["loud"]["value"] is None
    plan = compile_example("cross.cwl", {"names": ["a"], "greetings": ["b"], "shout": True})
    assert plan["stages"][-1]["name"] == "loud" and "when" not in plan["stages"][-1]


def test_file_inputs_get_absolute_paths_and_name_fields() -> None:
    assert files_resolved({"class": "File", "location": "d/x.tar.gz"}, "/base") == {
        "class": "File",
        "path": "/base/d/x.tar.gz",
        "location": "file:///base/d/x.tar.gz",
        "basename": "x.tar.gz",
        "dirname": "/base/d",
        "nameroot": "x.tar",
        "nameext": ".gz",
    }


def test_compile_reports_workflow_errors_and_missing_inputs() -> None:
    err = io.StringIO()
    assert main(["compile", "examples/cwl/invalid/when-v10.cwl"], io.StringIO(), err) == 1
    assert "`when` needs cwlVersion v1.2" in err.getvalue()
    err = io.StringIO()
    assert main(["compile", "examples/cwl/greet.cwl"], io.StringIO(), err) == 1
    assert (
        err.getvalue()
        == "examples/cwl/greet.cwl: required input 'names' (string[]) has no value: give an inputs file\n"
    )


SCATTER_AFTER = """\
cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {names: 'string[]'}
outputs: []
steps:
  a:
    run:
      class: CommandLineTool
      baseCommand: touch
      inputs: {n: {type: string, inputBinding: {}}}
      outputs: {made: {type: 'File[]', outputBinding: {glob: '*'}}}
    SCATTER_A
    in: {n: names}
    out: [made]
  b:
    run: {class: CommandLineTool, baseCommand: cat, inputs: {f: FILE_TYPE}, outputs: []}
    scatter: f
    in: {f: a/made}
    out: []
"""


def write_scatter_after(tmp_path: Path, scatter_a: bool) -> tuple[str, str]:
    text = SCATTER_AFTER.replace("SCATTER_A", "scatter: n" if scatter_a else "")
    text = text.replace("FILE_TYPE", "'File[]'" if scatter_a else "File")
    if not scatter_a:
        text = text.replace("inputs: {names: 'string[]'}", "inputs: {names: string}")
    (tmp_path / "wf.cwl").write_text(text)
    (tmp_path / "job.yml").write_text("names: [x, y]\n" if scatter_a else "names: x\n")
    return str(tmp_path / "wf.cwl"), str(tmp_path / "job.yml")


def test_scatter_over_a_gathered_scatter_pairs_instances(tmp_path: Path) -> None:
    plan = json.loads(cli_compile(*write_scatter_after(tmp_path, scatter_a=True)))
    assert [(s["name"], s["needs"]) for s in plan["stages"]] == [
        ("a[0]", []),
        ("a[1]", []),
        ("b[0]", ["a[0]"]),
        ("b[1]", ["a[1]"]),
    ]


def test_scatter_over_an_array_produced_upstream_is_expanded_at_run_time(tmp_path: Path) -> None:
    plan = json.loads(cli_compile(*write_scatter_after(tmp_path, scatter_a=False)))
    assert [(s["name"], s["needs"]) for s in plan["stages"]] == [("a", []), ("b", ["a"])]
    step = plan["stages"][1]["data"]["step"]
    assert step["scatter"] == ["f"]
    assert step["in"]["f"] == {"$ref": "a/made"}


def _scatter_workflow(tmp_path: Path, method: str, ports: int, extra: str = "") -> Path:
    (tmp_path / "echo.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs:\n"
        + "".join(f"  p{k}: {{type: string, inputBinding: {{position: {k}}}}}\n" for k in range(ports))
        + "  big: {type: string, default: x, inputBinding: {position: 9}}\noutputs: []\n"
    )
    path = tmp_path / "wf.cwl"
    path.write_text(
        "cwlVersion: v1.2\nclass: Workflow\nrequirements: {ScatterFeatureRequirement: {}}\ninputs:\n"
        + "".join(f"  a{k}: string[]\n" for k in range(ports))
        + "  big: string\noutputs: []\nsteps:\n  s:\n    run: echo.cwl\n"
        + f"    scatter: [{', '.join(f'p{k}' for k in range(ports))}]\n"
        + f"    scatterMethod: {method}\n    in: {{{', '.join(f'p{k}: a{k}' for k in range(ports))}, big: big}}\n"
        + "    out: []\n" + extra
    )
    return path


def test_a_cross_product_beyond_the_stage_limit_is_counted_not_made(tmp_path: Path) -> None:
    # regression: three 1,000-element arrays crossed asked for 10^9 stages, in memory, before any check
    path = _scatter_workflow(tmp_path, "nested_crossproduct", 3)
    job = tmp_path / "job.yml"
    job.write_text("".join(f"a{k}: [{', '.join(f'v{i}' for i in range(1000))}]\n" for k in range(3)) + "big: x\n")
    err = io.StringIO()
    assert main(["compile", str(path), str(job)], io.StringIO(), err) == 1
    assert "the scatter makes 1000000000 instances, more than the 20000 allowed" in err.getvalue()


def test_a_large_value_shared_by_every_instance_is_counted_once_per_stage(tmp_path: Path) -> None:
    # regression: a 3.6 MB input given to each of 20,000 instances compiled into 72 GB of commands
    path = _scatter_workflow(tmp_path, "dotproduct", 1)
    job = tmp_path / "job.yml"
    job.write_text(f"a0: [{', '.join(f'v{i}' for i in range(20))}]\nbig: {'y' * 2_000_000}\n")
    err = io.StringIO()
    assert main(["compile", str(path), str(job)], io.StringIO(), err) == 1
    assert "the plan is larger than 32 MB by this step" in err.getvalue()


def test_numbers_ruamel_yaml_reads_as_its_own_types_compile(tmp_path: Path) -> None:
    # regression: `timelimit: 1_000` is a ruamel.yaml ScalarInt, which jsonschema-rs refused with a ValueError
    tool = (REPO / "examples/cwl/tools/echo.cwl").read_text()
    tool = tool.replace("timelimit: 60", "timelimit: 1_000").replace("coresMin: 1", "coresMin: 0x2")
    (tmp_path / "echo.cwl").write_text(tool)
    (tmp_path / "job.yml").write_text("message: hi\n")
    plan = json.loads(cli_compile(str(tmp_path / "echo.cwl"), str(tmp_path / "job.yml")))
    assert plan["stages"][0]["timeout"] == 1000 and plan["stages"][0]["resources"]["cpu"] == 2


def test_a_stage_name_longer_than_a_folder_name_may_be_is_refused_at_its_step(tmp_path: Path) -> None:
    # regression: a 300-character name failed only when the stage started, "File name too long"
    greet = (REPO / "examples/cwl/greet.cwl").read_text()
    (tmp_path / "tools").symlink_to(REPO / "examples/cwl/tools")
    long_id = "s" * 250
    (tmp_path / "wf.cwl").write_text(greet.replace("  say:", f"  {long_id}:").replace("say/out", f"{long_id}/out"))
    err = io.StringIO()
    assert main(["compile", str(tmp_path / "wf.cwl"), "examples/cwl/greet-job.yml"], io.StringIO(), err) == 1
    assert f"wf.cwl:14:3: the stage name '{'s' * 40}...' has 253 bytes, more than the 240" in err.getvalue()


def test_a_step_whose_value_from_ignores_its_source_still_needs_that_step(tmp_path: Path) -> None:
    # regression: `in: {msg: {source: f/o, valueFrom: "x"}}` compiled to a stage with no `needs`, so it ran
    # before (and, with --on-error continue, after the failure of) the step it is connected to; cwltool's
    # `object_from_state` never makes the step ready while its source is missing
    (tmp_path / "tool.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\n"
        "inputs: {msg: {type: string, inputBinding: {}}}\noutputs: {o: stdout}\n")
    wf = tmp_path / "wf.cwl"
    wf.write_text(
        "cwlVersion: v1.2\nclass: Workflow\nrequirements: {StepInputExpressionRequirement: {}}\ninputs: []\n"
        "outputs: {o: {type: File, outputSource: h/o}}\nsteps:\n"
        "  f: {run: tool.cwl, in: {msg: {default: a}}, out: [o]}\n"
        "  h: {run: tool.cwl, in: {msg: {source: f/o, valueFrom: x}}, out: [o]}\n")
    plan = compile_plan(load_strict(str(wf)), {}, str(tmp_path))
    needs = {s["name"]: s["needs"] for s in plan["stages"]}
    assert needs == {"f": [], "h": ["f"]}
