"""executor.kinds.panda, stage by stage: prepare writes a script that a real bash runs, finish collects,
a junction decides and adds the next iteration, the gate and the outputs stage read what is on disk."""

import json
import subprocess

import pytest

from cwlpilot.executor.kinds import KindError, StageContext
from cwlpilot.executor.kinds.panda import Gate, Junction, Outputs, Prun
from cwlpilot.executor.plan import stage_from_spec
from cwlpilot.semantics.panda.loops import MARK


def make(tmp_path, name, kind, panda, **more):
    stage = stage_from_spec({"name": name, "cmd": "", "kind": kind, "data": {"panda": panda}, **more}, 0)
    cwd = tmp_path / name
    cwd.mkdir(parents=True, exist_ok=True)
    return stage, StageContext(tmp_path, cwd, 1)


def execute(prepared, ctx):
    return subprocess.run(prepared.cmd, shell=True, cwd=ctx.cwd, capture_output=True, text=True)


def prun_data(**more):
    return {
        "type": "prun",
        "exec": "cat $(echo %IN | tr , ' ') > o.txt; echo %RNDM:5 %{xxx} >> o.txt",
        "outputs": ["o.txt"],
        "dataset": "datasets/ds_001_p",
        "inputs": [],
        "streams": [],
        "secondary": [],
        "files_per_job": None,
        "optional": False,
        "param_map": {"xxx": ["xxx", 1]},
        "param_values": {},
        "iteration": 0,
        "params": {"xxx": [10, 20]},
        "jobs": None,
        **more,
    }


def test_prun_jobs_over_an_upstream_dataset(tmp_path):
    upstream = tmp_path / "datasets" / "ds_000_a"
    upstream.mkdir(parents=True)
    for k in range(3):
        (upstream / f"ds_000_a._00000{k}.t.txt").write_text(f"line{k}\n")
    (tmp_path / "a" / ".cwlpilot").mkdir(parents=True)
    (tmp_path / "a" / ".cwlpilot" / "outputs.json").write_text("{}")
    data = prun_data(inputs=[{"path": "datasets/ds_000_a", "name": "a", "producers": ["a"]}], files_per_job=2)
    stage, ctx = make(tmp_path, "p", "panda_prun", data)
    proc = execute(Prun().prepare(stage, ctx), ctx)
    assert proc.returncode == 0, proc.stderr
    assert Prun().finish(stage, ctx) is None
    out = tmp_path / "datasets" / "ds_001_p"
    assert (out / "ds_001_p._000000.o.txt").read_text() == "line0\nline1\n5 20\n"  # %{xxx}: element 1 of xxx
    assert (out / "ds_001_p._000001.o.txt").read_text() == "line2\n6 20\n"
    assert json.loads((ctx.cwd / ".cwlpilot" / "outputs.json").read_text())["outDS"] == str(out)


def test_prun_missing_output_and_incomplete_input(tmp_path):
    stage, ctx = make(tmp_path, "p", "panda_prun", prun_data(exec="true", jobs=[0]))
    assert execute(Prun().prepare(stage, ctx), ctx).returncode == 0
    assert Prun().finish(stage, ctx).startswith("job 0 did not write 'o.txt' (listed in --outputs)")
    data = prun_data(inputs=[{"path": "datasets/none", "name": "up", "producers": ["up"]}])
    stage, ctx = make(tmp_path, "q", "panda_prun", data)
    with pytest.raises(KindError, match="input dataset up: stage 'up' did not produce it"):
        Prun().prepare(stage, ctx)
    stage, ctx = make(tmp_path, "r", "panda_prun", {**data, "optional": True, "exec": "echo '[%IN]' > o.txt"})
    assert execute(Prun().prepare(stage, ctx), ctx).returncode == 0  # a failure branch runs without the input
    assert (ctx.cwd / "job0" / "o.txt").read_text() == "[]\n"


