"""PanDA-style workflows run end to end with `cwlpilot run`: real processes, datasets in folders, loops that
a junction script really decides, conditions, scatter, and a loop killed and resumed."""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.e2e.helpers import ROOT, attempts, cwlpilot, start_cwlpilot, states
from tests.e2e.test_resume_and_pilots import kill_everything

EXAMPLES = ROOT / "examples" / "panda"
SEEDS = next(
    (p / "shared" / "seed-workflows" / "panda" for p in ROOT.parents if (p / "shared").is_dir()), ROOT / "none"
)
pytestmark = pytest.mark.e2e


def run(workdir, workflow, *more, check=0, env=None):
    args = ["run", workflow, *more, "--workdir", workdir, "-q"]
    if env:
        old = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            return cwlpilot(*args, check=check)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    return cwlpilot(*args, check=check)


def outputs(workdir):
    return json.loads((workdir / "outputs.json").read_text())


def text(path):
    return path.read_text().strip()


def test_simple_chain_jobs_datasets_and_rndm(tmp_path):
    run(tmp_path, EXAMPLES / "simple_chain.cwl")
    top = sorted((tmp_path / "datasets" / "user.local.simple_chain_000_top").iterdir())
    assert [p.name for p in top] == [f"user.local.simple_chain_000_top._00000{j}.seed.txt" for j in range(3)]
    assert [text(p) for p in top] == ["10", "11", "12"]  # %RNDM:10 plus the job's serial number
    bottom = outputs(tmp_path)["outDS"]
    (result,) = Path(bottom).iterdir()
    assert text(result) == ",".join(p.name for p in top)  # %IN: the input files, comma-separated


def test_cond_success_runs_bottom_ok_only(tmp_path):
    result = run(tmp_path, EXAMPLES / "cond.cwl")
    assert states(tmp_path) == {
        "top.job0": "done",
        "top.job1": "done",
        "bottom_OK": "done",
        "bottom_NG": "skipped",
        "@outputs": "done",
    }
    assert "condition false" in result.stderr  # the reason, in the status table
    assert outputs(tmp_path)["outDS_NG"] is None and outputs(tmp_path)["outDS_OK"]


def test_a_failing_top_triggers_bottom_ng_and_not_bottom_ok(tmp_path):
    run(tmp_path, EXAMPLES / "cond.cwl", EXAMPLES / "cond-fail.yaml")  # the failure is handled: exit 0
    got = states(tmp_path)
    assert got["top.job0"] == got["top.job1"] == "failed"
    assert got["bottom_NG"] == "done" and got["bottom_OK"] == "skipped"
    assert text(next(Path(outputs(tmp_path)["outDS_NG"]).iterdir())) == "hard luck"
    assert outputs(tmp_path)["outDS_OK"] is None


def loop_values(workdir, prefix="work_loop"):
    """[(xxx written by the top step, dictionary the junction left)] for each iteration that ran (counted
    from 1, as iDDS counts a loop's runs)."""
    found = []
    i = 1
    while (workdir / f"{prefix}.{i}.checkpoint").exists():
        xxx = int(text(workdir / f"{prefix}.{i}.inner_work_top" / "job0" / "seed.txt"))
        decision = json.loads((workdir / f"{prefix}.{i}.checkpoint" / ".cwlpilot" / "outputs.json").read_text())
        found.append((xxx, decision["params"], decision["end"]))
        i += 1
    return found


def test_loop_runs_until_the_junction_decides(tmp_path):
    run(tmp_path, EXAMPLES / "loop.cwl")
    found = loop_values(tmp_path)
    assert [x for x, _, _ in found] == [123, 124, 125, 126, 127]  # 5 iterations: 127 * 7.296 > 500
    for i, (_, params, end) in enumerate(found):  # the dictionary each junction handed to the next iteration
        assert params["xxx"] == 124 + i and params["yyy"] == pytest.approx(0.456 * 2 ** (i + 1))
        assert end == (None if i < 4 else "to_terminate")
    gate = json.loads((tmp_path / "work_loop" / ".cwlpilot" / "outputs.json").read_text())
    assert gate["iterations"] == 5
    final = next(Path(outputs(tmp_path)["outDS"]).iterdir())  # work_end read the last iteration's outputs:
    top, bottom, decision = text(final).splitlines()  # every step's of the body (resolve_nodes' tails)
    assert (int(top), float(bottom)) == (127, pytest.approx(127 * 0.456 * 16))
    assert json.loads(decision)["to_terminate"] is True  # the junction's results.json is in its dataset


