"""End to end: `cwlpilot cwl-runner` and `cwlpilot run` compile a CWL workflow and run it with real processes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from .helpers import attempts as store_attempts
from .helpers import cwlpilot

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "cwl"
pytestmark = pytest.mark.e2e


def _runner(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    proc = cwlpilot("cwl-runner", "--outdir", tmp_path / "out", "--workdir", tmp_path / "work", *args)
    return proc.returncode, json.loads(proc.stdout or "null"), proc.stderr


def test_static_scatter_then_gather_delivers_the_file_into_outdir(tmp_path: Path) -> None:
    code, result, err = _runner(tmp_path, str(EXAMPLES / "greet.cwl"), str(EXAMPLES / "greet-job.yml"))
    assert code == 0, err
    greeting = result["greetings"]
    assert greeting["location"].startswith("file://" + str(tmp_path / "out"))
    assert Path(greeting["path"]).read_text().splitlines()[0].startswith("hello")
    assert greeting["checksum"].startswith("sha1$") and greeting["size"] > 0


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_scatter_over_an_upstream_array_is_expanded_at_run_time(tmp_path: Path) -> None:
    wf = _write(
        tmp_path,
        "wf.cwl",
        """\
        cwlVersion: v1.2
        class: Workflow
        requirements: {ScatterFeatureRequirement: {}, InlineJavascriptRequirement: {}}
        inputs: {n: int}
        outputs:
          lines: {type: "string[]", outputSource: show/line}
        steps:
          make:
            in: {n: n}
            out: [items]
            run:
              class: ExpressionTool
              inputs: {n: int}
              outputs: {items: "string[]"}
              expression: "${ var a = []; for (var i = 0; i < inputs.n; i++) a.push('x' + i); return {items: a}; }"
          show:
            in: {word: make/items}
            scatter: word
            out: [line]
            run:
              class: CommandLineTool
              baseCommand: echo
              inputs: {word: {type: string, inputBinding: {}}}
              stdout: o.txt
              outputs:
                line:
                  type: string
                  outputBinding: {glob: o.txt, loadContents: true, outputEval: "$(self[0].contents.trim())"}
        """,
    )
    job = _write(tmp_path, "job.yml", "n: 3\n")
    code, result, err = _runner(tmp_path, wf, job)
    assert code == 0, err
    assert result == {"lines": ["x0", "x1", "x2"]}


def test_a_failing_tool_fails_the_run_and_prints_what_it_has(tmp_path: Path) -> None:
    tool = _write(
        tmp_path,
        "fail.cwl",
        """\
        cwlVersion: v1.2
        class: CommandLineTool
        baseCommand: ["false"]
        inputs: []
        outputs: []
        """,
    )
    code, result, err = _runner(tmp_path, tool)
    assert code == 1 and result == {}  # cwltool prints the output object of a failed run too
    assert "the run failed" in err


def test_run_writes_the_output_object_into_the_workdir(tmp_path: Path) -> None:
    proc = cwlpilot("run", "--workdir", tmp_path / "w", "-q", EXAMPLES / "greet.cwl", EXAMPLES / "greet-job.yml")
    assert proc.returncode == 0, proc.stderr
    written = json.loads((tmp_path / "w" / "outputs.json").read_text())
    assert written["greetings"]["class"] == "File"
    assert (tmp_path / "w" / "plan.json").exists()


@pytest.mark.parametrize(
    ("exits", "ok", "attempts"),
    [
        (1, True, 1),  # a success code
        (0, False, 1),  # 0 named a permanent failure: fails, never retried
        (42, False, 2),  # a temporary failure: tried again (--retry-on-failure 1), fails again
        (3, False, 2),  # a code no list names: a failure, retried like any failure
    ],
)
def test_success_and_fail_codes_decide_the_outcome(tmp_path: Path, exits: int, ok: bool, attempts: int) -> None:
    tool = _write(
        tmp_path,
        "tool.cwl",
        f"""\
        cwlVersion: v1.2
        class: CommandLineTool
        inputs: []
        outputs: []
        baseCommand: [sh, -c, "exit {exits}"]
        successCodes: [1]
        permanentFailCodes: [0]
        temporaryFailCodes: [42]
        """,
    )
    proc = cwlpilot("run", tool, "--workdir", tmp_path / "work", "--retry-on-failure", 1)
    err = proc.stderr
    assert (proc.returncode == 0) is ok, err
    assert len(store_attempts(tmp_path / "work")) == attempts, err


FAILING = """\
    cwlVersion: v1.2
    class: CommandLineTool
    baseCommand: [sh, -c, "echo partial > part.txt; exit 3"]
    inputs: []
    outputs: []
    """


def _temporary_runner(tmp_path: Path, *args: str) -> tuple[int, str, Path]:
    """cwl-runner without --workdir, with TMPDIR a folder of its own; returns that folder too."""
    import os
    import subprocess
    import sys

    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = {**os.environ, "TMPDIR": str(tmp)}
    proc = subprocess.run([sys.executable, "-m", "cwlpilot", "cwl-runner", "--outdir", str(tmp_path / "out"), *args],
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    return proc.returncode, proc.stdout + proc.stderr, tmp


def test_cwl_runner_removes_its_temporary_folder_when_the_run_succeeds(tmp_path: Path) -> None:
    # regression: every cwl-runner call left a /tmp/cwlpilot-* folder behind
    code, output, tmp = _temporary_runner(tmp_path, str(EXAMPLES / "greet.cwl"), str(EXAMPLES / "greet-job.yml"))
    assert code == 0, output
    assert list(tmp.iterdir()) == []
    assert (tmp_path / "out" / "all.txt").read_text().startswith("hello")  # delivered before the folder went


def test_cwl_runner_removes_its_temporary_folder_when_the_run_fails(tmp_path: Path) -> None:
    code, output, tmp = _temporary_runner(tmp_path, _write(tmp_path, "fail.cwl", FAILING))
    assert code == 1
    assert list(tmp.iterdir()) == []
    assert "the run failed (--leave-tmpdir keeps its plan and logs)" in output


def test_leave_tmpdir_keeps_the_folder_made_from_the_prefix(tmp_path: Path) -> None:
    (tmp_path / "scratch").mkdir()
    prefix = str(tmp_path / "scratch" / "cwl-")
    code, output, tmp = _temporary_runner(tmp_path, "--leave-tmpdir", "--tmpdir-prefix", prefix,
                                          _write(tmp_path, "fail.cwl", FAILING))
    assert code == 1
    kept = list((tmp_path / "scratch").iterdir())
    assert len(kept) == 1 and kept[0].name.startswith("cwl-") and list(tmp.iterdir()) == []
    assert (kept[0] / "plan.json").is_file() and (kept[0] / "fail" / "out" / "part.txt").read_text() == "partial\n"
    assert f"plan and logs in {kept[0]}" in output


def test_tmp_outdir_prefix_comes_before_tmpdir_prefix_and_missing_folders_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    code, output, _ = _temporary_runner(tmp_path, "--leave-tmpdir", "--tmpdir-prefix", f"{tmp_path}/a/",
                                        "--tmp-outdir-prefix", f"{tmp_path}/b/", str(EXAMPLES / "greet.cwl"),
                                        str(EXAMPLES / "greet-job.yml"))
    assert code == 0, output
    assert list((tmp_path / "a").iterdir()) == [] and len(list((tmp_path / "b").iterdir())) == 1
    greet = str(EXAMPLES / "greet.cwl")
    code, output, _ = _temporary_runner(tmp_path, "--tmpdir-prefix", f"{tmp_path}/missing/x-", greet)
    assert code == 2 and f"--tmpdir-prefix {tmp_path}/missing/x-: no such directory {tmp_path}/missing" in output