def junction_stage(tmp_path, iteration, results):
    template = {
        "name": f"L.{MARK}.j",
        "cmd": "",
        "kind": "panda_junction",
        "cwd": f"L.{MARK}.j",
        "needs": [f"L.{MARK}.b"],
        "data": {"panda": {"dataset": f"datasets/d_L.{MARK}.j"}},
    }
    loop = {"templates": [template], "gate": "L", "junction": f"L.{MARK}.j", "gate_needs": [f"L.{MARK}.j"], "max": 3}
    data = {
        "type": "junction",
        "exec": f"echo '{results}' > results.json",
        "outputs": [],
        "jobs": [0],
        "dataset": f"datasets/d_L.{iteration}.j",
        "inputs": [],
        "streams": [],
        "secondary": [],
        "params": {"x": 1},
        "param_map": {},
        "param_values": {},
        "iteration": iteration,
        "loop": loop,
    }
    stage, ctx = make(tmp_path, f"L.{iteration}.j", "panda_junction", data)
    assert execute(Junction().prepare(stage, ctx), ctx).returncode == 0
    return stage, ctx


def test_junction_adds_the_next_iteration_until_it_stops_or_the_guard(tmp_path):
    """Iterations count from 1, as iDDS counts a loop's runs (Workflow.num_run is set to 1 first)."""
    stage, ctx = junction_stage(tmp_path, 1, '{"x": 2}')
    assert Junction().finish(stage, ctx) is None
    added = Junction().expand(stage, ctx)
    (new,) = added.stages
    assert new["name"] == "L.2.j" and new["needs"] == ["L.2.b"] and added.needs == (("L", "L.2.j"),)
    assert new["data"]["panda"]["params"] == {"x": 2} and new["data"]["panda"]["iteration"] == 2
    assert new["data"]["panda"]["loop"]["gate"] == "L"
    stage, ctx = junction_stage(tmp_path, 2, '{"to_terminate": true}')
    assert Junction().finish(stage, ctx) is None and Junction().expand(stage, ctx) is None
    stage, ctx = junction_stage(tmp_path, 3, "{}")  # the third of at most 3 iterations
    assert Junction().finish(stage, ctx) is None and Junction().expand(stage, ctx) is None
    assert json.loads((ctx.cwd / ".cwlpilot" / "outputs.json").read_text())["end"] == "max-loop-iterations"


def test_junction_without_results_fails_clearly(tmp_path):
    stage, ctx = junction_stage(tmp_path, 1, "{}")
    (ctx.cwd / "results.json").unlink()
    assert Junction().finish(stage, ctx) == f"the junction did not write results.json in {ctx.cwd}"


def test_gate_points_outputs_at_the_last_iteration_and_outputs_stage_reads_them(tmp_path):
    for i, end in ((1, None), (2, "to_terminate")):
        meta = tmp_path / f"L.{i}.j" / ".cwlpilot"
        meta.mkdir(parents=True)
        (meta / "outputs.json").write_text(json.dumps({"end": end, "params": {"x": i}}))
        (tmp_path / "datasets" / f"d_L.{i}.b").mkdir(parents=True)
    entries = [{"alias": "datasets/loop.outDS", "template": f"datasets/d_L.{MARK}.b"}]
    stage, ctx = make(tmp_path, "L", "panda_gate", {"junction": f"L.{MARK}.j", "max": 5, "outputs": entries})
    Gate().prepare(stage, ctx)
    assert (tmp_path / "datasets" / "loop.outDS").resolve() == (tmp_path / "datasets" / "d_L.2.b").resolve()
    assert json.loads((ctx.cwd / ".cwlpilot" / "outputs.json").read_text())["iterations"] == 2
    outputs = {
        "a": {"listed": False, "refs": [{"path": "datasets/loop.outDS", "producers": ["L"]}]},
        "b": {"listed": True, "refs": [{"path": "datasets/x", "producers": ["never"]}]},
    }
    stage, ctx = make(tmp_path, "@outputs", "panda_outputs", {"outputs": outputs})
    Outputs().prepare(stage, ctx)
    written = json.loads((ctx.cwd / ".cwlpilot" / "outputs.json").read_text())
    assert written == {"a": str(tmp_path / "datasets" / "loop.outDS"), "b": [None]}  # "never" did not succeed
    stage, ctx = make(tmp_path, "L2", "panda_gate", {"junction": f"M.{MARK}.j", "max": 5, "outputs": []})
    with pytest.raises(KindError, match="junction 'M.1.j' left no decision"):
        Gate().prepare(stage, ctx)


