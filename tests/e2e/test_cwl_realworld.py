"""End to end: the shapes public CWL workflows use, compiled and run by `cwlpilot cwl-runner` / `run` with
real processes. The workflows are in tests/e2e/cwl (small ones of our own, modelled on arvados-tutorial,
kids-first, NCI-GDC and streamflow-fl); the expected outputs are what cwltool 3.3 gives for them."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from .helpers import cwlpilot, start_cwlpilot, states, timeline
from .test_resume_and_pilots import kill_everything

HERE = Path(__file__).resolve().parent / "cwl"
pytestmark = pytest.mark.e2e


def _runner(tmp_path: Path, *args: str) -> tuple[int, dict, str]:
    proc = cwlpilot("cwl-runner", "--outdir", tmp_path / "out", "--workdir", tmp_path / "work", *args)
    return proc.returncode, json.loads(proc.stdout or "null"), proc.stderr


def _job(tmp_path: Path, text: str) -> str:
    path = tmp_path / "job.yml"
    path.write_text(text)
    return str(path)


def test_a_per_sample_sub_workflow_scattered_over_files_an_upstream_step_listed(tmp_path: Path) -> None:
    # each sample's sub-workflow scatters again, over the chunks its own split step produced
    code, result, err = _runner(tmp_path, str(HERE / "samples.cwl"), str(HERE / "samples-job.yml"))
    assert code == 0, err
    assert result == {"reads": [3, 2, 1], "chunks": [3, 2, 1], "names": ["RUN-run:a", "RUN-run:b", "RUN-run:c"]}
    plan = json.loads((tmp_path / "work" / "plan.json").read_text())
    assert [s["kind"] for s in plan["stages"]] == ["cwl_expression", "cwl_subworkflow"]  # the rest at run time
    ran = states(tmp_path / "work")
    assert ran["per_sample[2].measure[0]"] == "done" and ran["per_sample#gather"] == "done"


def test_every_scatter_method_over_a_sub_workflow_and_arrays_produced_upstream(tmp_path: Path) -> None:
    code, result, err = _runner(tmp_path, str(HERE / "methods.cwl"), _job(tmp_path, "n: 3\n"))
    assert code == 0, err
    assert result["dot"] == ["a0", "b1", "c2"]
    assert result["flat"] == ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    assert result["nested"] == [["a0", "b0", "c0"], ["a1", "b1", "c1"], ["a2", "b2", "c2"]]


def test_an_empty_upstream_array_gives_empty_outputs(tmp_path: Path) -> None:
    code, result, err = _runner(tmp_path, str(HERE / "methods.cwl"), _job(tmp_path, "n: 0\n"))
    assert code == 0, err
    assert result == {"dot": [], "flat": [], "nested": []}


def test_when_on_upstream_values_and_pick_value_on_one_source_pass_nulls_through(tmp_path: Path) -> None:
    code, result, err = _runner(tmp_path, str(HERE / "gated.cwl"), _job(tmp_path, "n: 5\n"))
    assert code == 0, err
    assert result == {"big": [20, 40], "raw": [None, None, 20, None, 40], "seen": [20, 40, 7]}


def test_skipped_steps_show_as_skipped_in_the_table_and_the_timeline(tmp_path: Path) -> None:
    work = tmp_path / "w"
    proc = cwlpilot("run", HERE / "gated.cwl", _job(tmp_path, "n: 5\n"), "--workdir", work, check=0)
    assert "skipped" in proc.stdout + proc.stderr
    assert _skipped(work) == {"per[3]", "per[0].keep", "per[1].keep"}  # `when` false: instance or step
    assert {e["name"] for e in timeline(work) if e["cat"] == "skipped"} == {"per[3]", "per[0].keep", "per[1].keep"}
    outputs = json.loads((work / "outputs.json").read_text())
    assert outputs["raw"] == [None, None, 20, None, 40]


def _skipped(workdir: Path) -> set[str]:
    """The stages the run shows as skipped (done, having run nothing), from its store."""
    db = sqlite3.connect(workdir / "cwlpilot.db")
    try:
        rows = db.execute("SELECT name FROM stages WHERE state = 'done' AND reason LIKE 'skipped: %'").fetchall()
    finally:
        db.close()
    return {name for (name,) in rows}


def test_a_federated_learning_loop_with_a_scatter_in_its_body(tmp_path: Path) -> None:
    code, result, err = _runner(tmp_path, str(HERE / "rounds.cwl"), _job(tmp_path, "clients: [1, 2]\nrounds: 3\n"))
    assert code == 0, err
    assert Path(result["model"]["path"]).read_text() == "21\n"
    assert [Path(h["path"]).read_text() for h in result["history"]] == ["3\n", "9\n", "21\n"]
    assert [h["basename"] for h in result["history"]] == ["model.txt"] * 3  # copies renamed, basename kept
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "model.txt", "model.txt_2", "model.txt_3", "model.txt_4"
    ]
    ran = states(tmp_path / "work")
    assert ran["loop#2#next"] == "done" and "loop#3#next" not in ran  # three iterations, each one stage set


def test_a_loop_that_never_starts_gives_null_or_an_empty_list(tmp_path: Path) -> None:
    code, result, err = _runner(tmp_path, str(HERE / "rounds.cwl"), _job(tmp_path, "clients: [1]\nrounds: 0\n"))
    assert code == 0, err
    assert result == {"model": None, "history": []}  # loopWhen false at once: `last` is null, `all` is []
    assert _skipped(tmp_path / "work") == {"loop", "history"}


def test_load_contents_bindings_of_expression_tool_inputs(tmp_path: Path) -> None:
    job = _job(tmp_path, f"rg: {{class: File, path: {HERE / 'rg.txt'}}}\nsample: NEW\n")
    code, result, err = _runner(tmp_path, str(HERE / "readgroup.cwl"), job)
    assert code == 0, err
    assert result == {"rg_str": "@RG\tID:rg1\tSM:NEW"}
    job = _job(tmp_path, f"input: {{class: File, path: {HERE / 'rg.txt'}}}\n")
    code, result, err = _runner(tmp_path, str(HERE / "file2string.cwl"), job)
    assert code == 0, err
    assert result == {"output": "@RG\tID:rg1\tSM:old\n"}


def test_a_directory_built_by_an_expression_lands_alone_in_outdir(tmp_path: Path) -> None:
    code, result, err = _runner(tmp_path, str(HERE / "bundle.cwl"))
    assert code == 0, err
    out = tmp_path / "out"
    layout = sorted(str(p.relative_to(out)) for p in out.rglob("*"))
    assert layout == ["a.txt", "bundle", "bundle/a.txt", "bundle/b.txt"]  # `other` is a.txt; no b.txt on top
    assert result["first"]["path"] == str(out / "bundle" / "a.txt")
    assert result["other"]["path"] == str(out / "a.txt")


def test_file_formats_are_checked_on_inputs_records_arrays_and_between_steps(tmp_path: Path) -> None:
    good = (HERE / "formats-job.yml").read_text()
    job = tmp_path / "f.yml"
    job.write_text(good.replace("rg.txt", str(HERE / "rg.txt")))
    code, result, err = _runner(tmp_path, str(HERE / "formats.cwl"), str(job))
    assert code == 0, err
    assert result["out"]["format"] == "http://edamontology.org/format_1929"
    job.write_text(good.replace("rg.txt", str(HERE / "rg.txt")) + "relabel_as: http://edamontology.org/format_9999\n")
    code, result, err = _runner(tmp_path, str(HERE / "formats.cwl"), str(job))
    assert code == 1 and "stage 'check': Expected value of 'f' to have format" in err  # found at run time
    job.write_text(good.replace("rg.txt", str(HERE / "rg.txt")).replace('"edam:format_2330"', '"edam:format_1964"'))
    code, result, err = _runner(tmp_path, str(HERE / "formats.cwl"), str(job))
    assert code == 1 and "Expected value of 'more' to have format" in err  # an array item of a record field


@pytest.mark.parametrize("delay", [0.6, 1.3, 2.0])
def test_a_loop_of_run_time_scatters_survives_sigkill_and_resumes(tmp_path: Path, delay: float) -> None:
    ledger = tmp_path / "ledger"
    job = _job(tmp_path, f"rounds: 3\nledger: {ledger}\n")
    work = tmp_path / "w"
    proc = start_cwlpilot("run", HERE / "sleepy.cwl", job, "--workdir", work, "-j", 2)
    time.sleep(delay)
    kill_everything(proc)
    done_before = {n for n, s in states(work).items() if s == "done"}
    lines = ledger.read_text().split("\n")[:-1] if ledger.exists() else []
    started = {int(v): lines.count(f"start {v}") for v in (0, 1, 10, 11, 20, 21)}
    cwlpilot("run", HERE / "sleepy.cwl", job, "--workdir", work, "-j", 2, check=0)
    assert json.loads((work / "outputs.json").read_text()) == {"values": [1, 21, 41]}
    lines = ledger.read_text().split("\n")[:-1]
    for v, count in started.items():
        assert f"end {v}" in lines  # every instance of every iteration finished in the end
        if any(n.endswith(".slow") and _value_of(n) == v for n in done_before):
            assert lines.count(f"start {v}") == count  # what finished before the kill did not run again


def _value_of(stage: str) -> int:
    """The value a `loop#R.work[I].slow` stage works on (R * 10 + I)."""
    _, _, rest = stage.partition("#")
    round_ = int(rest.split(".")[0])
    index = int(rest.split("[")[1].split("]")[0])
    return round_ * 10 + index


def test_check_shows_the_loop(tmp_path: Path) -> None:
    proc = cwlpilot("check", HERE / "rounds.cwl", check=0)
    assert "loop: loop while $(inputs.round < inputs.rounds); round <- valueFrom $(inputs.round + 1), " \
           "model <- model (outputs: last iteration)" in proc.stdout
    assert "loop: history while" in proc.stdout and "(outputs: every iteration)" in proc.stdout


def test_a_sub_workflow_fed_by_value_from_on_an_upstream_value(tmp_path: Path) -> None:
    wf = tmp_path / "wf.cwl"
    wf.write_text(f"""\
