"""compile: plans valid against the schema and byte-identical; options; job splits; scatter methods; conditions
on list inputs and on sub-workflows; the kinds that cannot run locally."""

import io
import json
from pathlib import Path

import pytest

from cwlpilot.check_cmd import main as cli_main
from cwlpilot.panda_cmd import main, plan_problems

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "panda"
RUNS = [
    ("simple_chain.cwl", None),
    ("cond.cwl", None),
    ("loop.cwl", None),
    ("multi_loop.cwl", "inputs2.yaml"),
    ("sequential_loop.cwl", "inputs-signal.yaml"),
    ("sig_bg_comb.cwl", "inputs.yaml"),
    ("merge_many.cwl", "inputs2.yaml"),
]


def compile_(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main(["compile", *map(str, args)], out, err)
    return code, out.getvalue(), err.getvalue()


def stages_of(text):
    return {s["name"]: s for s in json.loads(text)["stages"]}


@pytest.mark.parametrize(("workflow", "inputs"), RUNS)
def test_every_example_compiles_to_a_valid_identical_plan(workflow, inputs):
    args = [EXAMPLES / workflow] + ([EXAMPLES / inputs] if inputs else [])
    code, first, err = compile_(*args)
    assert code == 0, err
    assert plan_problems(json.loads(first)) == []
    assert compile_(*args)[1] == first


def test_out_ds_and_dataset_options(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    for k in range(5):
        (data / f"f{k}.hits").write_text(f"{k}\n")
    (tmp_path / "in.yaml").write_text("signal: my.sig\nbackground: my.bg\n")
    code, text, err = compile_(
        EXAMPLES / "sig_bg_comb.cwl",
        tmp_path / "in.yaml",
        "--outDS",
        "user.me.test",
        "--dataset",
        f"my.sig={data}",
        "--dataset",
        f"my.bg={data}",
    )
    assert code == 0, err
    stages = stages_of(text)
    # --nFilesPerJob 5 over 5 local files: one job; the dataset names follow --outDS
    assert stages["make_signal"]["data"]["panda"]["dataset"] == "datasets/user.me.test_000_make_signal"
    assert stages["make_signal"]["data"]["panda"]["inputs"][0]["path"] == str(data)
    assert [n for n in stages if n.startswith("generate_some.job")] == [f"generate_some.job{j}" for j in range(10)]
    code, _, err = compile_(EXAMPLES / "sig_bg_comb.cwl", tmp_path / "in.yaml", "--dataset", f"my.sig={data}")
    assert code == 1 and "dataset 'my.bg' has no local folder" in err


def write(tmp_path, name, body):
    path = tmp_path / name
    path.write_text("cwlVersion: v1.2\nclass: Workflow\n" + body)
    return path


PRUN = '    run: prun\n    in:\n{ins}      opt_exec:\n        default: "{cmd}"\n{args}    out: [outDS]\n'


def prun(name, cmd, ins="", args="", extra=""):
    opt_args = f'      opt_args:\n        default: "{args}"\n' if args else ""
    return f"  {name}:\n" + PRUN.format(ins=ins, cmd=cmd, args=opt_args) + extra


def test_files_per_job_splits_local_data_into_stages_and_upstream_data_at_run_time(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    for k in range(5):
        (data / f"f{k}.txt").write_text("x\n")
    wf = write(
        tmp_path,
        "split.cwl",
        "inputs:\n  ds: string\noutputs: []\nsteps:\n"
        + prun("a", "cat %IN > o.txt", "      opt_inDS: ds\n", "--outputs o.txt --nFilesPerJob 2")
        + prun("b", "cat %IN > p.txt", "      opt_inDS: a/outDS\n", "--outputs p.txt --nFilesPerJob 2"),
    )
    (tmp_path / "in.yaml").write_text("ds: my.ds\n")
    code, text, err = compile_(wf, tmp_path / "in.yaml", "--dataset", f"my.ds={data}")
    assert code == 0, err
    stages = stages_of(text)
    assert [n for n in stages if n.startswith("a")] == ["a.job0", "a.job1", "a.job2"]  # 5 files, 2 per job
    # files made upstream: a splitter that needs the producers, and the gather `b` that completes the dataset
    assert [n for n in stages if n.startswith("b")] == ["b.split", "b"]
    split, gather = stages["b.split"], stages["b"]
    assert split["needs"] == ["a.job0", "a.job1", "a.job2"] and gather["needs"] == ["b.split"]
    assert split["data"]["panda"]["role"] == "split" and split["data"]["panda"]["gather"] == "b"
    assert gather["data"]["panda"] == {
        "type": "prun",
        "role": "gather",
        "step": "b",
        "dataset": "datasets/user.local.split_001_b",
        "split": "b.split",
    }


def test_a_run_time_split_is_read_through_its_gather_in_conditions_and_loops(tmp_path):
    wf = write(
        tmp_path,
        "c.cwl",
        "inputs: []\noutputs: []\nsteps:\n"
        + prun("a", "echo > o.txt", args="--outputs o.txt --nJobs 3")
        + prun("b", "cat %IN > p.txt", "      opt_inDS: a/outDS\n", "--outputs p.txt --nFilesPerJob 2")
        + prun("ok", "echo %IN > q.txt", "      opt_inDS: b/outDS\n", "--outputs q.txt", "    when: $(self.opt_inDS)\n")
        + prun("ng", "echo > r.txt", "      opt_inDS: b/outDS\n", "--outputs r.txt", "    when: $(!self.opt_inDS)\n"),
    )
    code, text, err = compile_(wf)
    assert code == 0, err
    stages = stages_of(text)
    assert stages["ok"]["needs"] == ["b"] and stages["ok"]["condition"] == "done(b)"
    assert stages["ng"]["condition"] == "(failed(b) || skipped(b))"
    assert stages["ok"]["data"]["panda"]["inputs"][0]["producers"] == ["b"]
    sub = write(
        tmp_path,
        "sub.cwl",
        "inputs:\n  ds: string\noutputs: []\nsteps:\n"
        + prun("s", "cat %IN > s.txt", "      opt_inDS: ds\n", "--outputs s.txt --nFilesPerJob 2"),
    )
    wf = write(
        tmp_path,
        "g.cwl",
        "requirements:\n  SubworkflowFeatureRequirement: {}\ninputs: []\noutputs: []\nsteps:\n"
        + prun("a", "echo > o.txt", args="--outputs o.txt --nJobs 3")
        + f"  w:\n    run: {sub.name}\n    in:\n      ds: a/outDS\n    out: []\n    when: $(!self.ds)\n",
    )
    code, text, err = compile_(wf)
    assert code == 0, err
    stages = stages_of(text)  # the guard is the splitter's; the gather keeps needing the splitter only
    assert "(failed(a.job0) || skipped(a.job0))" in stages["w.s.split"]["condition"]
    assert "condition" not in stages["w.s"] and stages["w.s"]["needs"] == ["w.s.split"]


def test_scatter_pairs_the_arrays_whatever_the_scatter_method(tmp_path):
    """workflow_utils.resolve_nodes: one instance per element of the first scattered input, the others
    zipped in (scatterMethod is never read)."""
    body = (
        "requirements:\n  ScatterFeatureRequirement: {}\ninputs:\n  xs: {type: 'string[]', default: [a, b]}\n"
        "  ys: {type: 'string[]', default: [--avoidVP, --forceStaged, --site X]}\n"
        "outputs:\n  all: {type: string, outputSource: s/outDS}\n"
        "steps:\n  s:\n    run: prun\n    scatter: [x, y]\n    scatterMethod: METHOD\n    in:\n"
        '      x: xs\n      y: ys\n      opt_exec:\n        default: "echo"\n    out: [outDS]\n'
    )
    wf = write(tmp_path, "sc.cwl", body.replace("METHOD", "flat_crossproduct"))
    code, _, err = compile_(wf)
    assert code == 1 and "unknown input parameter 'x' for prun" in err  # Node.verify: prun takes opt_* only
    body = body.replace("      x: xs\n      y: ys\n", "      opt_inDsType: xs\n      opt_args: ys\n")
    body = body.replace("scatter: [x, y]", "scatter: [opt_inDsType, opt_args]")
    code, text, err = compile_(write(tmp_path, "sc2.cwl", body.replace("METHOD", "flat_crossproduct")))
    assert code == 0, err
    assert "PanDA's server ignores scatterMethod (flat_crossproduct)" in err
    assert "scatter over arrays of different lengths (opt_inDsType has 2, opt_args has 3)" in err
    stages = stages_of(text)
    assert [n for n in stages if n.startswith("s[")] == ["s[0]", "s[1]"]
    assert len(stages["@outputs"]["data"]["panda"]["outputs"]["all"]["refs"]) == 2
    # past the end of a shorter array an instance gets all of it: here a list as opt_args, which fails
    code, _, err = compile_(
        write(tmp_path, "sc3.cwl", body.replace("[a, b]", "[a, b, c, d]").replace("METHOD", "dotproduct"))
    )
    assert code == 1 and "step 's': opt_args must be a string" in err


def test_condition_on_one_source_of_a_list_and_on_a_sub_workflow(tmp_path):
    sub = write(
        tmp_path,
        "sub.cwl",
        "inputs:\n  d: string\noutputs:\n  outDS: {type: string, outputSource: in1/outDS}\n"
        "steps:\n" + prun("in1", "echo %IN > x", "      opt_inDS: d\n", "--outputs x"),
    )
    assert sub.exists()
    wf = write(
        tmp_path,
        "top.cwl",
        "requirements:\n  MultipleInputFeatureRequirement: {}\ninputs: []\noutputs: []\n"
        "steps:\n"
        + prun("a", "echo 1 > x", args="--outputs x")
        + prun("b", "echo 2 > x", args="--outputs x")
        + prun(
            "c",
            "echo %{DS2} > y",
            "      opt_inDS: [a/outDS, b/outDS]\n",
            "--outputs y",
            "    when: $(self.opt_inDS[1] && !self.opt_inDS[0])\n",
        )
        + "  s:\n    run: sub.cwl\n    in:\n      d: a/outDS\n    out: [outDS]\n    when: $(!self.d)\n",
    )
    code, text, err = compile_(wf)
    assert code == 0, err
    stages = stages_of(text)
    assert stages["c"]["condition"] == "(done(b) && (failed(a) || skipped(a)))"
    assert stages["s.in1"]["condition"] == "((failed(a) || skipped(a))) && (done(a))"


REMOTE = {
    "reana": '      opt_exec:\n        default: "run"\n      opt_args:\n        default: "--outputs a"\n',
    "gitlab": "".join(
        f'      {k}:\n        default: "{v}"\n'
        for k, v in [
            ("opt_api", "https://gitlab"),
            ("opt_projectID", "12"),
            ("opt_ref", "main"),
            ("opt_triggerToken", "t"),
            ("opt_accessToken", "a"),
            ("opt_site", "CERN"),
        ]
    ),
}


@pytest.mark.parametrize(
    ("kind", "words"), [("reana", "are sent to a REANA cluster"), ("gitlab", "trigger a GitLab CI pipeline")]
)
def test_kinds_that_cannot_run_locally_are_a_warning_of_check_and_an_error_of_compile(tmp_path, kind, words):
    """PanDA's server accepts reana and gitlab steps (pcwl_utils.WORKFLOW_NAMES); only running them here fails."""
    wf = write(
        tmp_path,
        "k.cwl",
        f"inputs: []\noutputs: []\nsteps:\n  k:\n    run: {kind}\n    in:\n{REMOTE[kind]}    out: [outDS]\n",
    )
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["check", str(wf)], out, err) == 0, err.getvalue()
    found = f"k.cwl:7:10: warning: step 'k': {kind} steps {words} and cannot run locally [panda-not-local]"
    assert found in err.getvalue()
    code, _, err_text = compile_(wf)
    assert code == 1 and f"k.cwl:7:10: step 'k': {kind} steps {words} and cannot run locally" in err_text


def test_a_sub_workflows_readers_get_the_dataset_of_every_step_inside_it():
    """workflow_utils.resolve_nodes returns every leaf of a sub-workflow as its tail since b9eb1817 (panda-server
    0.7.2): `merge` reads the 12 datasets of both scattered sig_bg_comb copies, not only the two `combine`s."""
    code, text, err = compile_(EXAMPLES / "merge_many.cwl", EXAMPLES / "inputs2.yaml")
    assert code == 0, err
    merge = stages_of(text)["merge"]["data"]["panda"]
    names = [r["name"] for r in merge["inputs"]]
    assert len(names) == 12 and names[0] == "user.local.merge_many_000_make_signal"
    assert names[-1] == "user.local.merge_many_012_combine"  # ids as the server's: 6 and 13 are the sub-workflows
    assert "many_sig_bg_comb's outputs get the dataset of every step inside it" in err


def test_yaml_errors_missing_sub_workflows_and_cycles(tmp_path):
    (tmp_path / "syntax.cwl").write_text("class: Workflow\nsteps:\n  a: [\n      run: prun\n")
    out, err = io.StringIO(), io.StringIO()
    assert cli_main(["check", str(tmp_path / "syntax.cwl")], out, err) == 1
    assert "syntax.cwl:5:1: error: YAML syntax error" in err.getvalue()
    # cwl-utils, as PanDA's server loads the document (pcwl_utils.parse_workflow_file), refuses a missing run file
    wf = write(
        tmp_path,
        "wf.cwl",
        "inputs: []\noutputs: []\nsteps:\n  s:\n    run: missing.cwl\n    in: {}\n    out: [x]\n"
        + prun("a", "echo %IN", "      opt_inDS: b/outDS\n"),
    )
    code, _, err = compile_(wf)
    assert code == 1
    assert "wf.cwl:7:5: step 's': run: no such file 'missing.cwl': PanDA's parser (cwl-utils) refuses" in err
    wf = write(
        tmp_path,
        "cycle.cwl",
        "inputs: []\noutputs: []\nsteps:\n"
        + prun("a", "echo %IN", "      opt_inDS: b/outDS\n", "--outputs x")
        + prun("b", "echo %IN", "      opt_inDS: a/outDS\n", "--outputs y"),
    )
    code, _, err = compile_(wf)
    assert code == 1 and "step 'a': cycle: a -> b -> a (PanDA's server never ends sorting it" in err