def test_max_loop_iterations_guard(tmp_path):
    run(tmp_path, EXAMPLES / "loop.cwl", env={"CWLPILOT_MAX_LOOP_ITERATIONS": "3"})
    found = loop_values(tmp_path)
    assert [x for x, _, _ in found] == [123, 124, 125]
    assert found[-1][2] == "max-loop-iterations"
    plan = tmp_path / "plan2.json"
    cwlpilot("compile", EXAMPLES / "loop.cwl", "--max-loop-iterations", "2", "-o", plan, check=0)
    cwlpilot("run", plan, "--workdir", tmp_path / "w2", "-q", check=0)
    assert len(loop_values(tmp_path / "w2")) == 2


def test_scattered_loops_have_one_dictionary_each(tmp_path):
    run(tmp_path, EXAMPLES / "multi_loop.cwl", EXAMPLES / "inputs2.yaml")
    for k in (0, 1):
        found = loop_values(tmp_path, f"work_loop[{k}]")
        assert [x for x, _, _ in found] == [123, 124, 125, 126, 127]
    merged = text(next(Path(outputs(tmp_path)["outDS"]).iterdir()))
    # both loops' last outputs were gathered, of the 3 steps of each body (resolve_nodes' tails)
    assert merged.count("926.592") == 2 and merged.count('"to_terminate": true') == 2


def test_loop_over_a_scatter_slices_the_arrays_and_the_junction_updates_them(tmp_path):
    run(tmp_path, EXAMPLES / "sequential_loop.cwl", EXAMPLES / "inputs-signal.yaml")
    xxx, yyy = [123, 456], [0.456, 0.866]
    for i in range(1, 5):  # sums 451, 905, 1814, 3639: the fourth passes 2000
        for k in (0, 1):
            value = float(text(tmp_path / f"seq_loop.{i}.parallel_work[{k}].core" / "job0" / "seed.txt"))
            assert value == pytest.approx(xxx[k] * yyy[k])
        xxx, yyy = [x + 1 for x in xxx], [y * 2 for y in yyy]
    assert not (tmp_path / "seq_loop.5.checkpoint").exists()
    assert len(outputs(tmp_path)["outDS"]) == 3  # the two cores' datasets and the junction's


def test_secondary_streams_splits_and_scatter_over_a_sub_workflow(tmp_path):
    run(tmp_path, EXAMPLES / "sig_bg_comb.cwl", EXAMPLES / "inputs.yaml")
    assert sum(1 for name in states(tmp_path) if name.startswith("generate_some.job")) == 10
    klm = text(tmp_path / "premix" / "job0" / "klm.root").split()
    assert klm[0].endswith(".def.zip") and klm[1].endswith(".xyz.pool")  # %IN by type, %IN2 from the secondary
    run(tmp_path / "many", EXAMPLES / "merge_many.cwl", EXAMPLES / "inputs2.yaml")
    merged = next(Path(outputs(tmp_path / "many")["outDS"]).iterdir())
    # merge reads the dataset of every step of both sig_bg_comb copies (resolve_nodes' tails), each of the
    # type its step makes first: 2 x (1 + 1 + 1 + 10 + 1 + 1) files
    assert text(merged).splitlines()[0] == "merged type=aaa level=3 files=30"


def test_a_dataset_without_a_local_folder_is_a_clear_error(tmp_path):
    shutil.copy(EXAMPLES / "inputs.yaml", tmp_path / "inputs.yaml")
    result = run(tmp_path / "w", EXAMPLES / "sig_bg_comb.cwl", tmp_path / "inputs.yaml", check=1)
    assert "dataset 'mc16_valid:mc16_valid.900248.PG_singlepion.simul.HITS' has no local folder" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the PanDA documentation's examples are not here")
def test_seed_workflows_that_are_valid_run_to_completion(tmp_path):
    run(tmp_path / "chain", SEEDS / "simple_chain.cwl")
    run(tmp_path / "cond", SEEDS / "cond.cwl")
    data = tmp_path / "data"
    data.mkdir()
    (data / "f.txt").write_text("x\n")
    (tmp_path / "map.yaml").write_text(f"my.dataset: {data}\n")
    (tmp_path / "in.yaml").write_text("dataset: my.dataset\nparam_xxx: 7\nparam_yyy: 0.5\n")
    failed = run(  # `run: prun.cwl` without such a file: cwl-utils refuses it on the server
        tmp_path / "main",
        SEEDS / "loop_main.cwl",
        tmp_path / "in.yaml",
        env={"CWLPILOT_DATASETS": str(tmp_path / "map.yaml")},
        check=1,
    )
    assert "run: no such file 'prun.cwl'" in failed.stderr
    failed = run(tmp_path / "athena", SEEDS / "athena.cwl", check=1)
    assert "opt_inDS is unresolved: 'top/outDS' names unknown step 'top'" in failed.stderr


