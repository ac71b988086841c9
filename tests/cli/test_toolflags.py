"""cli/toolflags.py: the job of `cwl-runner` from standard input (`-`) or from the tool's inputs given as flags
after the document, as cwltool 3.3 makes it (`argparser.generate_parser`, `main.load_job_order`). Expected
values are what cwltool gives for the same command lines (/work/notes/cwltool.md 4.2; with a cwltool at
hand the first case is compared live too)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ..e2e.helpers import env, installed, reference_cwltool

# an ExpressionTool that echoes its inputs (Files and Directories by class and basename)
ECHO_INPUTS = """\
cwlVersion: v1.2
class: ExpressionTool
doc: Echo the inputs as JSON
requirements: {InlineJavascriptRequirement: {}}
inputs:
  message: {type: string, doc: "the message"}
  m: {type: "int?"}
  flag: {type: boolean}
  optflag: {type: "boolean?"}
  defflag: {type: boolean, default: true}
  nums: {type: "int[]?"}
  words: {type: "string[]", default: [x, y]}
  f: {type: "File?"}
  fs: {type: "File[]?"}
  d: {type: "Directory?"}
  mode: {type: {type: enum, symbols: [fast, slow]}, default: fast}
  rec:
    type:
      type: record
      fields:
        - {name: a, type: int}
        - {name: b, type: "string?"}
  dashed-name: {type: "string?"}
  anyv: {type: "Any?"}
  union: {type: ["null", int, string]}
outputs:
  json: string
expression: |
  ${ var o = {}; for (var k in inputs) { var v = inputs[k];
     if (v && v.class) { v = {class: v.class, basename: v.basename}; }
     else if (Array.isArray(v) && v.length && v[0] && v[0].class) {
       v = v.map(function(x){return {class: x.class, basename: x.basename};}); }
     o[k] = v; } return {json: JSON.stringify(o)}; }
