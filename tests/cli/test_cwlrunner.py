"""cli/cwlrunner.py and cli/cwlrunner_run.py: the installed `cwl-runner` run as cwltool 3.3 runs, with real
processes: its modes (--validate, --print-dot, --make-template, --print-targets), --target, --on-error,
--parallel, --no-container, --relax-path-checks, the output object as cwltool prints it, the failing step's
stderr, --quiet/--debug, --write-summary, the output modes and --cachedir."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from ..e2e.helpers import attempts, env, installed, reference_cwltool, states, timeline

ECHO = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: echo
inputs: {msg: {type: string, inputBinding: {}}}
stdout: out.txt
outputs: {out: stdout}
"""
SLEEP = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c]
arguments: ["sleep $0; echo slept $0 > slept.txt"]
inputs: {s: {type: string, inputBinding: {position: 1}}}
outputs: {out: {type: File, outputBinding: {glob: slept.txt}}}
"""
FAIL = """\
cwlVersion: v1.2
class: CommandLineTool
baseCommand: [sh, -c, "echo starting >&2; echo the reason it failed >&2; exit 3"]
inputs: []
outputs: {o: {type: File, outputBinding: {glob: none.txt}}}
"""
ON_ERROR = """\
cwlVersion: v1.2
class: Workflow
requirements: {StepInputExpressionRequirement: {}}
inputs: []
outputs:
  bad: {type: File, outputSource: f/o}
  waited: {type: File, outputSource: wait/out}
  after_wait: {type: File, outputSource: g/out}
  after_bad: {type: File, outputSource: h/out}
steps:
  f: {run: fail.cwl, in: {}, out: [o]}
  wait: {run: sleep.cwl, in: {s: {default: "1"}}, out: [out]}
  g: {run: echo.cwl, in: {msg: {source: wait/out, valueFrom: "after wait"}}, out: [out]}
  h: {run: echo.cwl, in: {msg: {source: f/o, valueFrom: "after bad"}}, out: [out]}
"""
PAIR = """\
cwlVersion: v1.2
class: Workflow
inputs: {a: string, b: string}
outputs:
  oa: {type: File, outputSource: sa/out}
  ob: {type: File, outputSource: sb/out}
steps:
  sa: {run: sleep.cwl, in: {s: a}, out: [out]}
  sb: {run: sleep.cwl, in: {s: b}, out: [out]}
