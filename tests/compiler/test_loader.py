"""Tests for compiler.loader: cwl-utils documents in, frozen IR with positions out."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Pos, WorkflowError
from cwlpilot.compiler.loader import load, load_strict
from cwlpilot.compiler.yamlsrc import display_path

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "cwl"
# the suite beside the clone, or where CWL_CONFORMANCE_DIR says (as for .ci/conformance.sh)
CONFORMANCE = Path(os.environ.get("CWL_CONFORMANCE_DIR") or REPO.parent / "shared" / "cwl-conformance") / "tests"
needs_conformance = pytest.mark.skipif(
    not CONFORMANCE.is_dir(), reason="the CWL conformance suite is not at ../shared/cwl-conformance"
)


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    # positions are shown relative to the working directory
    monkeypatch.chdir(REPO)


def test_workflow_steps_sources_and_positions() -> None:
    wf = load_strict("examples/cwl/greet.cwl")
    assert isinstance(wf, ir.Workflow)
    assert wf.cwl_version == "v1.2"
    assert [s.id for s in wf.steps] == ["say", "join"]
    say, join = wf.steps
    assert say.pos == Pos("examples/cwl/greet.cwl", 14, 3)
    assert say.scatter == ("message",)
    assert say.inputs == (ir.StepInput("message", Pos("examples/cwl/greet.cwl", 18, 7), sources=("names",)),)
    assert join.input("files").sources == ("say/out",)
    assert wf.outputs[0].sources == ("join/all",)
    assert wf.inputs[0].type == ir.ArrayType("string")


def test_tool_fields_are_converted() -> None:
    wf = load_strict("examples/cwl/greet.cwl")
    echo = wf.steps[0].run
    assert isinstance(echo, ir.CommandLineTool)
    assert echo.base_command == ("echo",)
    assert echo.stdout == "out.txt"
    assert echo.arguments[0].binding == ir.InputBinding(position=0, value_from="hello")
    assert echo.input("no_newline").binding == ir.InputBinding(position=0, prefix="-n")
    assert echo.input("no_newline").default is False and echo.input("no_newline").has_default
    assert echo.output("out").type == "stdout"
    resources = echo.requirement("ResourceRequirement")
    assert resources is not None and dict(resources.fields) == {"coresMin": 1, "ramMin": 64}
    assert resources.pos == Pos("examples/cwl/tools/echo.cwl", 6, 3)
    cat = wf.steps[1].run
    assert cat.output("all").binding == ir.OutputBinding(glob=("all.txt",))


def test_ir_is_frozen() -> None:
    wf = load_strict("examples/cwl/greet.cwl")
    with pytest.raises(dataclasses.FrozenInstanceError):
        wf.steps[0].id = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        wf.steps[0].run.requirements[0].fields["coresMin"] = 8  # type: ignore[index]


def test_inline_run_gets_a_stable_uri_and_when() -> None:
    wf = load_strict("examples/cwl/nested.cwl")
    count = wf.step("count_lines")
    assert count.when == "$(inputs.enabled)"
    assert count.run.uri == (EXAMPLES / "nested.cwl").as_uri() + "#count_lines/run"
    assert count.run.pos == Pos("examples/cwl/nested.cwl", 33, 7)
    assert isinstance(wf.step("greet").run, ir.Workflow)


def test_paths_with_spaces_and_hash() -> None:
    wf = load_strict("examples/cwl/odd paths/shout wf.cwl")
    tool = wf.steps[0].run
    assert tool.pos == Pos("examples/cwl/odd paths/sub#dir/shout tool.cwl", 1, 1)
    assert tool.base_command == ("tr", "a-z", "A-Z")
    assert wf.cwl_version == tool.cwl_version == "v1.1"


def test_schema_errors_are_all_collected_with_positions() -> None:
    result = load("examples/cwl/invalid/schema-errors.cwl")
    assert result.process is None
    assert [str(d) for d in result.diagnostics] == [
        "examples/cwl/invalid/schema-errors.cwl:7:5: invalid field `badfield`, expected one of: `label`, "
        "`secondaryFiles`, `streamable`, `doc`, `id`, `format`, `loadContents`, `loadListing`, `default`, "
        "`type`, `inputBinding`",
        "examples/cwl/invalid/schema-errors.cwl:18:5: step 'two': the `run` field refers to 'nothere.cwl', "
        "which does not exist",
    ]


def test_yaml_syntax_error_has_a_position() -> None:
    result = load("examples/cwl/invalid/syntax.cwl")
    assert result.process is None
    assert [str(d) for d in result.diagnostics] == [
        "examples/cwl/invalid/syntax.cwl:7:1: YAML syntax error: expected ',' or ']', but got '<stream end>' "
        "(while parsing a flow sequence at line 6)"
    ]


def test_missing_file() -> None:
    with pytest.raises(WorkflowError) as info:
        load_strict("examples/cwl/no-such-file.cwl")
    assert str(info.value) == "examples/cwl/no-such-file.cwl:1:1: cannot read file: No such file or directory"


def test_unknown_type_is_reported() -> None:
    result = load("examples/cwl/invalid/unknown-type.cwl")
    assert [str(d) for d in result.diagnostics] == [
        "examples/cwl/invalid/unknown-type.cwl:4:3: unknown type 'Strin'"
    ]


@needs_conformance
def test_graph_document_with_fragment() -> None:
    path = os.path.relpath(CONFORMANCE / "conflict-wf.cwl")
    wf = load_strict(path + "#collision")
    assert [s.id for s in wf.steps] == ["echo_1", "echo_2", "cat_step"]
    assert wf.steps[0].run is wf.steps[1].run  # one document, loaded once
    assert wf.steps[2].input("file1").sources == ("echo_1/fileout",)


@needs_conformance
def test_graph_document_without_main() -> None:
    path = os.path.relpath(CONFORMANCE / "conflict-wf.cwl")
    result = load(path)
    assert [str(d) for d in result.diagnostics] == [
        f"{display_path(path)}:1:1: the `$graph` has no `main` entry; name one with FILE#ID, "
        "one of #echo, #cat, #collision"
    ]


@needs_conformance
def test_packed_graph_main() -> None:
    wf = load_strict(os.path.relpath(CONFORMANCE / "revsort-packed.cwl"))
    assert [s.id for s in wf.steps] == ["rev", "sorted"]
    assert wf.step("sorted").input("reverse").sources == ("reverse_sort",)
    assert wf.input("reverse_sort").default is True


@needs_conformance
def test_import_and_schema_def_types() -> None:
    wf = load_strict(os.path.relpath(CONFORMANCE / "schemadef-wf.cwl"))
    hello = ir.RecordType("HelloType", (ir.RecordField("a", "string"), ir.RecordField("b", "string")))
    assert wf.input("hello").type == hello
    assert wf.steps[0].run.input("hello").type == hello


@needs_conformance
def test_include_is_expanded() -> None:
    tool = load_strict(os.path.relpath(CONFORMANCE / "template-tool.cwl"))
    lib = tool.requirement("InlineJavascriptRequirement")
    assert lib is not None
    assert any("function" in str(line) for line in lib.fields["expressionLib"])


@needs_conformance
def test_every_conformance_document_loads_without_crashing() -> None:
    # Invalid documents must give diagnostics, never an exception.
    failed = []
    for path in sorted(CONFORMANCE.rglob("*.cwl")):
        result = load(str(path))
        if result.process is None and not result.diagnostics:
            failed.append(path.name)
    assert failed == []


def _tool(tmp_path: Path, body: str, name: str = "tool.cwl") -> str:
    path = tmp_path / name
    path.write_text("cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\n" + body)
    return str(path)


def test_import_of_dev_zero_is_refused_at_the_import(tmp_path: Path) -> None:
    # regression: schema-salad's fetcher read `$import: /dev/zero` until the memory was gone
    result = load(_tool(tmp_path, "requirements:\n  - $import: /dev/zero\ninputs: []\noutputs: []\n"), str(tmp_path))
    assert result.process is None and result.refused
    assert [str(d) for d in result.diagnostics] == [
        "tool.cwl:5:5: $import: /dev/zero:1:1: the file is larger than 4 MB, the most a document may be"
    ]


def test_import_of_an_alias_bomb_is_refused_at_the_import(tmp_path: Path) -> None:
    lines = ["x0: &x0 [a, a, a, a, a, a, a, a, a, a]"]
    lines += [f"x{k}: &x{k} [{', '.join([f'*x{k - 1}'] * 10)}]" for k in range(1, 8)]
    (tmp_path / "bomb.yml").write_text("\n".join(lines) + "\n")
    result = load(_tool(tmp_path, "requirements:\n  - $import: bomb.yml\ninputs: []\noutputs: []\n"), str(tmp_path))
    assert result.refused and "alias bomb" in str(result.diagnostics[0])
    assert str(result.diagnostics[0]).startswith("tool.cwl:5:5: $import: bomb.yml:7:")


def test_more_steps_than_the_limit_are_refused_before_cwl_utils_reads_them(tmp_path: Path) -> None:
    from cwlpilot.compiler import limits

    steps = "".join(f"  s{i}:\n    run: t.cwl\n    in: []\n    out: []\n" for i in range(limits.MAX_STEPS + 1))
    path = tmp_path / "wf.cwl"
    path.write_text("cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n" + steps)
    result = load(str(path), str(tmp_path))
    assert result.refused and [str(d) for d in result.diagnostics] == [
        f"wf.cwl:5:1: {limits.MAX_STEPS + 1} steps: a document may have at most {limits.MAX_STEPS} "
        "(split it into sub-workflows)"
    ]


def test_a_cwl_document_holds_fewer_values_than_an_inputs_file(tmp_path: Path) -> None:
    # regression: cwl-utils took 23 s over an `Any` default of 290,000 values
    from cwlpilot.compiler import limits

    values = ",".join(["a"] * (limits.MAX_CWL_VALUES + 1))
    body = f"inputs:\n  x:\n    type: Any\n    default: [{values}]\noutputs: []\n"
    result = load(_tool(tmp_path, body), str(tmp_path))
    assert result.refused and f"more than {limits.MAX_CWL_VALUES} values" in str(result.diagnostics[0])