cwlVersion: v1.2
class: Workflow
requirements: {{SubworkflowFeatureRequirement: {{}}, StepInputExpressionRequirement: {{}},
               InlineJavascriptRequirement: {{}}}}
inputs: {{n: int}}
outputs: {{s: {{type: string, outputSource: pair/s}}}}
steps:
  make:
    run: {{class: ExpressionTool, inputs: {{n: int}}, outputs: {{m: int}}, expression: "$({{m: inputs.n + 1}})"}}
    in: {{n: n}}
    out: [m]
  pair:
    run: {HERE / "pair.cwl"}
    in: {{x: {{source: make/m, valueFrom: "$(self * 2)"}}, y: {{default: z}}}}
    out: [s]
""")
    code, result, err = _runner(tmp_path, str(wf), _job(tmp_path, "n: 3\n"))
    assert code == 0, err
    assert result == {"s": "z8"}
    assert states(tmp_path / "work")["pair.join"] == "done"  # no scatter: the body's stages under `pair.`


def test_the_max_iteration_guard_stops_a_loop_that_would_go_on(tmp_path: Path) -> None:
    job = _job(tmp_path, "clients: [1]\nrounds: 5\n")
    proc = cwlpilot("run", HERE / "rounds.cwl", job, "--workdir", tmp_path / "w", "--max-loop-iterations", 2)
    assert proc.returncode == 1
    assert "loopWhen still holds after 2 iterations" in proc.stdout + proc.stderr