"""


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    for name, text in (("echo.cwl", ECHO), ("sleep.cwl", SLEEP), ("fail.cwl", FAIL), ("onerror.cwl", ON_ERROR),
                       ("pair.cwl", PAIR)):
        (tmp_path / name).write_text(text)
    return tmp_path


def runner(cwd: Path, *args: object, command: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([command or installed("cwl-runner"), *map(str, args)], cwd=cwd, env=env(),
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_the_output_object_is_printed_as_cwltool_prints_it(docs: Path) -> None:
    proc = runner(docs, "--quiet", "--outdir", "out", "echo.cwl", "--msg", "hi")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert not proc.stdout.endswith("\n") and proc.stdout.startswith('{\n    "out": {\n        "location"')
    out = json.loads(proc.stdout)["out"]
    assert list(out) == ["location", "basename", "class", "checksum", "size", "path"]
    assert out["path"] == str(docs / "out" / "out.txt") and out["location"] == f"file://{docs}/out/out.txt"
    cwltool = reference_cwltool()
    if cwltool is not None:
        theirs = runner(docs, "--quiet", "--outdir", "theirs", "echo.cwl", "--msg", "hi", command=cwltool)
        assert proc.stdout.replace("/out/", "/theirs/") == theirs.stdout


def test_validate_prints_on_stdout_as_cwltool(docs: Path) -> None:
    proc = runner(docs, "--validate", "echo.cwl")
    assert (proc.returncode, proc.stdout) == (0, "echo.cwl is valid CWL.\n")
    (docs / "job.yml").write_text("msg: hi\n")
    proc = runner(docs, "--validate", "echo.cwl", "job.yml")
    assert (proc.returncode, proc.stdout) == (0, "echo.cwl is valid CWL. No errors detected in the inputs.\n")
    (docs / "bad.yml").write_text("msg: [1]\n")
    proc = runner(docs, "--validate", "echo.cwl", "bad.yml")
    assert (proc.returncode, proc.stdout) == (1, "bad.yml:1:1: input 'msg': expected string, got a list\n")
    (docs / "broken.cwl").write_text(ECHO.replace("baseCommand", "baseComand"))
    proc = runner(docs, "--validate", "broken.cwl")
    assert proc.returncode == 1 and proc.stdout.startswith("broken.cwl:3:1:") and "baseComand" in proc.stdout
    assert not (docs / "out.txt").exists()  # nothing ran


def test_the_print_modes_print_and_run_nothing(docs: Path) -> None:
    proc = runner(docs, "--print-dot", "pair.cwl")
    assert proc.returncode == 0 and proc.stdout.startswith("digraph G {") and '"a" -> "sa";' in proc.stdout
    proc = runner(docs, "--make-template", "pair.cwl")
    assert (proc.returncode, proc.stdout) == (0, "b: a_string  # type 'string'\na: a_string  # type 'string'\n")
    proc = runner(docs, "--print-targets", "pair.cwl")
    assert proc.returncode == 0 and proc.stdout.split() == ["oa", "ob", "a", "b", "sa", "sa/out", "sa/s", "sb",
                                                            "sb/out", "sb/s"]
    assert sorted(p.name for p in docs.iterdir()) == ["echo.cwl", "fail.cwl", "onerror.cwl", "pair.cwl", "sleep.cwl"]


def test_target_runs_only_what_the_named_output_or_step_needs(docs: Path) -> None:
    proc = runner(docs, "--quiet", "--workdir", "w1", "--target", "oa", "pair.cwl", "-a", "0")  # no --b needed
    assert proc.returncode == 0, proc.stderr
    assert list(json.loads(proc.stdout)) == ["oa"] and states(docs / "w1") == {"sa": "done"}
    proc = runner(docs, "--quiet", "--workdir", "w2", "-t", "g", "onerror.cwl", "--wait_out", "sleep.cwl")
    assert proc.returncode == 0, proc.stderr  # the step's missing source is an input of the part: `wait_out`
    assert list(json.loads(proc.stdout)) == ["after_wait"] and states(docs / "w2") == {"g": "done"}
    proc = runner(docs, "--quiet", "--target", "nosuch", "pair.cwl", "-a", "0")
    assert proc.returncode == 1 and "--target nosuch: no workflow output, step or input of that name" in proc.stderr


def test_on_error_stop_starts_nothing_more_and_continue_runs_what_does_not_depend_on_the_failure(
        docs: Path) -> None:
    stop = runner(docs, "--workdir", "stop", "onerror.cwl")
    assert stop.returncode == 1
    result = json.loads(stop.stdout)  # `wait`, running when `f` failed, ends; nothing starts after the failure
    assert result["after_bad"] is None and result["after_wait"] is None and result["bad"] is None
    assert states(docs / "stop") == {"f": "failed", "wait": "done", "g": "ready", "h": "skipped"}  # not started
    assert "(use --on-error continue to carry on past failures)" in stop.stderr
    go_on = runner(docs, "--workdir", "continue", "--on-error", "continue", "onerror.cwl")
    assert go_on.returncode == 1
    result = json.loads(go_on.stdout)
    assert result["bad"] is None and result["after_bad"] is None  # downstream of the failure: never run
    assert Path(result["after_wait"]["path"]).read_text() == "after wait\n"
    assert states(docs / "continue") == {"f": "failed", "wait": "done", "g": "done", "h": "skipped"}
    for proc in (stop, go_on):
        assert "step 'f' failed: exit code 3; the end of its log:\n    starting\n    the reason it failed\n" \
            in proc.stderr
        assert "--keep-going" not in proc.stderr and "-k" not in proc.stderr.split()


def test_parallel_is_accepted_and_independent_steps_run_at_once_without_it(docs: Path) -> None:
    for workdir, parallel in (("plain", []), ("parallel", ["--parallel"])):
        proc = runner(docs, "--quiet", *parallel, "--workdir", workdir, "pair.cwl", "-a", "1", "-b", "1")
        assert proc.returncode == 0, proc.stderr
        sa, sb = sorted(timeline(docs / workdir), key=lambda e: e["name"])
        assert sa["ts"] < sb["ts"] + sb["dur"] and sb["ts"] < sa["ts"] + sa["dur"]  # they overlapped


def test_containers_are_never_started(docs: Path) -> None:
    hint = ECHO.replace("baseCommand", "hints: {DockerRequirement: {dockerPull: no/such:1}}\nbaseCommand")
    (docs / "hint.cwl").write_text(hint)
    (docs / "req.cwl").write_text(hint.replace("hints:", "requirements:"))
    for extra in ([], ["--no-container"]):
        proc = runner(docs, "--quiet", *extra, "--outdir", "o", "hint.cwl", "--msg", "hi")
        assert proc.returncode == 0, proc.stderr  # a hint: run on the host
        proc = runner(docs, "--quiet", *extra, "req.cwl", "--msg", "hi")
        assert proc.returncode == 33 and "DockerRequirement as a requirement needs a container engine" in proc.stderr


def test_any_file_name_is_accepted_relax_path_checks_or_not(docs: Path) -> None:
    (docs / "cat.cwl").write_text(ECHO.replace("baseCommand: echo", "baseCommand: cat").replace(
        "msg: {type: string", "infile: {type: File"))
    (docs / "in put#1.txt").write_text("spaces and a hash\n")
    for n, extra in enumerate(([], ["--relax-path-checks"])):
        proc = runner(docs, "--quiet", *extra, "--outdir", f"o{n}", "cat.cwl", "--infile", "in put#1.txt")
        assert proc.returncode == 0, proc.stderr
        assert (docs / f"o{n}" / "out.txt").read_text() == "spaces and a hash\n"


def test_quiet_debug_and_the_default_say_what_they_should(docs: Path) -> None:
    default = runner(docs, "--outdir", "o", "echo.cwl", "--msg", "hi")
    assert default.returncode == 0 and "done    echo" in default.stderr and "1 stages: 1 done" in default.stderr
    debug = runner(docs, "--debug", "fail.cwl")
    assert debug.returncode == 1 and "the reason it failed" in debug.stderr
    assert "step 'f' failed" not in debug.stderr  # the whole log instead of its end
    quiet = runner(docs, "--quiet", "--outdir", "o2", "echo.cwl", "--msg", "hi")
    assert quiet.stderr == ""


def test_write_summary_and_the_output_modes(docs: Path) -> None:
    proc = runner(docs, "--quiet", "-w", "summary.json", "--outdir", "o", "echo.cwl", "--msg", "hi")
    assert (proc.returncode, proc.stdout) == (0, "")
    assert json.loads((docs / "summary.json").read_text())["out"]["path"] == str(docs / "o" / "out.txt")
    leave = runner(docs, "--quiet", "--leave-outputs", "--tmpdir-prefix", f"{docs}/t-", "--outdir", "o3",
                   "echo.cwl", "--msg", "hi")
    kept = Path(json.loads(leave.stdout)["out"]["path"])
    (folder,) = docs.glob("t-*")
    assert kept.read_text() == "hi\n" and kept.is_relative_to(folder)
    assert not (docs / "o3").exists() and f"the run's folder is kept: {folder}" in leave.stderr
    copy = runner(docs, "--quiet", "--copy-outputs", "--tmpdir-prefix", f"{docs}/c-", "--outdir", "o4",
                  "echo.cwl", "--msg", "hi")
    assert copy.returncode == 0 and (docs / "o4" / "out.txt").read_text() == "hi\n" and len(list(docs.glob("c-*"))) == 1


def test_cachedir_reuses_the_same_run_and_not_one_whose_input_changed(docs: Path) -> None:
    (docs / "cat.cwl").write_text(ECHO.replace("baseCommand: echo", "baseCommand: cat").replace(
        "msg: {type: string", "infile: {type: File"))
    (docs / "in.txt").write_text("first\n")
    first = runner(docs, "--cachedir", "cache", "--outdir", "o1", "cat.cwl", "--infile", "in.txt")
    assert first.returncode == 0 and "the run is cached in" in first.stderr, first.stderr
    folder = next(p for p in (docs / "cache").iterdir() if p.is_dir())
    second = runner(docs, "--cachedir", "cache", "--outdir", "o2", "cat.cwl", "--infile", "in.txt")
    assert second.returncode == 0 and f"using the cached run in {folder}" in second.stderr
    assert [a[:3] for a in attempts(folder)] == [("cat", 1, "done")]  # not run again
    assert (docs / "o2" / "out.txt").read_text() == "first\n"
    time.sleep(0.01)
    (docs / "in.txt").write_text("second\n")  # same path, new content: a new run
    third = runner(docs, "--quiet", "--cachedir", "cache", "--outdir", "o3", "cat.cwl", "--infile", "in.txt")
    assert third.returncode == 0 and (docs / "o3" / "out.txt").read_text() == "second\n"
    assert len([p for p in (docs / "cache").iterdir() if p.is_dir()]) == 2