def test_a_loop_killed_mid_way_resumes_without_running_done_stages_again(tmp_path):
    for name in ("loop.cwl", "loop_body.cwl", "multiply.py", "decide.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    body = tmp_path / "loop_body.cwl"  # a slower junction, so the kill lands inside the loop
    body.write_text(body.read_text().replace('default: "python3 decide.py', 'default: "sleep 0.4 && python3 decide.py'))
    work = tmp_path / "w"
    proc = start_cwlpilot("run", tmp_path / "loop.cwl", "--workdir", work, "-q")
    deadline = time.time() + 30
    while states(work).get("work_loop.2.checkpoint") not in ("running", "done") and time.time() < deadline:
        time.sleep(0.05)
    kill_everything(proc)
    done_before = {n for n, s in states(work).items() if s == "done"}
    assert "work_loop.1.checkpoint" in done_before and "work_loop" not in done_before
    cwlpilot("run", tmp_path / "loop.cwl", "--workdir", work, "-q", check=0)
    assert [x for x, _, _ in loop_values(work)] == [123, 124, 125, 126, 127]
    runs = [row[0] for row in attempts(work)]
    for name in done_before:
        assert runs.count(name) == 1, name


def test_run_time_split_a_junction_outside_loops_and_its_warnings(tmp_path):
    (tmp_path / "w.cwl").write_text(
        "cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        "  a:\n    run: prun\n    in:\n      opt_exec: {default: 'echo %RNDM:0 > s.txt'}\n"
        "      opt_args: {default: '--outputs s.txt --nJobs 3'}\n    out: [outDS]\n"
        "  b:\n    run: prun\n    in:\n      opt_inDS: a/outDS\n      opt_exec: {default: 'echo %IN > p.txt'}\n"
        "      opt_args: {default: '--outputs p.txt --nFilesPerJob 2'}\n    out: [outDS]\n"
        "  j:\n    run: junction\n    in:\n      opt_inDS: b/outDS\n"
        '      opt_exec:\n        default: |-\n          echo \'{"foo": 1, "to_terminate": true}\' > results.json\n'
        "    out: []\n"
    )
    result = run(tmp_path / "w", tmp_path / "w.cwl")
    assert [n for n in states(tmp_path / "w") if n.startswith("b.job")] == ["b.job0", "b.job1"]  # 3 files, 2 a job
    assert text(tmp_path / "w" / "b.job1" / "job1" / "p.txt") == "user.local.w_000_a._000002.s.txt"
    assert "results.json: ignored key(s) that are no loop parameter: foo" in result.stderr


def test_a_malformed_results_json_fails_the_junction_and_skips_what_follows(tmp_path):
    for name in ("loop.cwl", "loop_body.cwl", "multiply.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    (tmp_path / "decide.py").write_text("open('results.json', 'w').write('{not json')\n")
    result = run(tmp_path / "w", tmp_path / "loop.cwl", check=1)
    assert "junction: results.json is not valid JSON" in result.stderr
    got = states(tmp_path / "w")
    assert got["work_loop.1.checkpoint"] == "failed" and got["work_loop"] == "skipped"
    assert got["work_end"] == "skipped"
    assert "needs failed stage 'work_loop.1.checkpoint'" in result.stderr  # the reason, in the status table


def test_a_skipped_conditional_step_in_a_loop_body_does_not_stop_the_loop(tmp_path):
    for name in ("loop.cwl", "multiply.py", "decide.py"):
        shutil.copy(EXAMPLES / name, tmp_path / name)
    body = (EXAMPLES / "loop_body.cwl").read_text().replace("cwlVersion: v1.0", "cwlVersion: v1.2")
    body += (
        "\n  rescue:\n    run: prun\n    in:\n      opt_inDS: inner_work_top/outDS\n"
        '      opt_exec:\n        default: "echo rescue > r.txt"\n      opt_args:\n        default: "--outputs r.txt"\n'
        "    out: [outDS]\n    when: $(!self.opt_inDS)\n"
    )
    (tmp_path / "loop_body.cwl").write_text(body)
    run(tmp_path / "w", tmp_path / "loop.cwl")
    got = states(tmp_path / "w")
    assert [got[f"work_loop.{i}.rescue"] for i in range(1, 6)] == ["skipped"] * 5
    assert got["work_loop"] == got["work_end"] == "done"
