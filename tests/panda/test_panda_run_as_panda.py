"""`cwlpilot run` gives each job what PanDA gives it, run end to end with real processes: the datasets of
%IN (each of its type), a named secondary stream with its pattern and skip, %{DSn} and %{SECDSn} in the
server's order, %RNDM, --nJobs with --nFilesPerJob, the server's dataset names and serial ids, a junction's
inputs numbered as the server numbers them, %{i} from 1, and what the server leaves as written."""

import json
from pathlib import Path

import pytest

from tests.e2e.helpers import states
from tests.panda.helpers import prun, workflow
from tests.panda.test_panda_e2e import outputs, run, text

pytestmark = pytest.mark.e2e


def test_streams_datasets_and_job_splits_as_panda_makes_them(tmp_path):
    steps = prun("make_sig", "echo s%RNDM:0 > a.txt; echo x > b.txt", "--outputs a.txt,b.txt --nJobs 3")
    steps += prun("make_bg", "echo b%RNDM:0 > bg.root", "--outputs bg.root --nJobs 4")
    steps += prun(
        "use",
        "echo %IN %IN_MINH $(basename %{DS1}) $(basename %{SECDS1}) %RNDM:100 > u.txt",
        "--outputs u.txt --secondaryDSs IN_MINH:2:%{SECDS1}:.*root:1 --nFilesPerJob 1 --nJobs 2",
        "      opt_inDS: make_sig/outDS\n      opt_secondaryDSs: [make_bg/outDS]\n",
    )
    steps += prun(
        "j",
        "echo $(basename %{DS1}) $(basename %{DS2}) > order.txt; echo '{}' > results.json",
        None,
        "      opt_inDS: [use/outDS, make_bg/outDS]\n",
        kind="junction",
    )
    wf = workflow(tmp_path, "w.cwl", steps, outputs="{outDS: {type: string, outputSource: j/outDS}}")
    run(tmp_path / "w", wf)
    work = tmp_path / "w"
    # --nJobs 2 with --nFilesPerJob 1 reads 2 files (panda-client 2.0.1+, CommonArgs.set_n_files_from_n_jobs)
    assert [n for n in states(work) if n.startswith("use.job")] == ["use.job0", "use.job1"]
    sig, bg = "user.local.w_000_make_sig", "user.local.w_001_make_bg"
    lines = [text(work / f"use.job{k}" / f"job{k}" / "u.txt").split() for k in (0, 1)]
    # %IN: only make_sig's first output type (Node.get_input_ds_list); IN_MINH: .*root files after skipping 1,
    # 2 per job taken in turn; %{DS1}/%{SECDS1}: the datasets' folders; %RNDM:100 plus the job's number
    assert lines[0] == [f"{sig}._000000.a.txt", f"{bg}._000001.bg.root,{bg}._000002.bg.root", sig, bg, "100"]
    assert lines[1] == [f"{sig}._000001.a.txt", f"{bg}._000003.bg.root,{bg}._000001.bg.root", sig, bg, "101"]
    # the junction numbers its datasets in opt_inDS's order, and its dataset holds results.json
    assert text(work / "j" / "order.txt") == f"user.local.w_002_use {bg}"
    assert [p.name for p in Path(outputs(work)["outDS"]).iterdir()] == ["user.local.w_003_j._000000.results.json"]


SUB = """cwlVersion: v1.2
class: Workflow
inputs:
  seed: int
  param_tag: {type: string, default: t}
outputs:
  outDS: {type: string, outputSource: gen/outDS}
steps:
  gen:
    run: prun
    in:
      opt_exec: {default: "echo %RNDM:%{seed} %{tag} %{i} > g.txt"}
      opt_args: {default: "--outputs g.txt"}
    out: [outDS]
"""


def test_sub_workflow_placeholders_ids_and_what_the_top_level_leaves(tmp_path):
    """make_task_params writes a sub-workflow's inputs into its steps' opt_exec before the job's wrapper reads
    %RNDM (so %RNDM:%{seed} works there); at the top level %{name} stays as written. A sub-workflow takes a
    serial id after its steps (resolve_nodes), which the next step's dataset name shows."""
    (tmp_path / "sub.cwl").write_text(SUB)
    steps = "  many:\n    run: sub.cwl\n    scatter: [seed]\n    in:\n      seed: seeds\n    out: [outDS]\n"
    steps += prun("top", "echo '%{x}' %{i} > lit.txt", "--outputs lit.txt")
    wf = workflow(
        tmp_path,
        "w.cwl",
        steps,
        inputs="{seeds: {type: 'int[]', default: [5, 7]}, param_x: {type: int, default: 3}}",
        outputs="{outDS: {type: string, outputSource: top/outDS}}",
    )
    run(tmp_path / "w", wf)
    work = tmp_path / "w" / "datasets"
    assert sorted(p.name for p in work.iterdir()) == [
        "user.local.w_000_gen",  # many[0].gen; 001 is the sub-workflow many[0]
        "user.local.w_002_gen",  # many[1].gen; 003 is many[1]
        "user.local.w_004_top",
    ]
    assert text(next((work / "user.local.w_000_gen").iterdir())) == "5 t 1"  # %{i}: iDDS counts runs from 1
    assert text(next((work / "user.local.w_002_gen").iterdir())) == "7 t 1"
    assert text(next((work / "user.local.w_004_top").iterdir())) == "%{x} %{i}"


BODY = """cwlVersion: v1.2
class: Workflow
inputs:
  param_n: {type: int, default: 10}
outputs:
  outDS: {type: string, outputSource: w/outDS}
steps:
  w:
    run: prun
    in:
      opt_exec: {default: "echo %{i} %{n} > w.txt"}
      opt_args: {default: "--outputs w.txt"}
    out: [outDS]
  j:
    run: junction
    in:
      opt_inDS: w/outDS
      opt_exec:
        default: |-
          if [ %{i} -ge 3 ]; then echo '{"to_terminate": true}'; else echo '{"n": %{i}}'; fi > results.json
    out: []
"""


def test_a_loop_counts_from_one_and_names_its_datasets_by_the_count(tmp_path):
    """iDDS sets a loop's num_run to 1 before its first run: %{i} is 1, 2, ...; the server names a body step's
    dataset `{outDS}_{NNN}_{step}.___idds___num_run___`, here `.1`, `.2`, ..."""
    (tmp_path / "body.cwl").write_text(BODY)
    wf = workflow(tmp_path, "w.cwl", "  L:\n    run: body.cwl\n    in: []\n    out: [outDS]\n    hints: [loop]\n")
    run(tmp_path / "w", wf)
    work = tmp_path / "w"
    got = [text(next((work / "datasets" / f"user.local.w_000_w.{i}").iterdir())) for i in (1, 2, 3)]
    assert got == ["1 10", "2 1", "3 2"]  # the junction set n to the count of the iteration before
    assert not (work / "L.4.w").exists()
    assert json.loads((work / "L" / ".cwlpilot" / "outputs.json").read_text())["iterations"] == 3
