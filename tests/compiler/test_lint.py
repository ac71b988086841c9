"""Tests for compiler.lint: each rule on a small document, at its line and column, and where it must not fire."""

from __future__ import annotations

from pathlib import Path

from cwlpilot.compiler.check import check

TOOL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
requirements:
  ResourceRequirement: {coresMin: 1, ramMin: 64}
inputs:
  message: {type: string, inputBinding: {position: 1}}
stdout: out.txt
outputs:
  out: stdout
"""


def found(path: Path, rule: str | None = None) -> list[tuple[int, int, str, str | None, str]]:
    """(line, col, severity, step, rule) of the lint findings of `path`, of one rule or all."""
    result = check(str(path), lint=True)
    return [
        (d.pos.line, d.pos.col, d.severity, d.step, d.rule or "")
        for d in result.diagnostics
        if rule is None or d.rule == rule
    ]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_unused_workflow_input_and_unread_step_output(tmp_path: Path) -> None:
    write(tmp_path, "echo.cwl", TOOL)
    wf = write(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs:
  message: string
  forgotten: int
outputs: []
steps:
  say:
    run: echo.cwl
    in: {message: message}
    out: [out]
""")
    assert found(wf) == [
        (5, 3, "warning", None, "cwl-unused-input"),
        (11, 11, "warning", "say", "cwl-unused-output"),
    ]
    messages = [d.message for d in check(str(wf), lint=True).diagnostics]
    assert messages == [
        "input 'forgotten' is read by no step and no output",
        "output 'out' is read by no step and no workflow output",
    ]


def test_outputs_read_by_a_step_a_workflow_output_or_a_loop_are_used(tmp_path: Path) -> None:
    write(tmp_path, "echo.cwl", TOOL)
    wf = write(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs:
  message: string
outputs:
  last: {type: File, outputSource: again/out}
steps:
  say:
    run: echo.cwl
    in: {message: message}
    out: [out]
  again:
    run: echo.cwl
    in:
      message: {source: say/out, valueFrom: x}
    out: [out]
""")
    assert found(wf) == []


def test_a_step_output_the_tool_lacks_is_an_error_only(tmp_path: Path) -> None:
    write(tmp_path, "echo.cwl", TOOL)
    wf = write(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs: {message: string}
outputs:
  o: {type: File, outputSource: say/out}
steps:
  say:
    run: echo.cwl
    in: {message: message}
    out: [out, nope]
""")
    assert [r for *_, r in found(wf)] == ["cwl-connection"]


def test_docker_requirement_as_a_requirement_not_as_a_hint(tmp_path: Path) -> None:
    tool = TOOL.replace("requirements:\n", "requirements:\n  DockerRequirement: {dockerPull: alpine}\n")
    assert found(write(tmp_path, "req.cwl", tool)) == [(5, 3, "warning", None, "cwl-docker-requirement")]
    hinted = TOOL + "hints:\n  DockerRequirement: {dockerPull: alpine}\n"
    assert found(write(tmp_path, "hint.cwl", hinted)) == []


def test_absolute_host_paths_in_defaults(tmp_path: Path) -> None:
    tool = TOOL.replace(
        "  message: {type: string, inputBinding: {position: 1}}\n",
        "  message: {type: string, inputBinding: {position: 1}}\n"
        "  ref:\n    type: File\n    default: {class: File, location: /home/me/ref.fa}\n"
        "  rel:\n    type: File\n    default: {class: File, location: data/ref.fa}\n",
    )
    path = write(tmp_path, "tool.cwl", tool)
    assert found(path) == [(10, 5, "warning", None, "cwl-absolute-path")]
    (diag,) = check(str(path), lint=True).diagnostics
    assert "/home/me/ref.fa" in diag.message and diag.message.startswith("input 'ref': ")


def test_absolute_path_in_a_step_default(tmp_path: Path) -> None:
    write(tmp_path, "echo.cwl", TOOL.replace("message: {type: string,", "message: {type: File,"))
    wf = write(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
inputs: []
outputs:
  o: {type: File, outputSource: say/out}
steps:
  say:
    run: echo.cwl
    in:
      message: {default: {class: File, path: /data/in.txt}}
    out: [out]
""")
    assert found(wf) == [(10, 17, "warning", "say", "cwl-absolute-path")]


def test_scatter_without_resource_requirement(tmp_path: Path) -> None:
    write(tmp_path, "bare.cwl", TOOL.replace("requirements:\n  ResourceRequirement: {coresMin: 1, ramMin: 64}\n", ""))
    write(tmp_path, "booked.cwl", TOOL)
    wf = write(tmp_path, "wf.cwl", """\
cwlVersion: v1.2
class: Workflow
requirements: {ScatterFeatureRequirement: {}}
inputs: {names: 'string[]'}
outputs:
  a: {type: 'File[]', outputSource: bare/out}
  b: {type: 'File[]', outputSource: booked/out}
steps:
  bare:
    run: bare.cwl
    scatter: message
    in: {message: names}
    out: [out]
  booked:
    run: booked.cwl
    scatter: message
    in: {message: names}
    out: [out]
""")
    assert found(wf) == [(9, 3, "warning", "bare", "cwl-scatter-resources")]
    # a ResourceRequirement of the workflow (or of the step) is inherited by the tool
    inherited = wf.read_text().replace("requirements: {ScatterFeatureRequirement: {}}",
                                       "requirements: {ScatterFeatureRequirement: {}, ResourceRequirement: {}}")
    assert found(write(tmp_path, "wf2.cwl", inherited)) == []


def test_a_document_that_does_not_load_gets_no_lint(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.cwl", "cwlVersion: v1.2\nclass: Workflow\ninputs: [\n")
    assert [r for *_, r in found(path)] == ["cwl-yaml"]


def test_without_lint_check_gives_no_warning(tmp_path: Path) -> None:
    tool = TOOL.replace("requirements:\n", "requirements:\n  DockerRequirement: {dockerPull: alpine}\n")
    assert check(str(write(tmp_path, "t.cwl", tool))).diagnostics == ()