"""
ALL_FLAGS = ["--message", "hi", "--flag", "--rec.a", "3", "--nums", "1", "--nums", "2", "--words", "a", "-f",
             "f1.txt", "--fs", "f1.txt", "--fs", "f 2#.txt", "-d", ".", "--mode", "slow", "--dashed-name", "dn",
             "-m", "7", "--optflag", "--rec.b", "bee"]


@pytest.fixture
def tool(tmp_path: Path) -> Path:
    (tmp_path / "tool.cwl").write_text(ECHO_INPUTS)
    for name in ("f1.txt", "f 2#.txt"):
        (tmp_path / name).write_text("data\n")
    return tmp_path


def runner(cwd: Path, *args: str, stdin: str | None = None,
           command: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([command or installed("cwl-runner"), *args], cwd=cwd, env=env(), capture_output=True,
                          text=True, timeout=120, input=stdin if stdin is not None else "")


def echoed(proc: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert proc.returncode == 0, proc.stderr
    return json.loads(json.loads(proc.stdout)["json"])


def test_every_kind_of_flag(tool: Path) -> None:
    got = echoed(runner(tool, "--quiet", "--outdir", "out", "tool.cwl", *ALL_FLAGS))
    assert got == {
        "message": "hi", "m": 7, "flag": True, "optflag": True, "defflag": True, "nums": [1, 2],
        "words": ["a"],  # a value given replaces the default list
        "f": {"class": "File", "basename": "f1.txt"}, "mode": "slow", "dashed-name": "dn",
        "fs": [{"class": "File", "basename": "f1.txt"}, {"class": "File", "basename": "f 2#.txt"}],
        "d": {"class": "Directory", "basename": tool.name}, "rec": {"a": 3, "b": "bee"}, "anyv": None,
        "union": None,  # a union other than `T?` gets no flag
    }
    cwltool = reference_cwltool()
    if cwltool is not None:  # (cwltool cannot read `f 2#.txt` from a flag: its urljoin leaves `#` as it is)
        flags = [a if a != "f 2#.txt" else "f1.txt" for a in ALL_FLAGS]
        theirs = echoed(runner(tool, "--quiet", "--outdir", "out2", "tool.cwl", *flags, command=cwltool))
        ours = echoed(runner(tool, "--quiet", "--outdir", "out3", "tool.cwl", *flags))
        assert ours == theirs


@pytest.mark.parametrize(("flags", "message"), [
    (["--message", "hi", "--rec.a", "3"], "the following arguments are required: --flag"),  # a boolean, no default
    (["--message", "hi", "--flag", "--rec.a", "notint"], "argument --rec.a: invalid int value: 'notint'"),
    (["--message", "hi", "--flag", "--rec.a", "3", "--union", "5"], "unrecognized arguments: --union"),
    (["--message", "hi", "--flag", "--rec.a", "3", "--nosuch", "1"], "unrecognized arguments: --nosuch"),
])
def test_flags_that_do_not_parse_are_usage_errors(tool: Path, flags: list[str], message: str) -> None:
    proc = runner(tool, "--quiet", "tool.cwl", *flags)
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", f"tool.cwl: {message}\n")


def test_a_value_the_input_cannot_take_is_an_invalid_job(tool: Path) -> None:
    proc = runner(tool, "--quiet", "tool.cwl", "--message", "hi", "--flag", "--rec.a", "3", "--mode", "bogus")
    assert (proc.returncode, proc.stderr) == (1, "tool.cwl: input 'mode': expected one of fast, slow, got 'bogus'\n")


def test_a_job_file_among_the_flags_is_overridden_by_every_flag_input(tool: Path) -> None:
    # cwltool's init_job_order: the flags' values, defaults and nulls replace the file's (m: 5 becomes null)
    (tool / "job.yml").write_text("message: fromjob\nm: 5\nnums: [4]\nunion: two\nf: {class: File, path: f1.txt}\n")
    (tool / "sub").mkdir()
    got = echoed(runner(tool / "sub", "--quiet", "../tool.cwl", "../job.yml", "--message", "override", "--flag",
                        "--rec.a", "9"))
    assert got["message"] == "override" and got["m"] is None and got["nums"] is None and got["f"] is None
    assert got["union"] == "two"  # no flag for it: the file's value stays


def test_the_job_on_standard_input_is_relative_to_the_working_directory(tool: Path) -> None:
    job = "message: fromjob\nflag: false\nrec: {a: 1}\nunion: two\nf: {class: File, path: f1.txt}\n"
    got = echoed(runner(tool, "--quiet", "tool.cwl", "-", stdin=job))
    assert got["message"] == "fromjob" and got["f"] == {"class": "File", "basename": "f1.txt"}
    assert got["words"] == ["x", "y"] and got["defflag"] is True  # defaults, as with a job file
    proc = runner(tool, "--quiet", "tool.cwl", "-", stdin="message: [unclosed\n")
    assert proc.returncode == 1 and proc.stderr.startswith("<stdin>:2:1: YAML syntax error")
    proc = runner(tool, "--quiet", "tool.cwl", "-", stdin="message: 3\nflag: true\nrec: {a: 1}\n")
    assert (proc.returncode, proc.stderr) == (1, "<stdin>:1:1: input 'message': expected string, got a number (3)\n")
    proc = runner(tool, "--quiet", "tool.cwl", "-", stdin="\0\0")
    assert proc.returncode == 1 and "NUL byte" in proc.stderr and "Traceback" not in proc.stderr


def test_no_job_at_all_is_the_flags_path_with_no_flags(tool: Path) -> None:
    proc = runner(tool, "--quiet", "tool.cwl")
    assert (proc.returncode, proc.stderr) == (2, "tool.cwl: the following arguments are required: --message, "
                                                 "--flag, --rec.a\n")


def test_tool_help_lists_the_inputs_as_flags(tool: Path) -> None:
    proc = runner(tool, "--tool-help", "tool.cwl")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: tool.cwl [-h]")
    for flag in ("--message MESSAGE", "--flag", "--rec.a REC.A", "-f F", "--nums NUMS", "--dashed-name"):
        assert flag in proc.stdout
    assert "--union" not in proc.stdout and "--anyv" not in proc.stdout


def test_a_default_file_stays_relative_to_the_document_when_the_job_is_flags(tmp_path: Path) -> None:
    # an input given no flag keeps its default, whose File is relative to the document (as schema-salad
    # resolves it), not to the working directory the flags' paths are relative to
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "data.txt").write_text("from the default\n")
    (tmp_path / "tools" / "cat.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: cat\n"
        "inputs:\n  f: {type: File, default: {class: File, location: data.txt}, inputBinding: {}}\n"
        "  n: {type: int, default: 1}\nstdout: out.txt\noutputs: {out: stdout}\n")
    for job in ([], ["-n", "2"]):
        proc = runner(tmp_path, "--quiet", "--outdir", "o", "tools/cat.cwl", *job)
        assert proc.returncode == 0, proc.stderr
        assert Path(json.loads(proc.stdout)["out"]["path"]).read_text() == "from the default\n"