def test_each_input_dataset_is_read_with_its_own_type(tmp_path):
    """workflow_utils.Node.get_input_ds_list: one type per opt_inDS dataset (the task reads `{ds}_{type}/`)."""
    refs = []
    for name, kind in (("u", "a.txt"), ("v", "b.txt")):
        folder = tmp_path / "datasets" / name
        folder.mkdir(parents=True)
        for t in ("a.txt", "b.txt"):
            (folder / f"{name}._000000.{t}").write_text("")
        refs.append({"path": f"datasets/{name}", "name": name, "producers": [], "type": kind})
    data = prun_data(exec="echo %IN > o.txt", inputs=refs, jobs=[0])
    stage, ctx = make(tmp_path, "p", "panda_prun", data)
    assert execute(Prun().prepare(stage, ctx), ctx).returncode == 0
    assert (ctx.cwd / "job0" / "o.txt").read_text() == "u._000000.a.txt,v._000000.b.txt\n"


def test_a_splitter_adds_one_job_stage_per_share_and_the_gather_waits_for_them(tmp_path):
    upstream = tmp_path / "datasets" / "ds_000_a"
    upstream.mkdir(parents=True)
    for k in range(5):
        (upstream / f"ds_000_a._00000{k}.t.txt").write_text(f"{k}\n")
    (tmp_path / "a" / ".cwlpilot").mkdir(parents=True)
    (tmp_path / "a" / ".cwlpilot" / "outputs.json").write_text("{}")
    inputs = [{"path": "datasets/ds_000_a", "name": "a", "producers": ["a"]}]
    data = prun_data(inputs=inputs, files_per_job=2, role="split", gather="p")
    stage, ctx = make(tmp_path, "p.split", "panda_prun", data)
    assert Prun().prepare(stage, ctx).cmd == "true" and Prun().finish(stage, ctx) is None
    added = Prun().expand(stage, ctx)
    assert [s["name"] for s in added.stages] == ["p.job0", "p.job1", "p.job2"]
    assert added.needs == (("p", "p.job0"), ("p", "p.job1"), ("p", "p.job2"))
    job2 = added.stages[2]
    assert job2["needs"] == ["p.split"] and "role" not in job2["data"]["panda"]
    assert job2["data"]["panda"]["jobs"] == [2] and job2["data"]["panda"]["files"] == [
        "datasets/ds_000_a/ds_000_a._000004.t.txt"
    ]
    gather_data = {"type": "prun", "role": "gather", "step": "p", "dataset": "datasets/ds_001_p", "split": "p.split"}
    gather, gctx = make(tmp_path, "p", "panda_prun", gather_data)
    for spec in added.stages[:2]:  # job 2 has not run yet: the gather refuses to call the dataset complete
        job, jctx = make(tmp_path, spec["name"], "panda_prun", spec["data"]["panda"], cmd=spec["cmd"])
        assert execute(Prun().prepare(job, jctx), jctx).returncode == 0 and Prun().finish(job, jctx) is None
    with pytest.raises(KindError, match="job stage 'p.job2' did not succeed"):
        Prun().prepare(gather, gctx)
    spec = added.stages[2]
    job, jctx = make(tmp_path, spec["name"], "panda_prun", spec["data"]["panda"])
    assert execute(Prun().prepare(job, jctx), jctx).returncode == 0 and Prun().finish(job, jctx) is None
    assert (tmp_path / "datasets" / "ds_001_p" / "ds_001_p._000002.o.txt").read_text() == "4\n7 20\n"  # %RNDM:5 + 2
    Prun().prepare(gather, gctx)
    done = json.loads((gctx.cwd / ".cwlpilot" / "outputs.json").read_text())
    assert done["jobs"] == ["p.job0", "p.job1", "p.job2"] and len(done["files"]) == 3
