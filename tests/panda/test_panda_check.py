"""`check` on the PanDA documentation's examples: the valid ones print the converted graph, every other one
fails with its precise mistake at file:line:col."""

import io
import json
from pathlib import Path

import pytest

from cwlpilot.compiler.panda.detect import is_panda_document
from cwlpilot.panda_cmd import main

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seed-workflows" / "panda"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "panda"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="the PanDA documentation's examples are not here")


def check(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *map(str, args)], out, err)
    return code, out.getvalue(), err.getvalue()


def errors(text):
    """(file name:line:col, rest) of each diagnostic line."""
    found = []
    for line in text.splitlines():
        head, sep, rest = line.partition(": ")
        if sep and head.count(":") == 2:
            found.append((Path(head.split(":")[0]).name + ":" + head.split(":", 1)[1], rest))
    return found


MISTAKES = {
    "athena.cwl": [("athena.cwl:26:17", "step 'second': input opt_inDS: 'top/outDS' names unknown step 'top'")],
    "hpo.cwl": [
        (
            "hpo.cwl:22:10",
            "step 'main_hpo': phpo (hyperparameter optimisation) runs on PanDA's HPO service and cannot run locally",
        ),
        ("hpo.cwl:28:11", "step 'main_hpo': `when` needs cwlVersion v1.2 or later (this document is v1.0)"),
        ("hpo.cwl:39:11", "step 'post_proc': `when` needs cwlVersion v1.2 or later (this document is v1.0)"),
    ],
    "loop.cwl": [("loop_body.cwl:47:19", "step 'checkpoint': junction opt_exec 'echo 1' never writes results.json")],
    "loop_body.cwl": [("loop_body.cwl:47:19", "step 'checkpoint': junction opt_exec 'echo 1' never writes")],
    "multi_loop.cwl": [
        ("loop_body.cwl:47:19", "step 'checkpoint': junction opt_exec 'echo 1' never writes results.json"),
        ("multi_loop.cwl:14:19", "output 'outDS': outputSource: 'work_end/outDS' names unknown step 'work_end'"),
    ],
    "scatter_body.cwl": [
        ("scatter_body.cwl:20:19", "output 'outDS': outputSource: '/outDS' names no step: write STEP/outDS"),
        ("scatter_body.cwl:38:19", "step 'checkpoint': junction opt_exec 'echo 1' never writes results.json"),
    ],
    "sequential_loop.cwl": [
        ("scatter_body.cwl:20:19", "output 'outDS': outputSource: '/outDS' names no step: write STEP/outDS"),
        ("scatter_body.cwl:38:19", "step 'checkpoint': junction opt_exec 'echo 1' never writes results.json"),
    ],
    "sig_bg_comb.cwl": [
        ("sig_bg_comb.cwl:51:53", "step 'premix': opt_args: --secondaryDSs stream '%IN2' must be written without '%'"),
        (
            "sig_bg_comb.cwl:51:60",
            "step 'premix': --secondaryDSs IN2 reads %{DS1}, which is opt_inDS's dataset "
            "(make_signal/outDS), not one of opt_secondaryDSs; write %{SECDS1}",
        ),
        ("sig_bg_comb.cwl:75:61", "step 'make_background_2': opt_args: --secondaryDSs stream '%IN2' must be written"),
        (
            "sig_bg_comb.cwl:75:68",
            "step 'make_background_2': --secondaryDSs IN2 reads %{DS1}, which is opt_inDS's dataset (background)",
        ),
        ("sig_bg_comb.cwl:90:53", "step 'combine': opt_args: --secondaryDSs stream '%IN2' must be written without '%'"),
        ("sig_bg_comb.cwl:90:60", "step 'combine': --secondaryDSs IN2 reads %{DS1}"),
        ("sig_bg_comb.cwl:90:67", "step 'combine': opt_args: --secondaryDSs stream '%IN3' must be written without '%'"),
        (
            "sig_bg_comb.cwl:90:74",
            "step 'combine': --secondaryDSs IN3 reads %{DS2}, which is opt_inDS's dataset (nothing)",
        ),
    ],
}


@needs_seeds
@pytest.mark.parametrize("name", sorted(MISTAKES))
def test_seed_mistakes_are_pointed_at(name):
    code, out, err = check(SEEDS / name)
    assert code == 1 and out == ""
    found = errors(err)
    assert len(found) == len(MISTAKES[name]), err
    for (where, message), (want_where, want_message) in zip(found, MISTAKES[name], strict=True):
        assert where == want_where and message.startswith(want_message), err


@needs_seeds
def test_merge_many_names_its_missing_script_and_its_sub_workflow_mistakes():
    code, _, err = check(SEEDS / "merge_many.cwl", SEEDS / "inputs2.yaml")
    found = dict(errors(err))
    assert code == 1
    assert found["merge_many.cwl:32:19"].startswith(
        "step 'merge': opt_exec runs 'merge.py', which is not in the workflow's folder"
    )
    assert "sig_bg_comb.cwl:51:53" in found


@needs_seeds
@pytest.mark.parametrize("name", ["simple_chain.cwl", "cond.cwl", "loop_main.cwl"])
def test_valid_seeds_print_the_converted_graph(name):
    code, out, err = check(SEEDS / name)
    assert (code, err) == (0, "")
    assert out.startswith("internally converted as follows\n\nID:0 Name:")


@needs_seeds
def test_dump_of_cond_shows_parents_conditions_and_notes():
    _, out, _ = check(SEEDS / "cond.cwl")
    assert "ID:2 Name:bottom_NG Type:prun\n  Parent:0\n  Input:\n     opt_args: --outputs bad.txt\n" in out
    assert "  Condition: $(!self.opt_inDS)  ->  ((failed(top.job0) || skipped(top.job0)) || " in out
    assert "  Stages: top.job0 top.job1\n" in out
    assert out.count("note: prun option --forceStaged has no local meaning (accepted, ignored): bottom_OK") == 1


def test_dump_of_a_loop_shows_its_dictionary_and_json_form():
    code, out, _ = check(EXAMPLES / "loop.cwl")
    assert code == 0
    assert "Loop:work_loop Name:work_loop Body:" in out
    assert "  Dictionary:\n     threshold: 500\n     xxx: 123\n     yyy: 0.456\n  Max iterations: 10\n" in out
    assert "  Stages: work_loop.0.inner_work_top\n  Loop: work_loop (iteration 0 shown)" in out
    code, out, _ = check(EXAMPLES / "loop.cwl", "--format", "json", "--max-loop-iterations", "4")
    data = json.loads(out)
    assert data["valid"] and data["graph"]["loops"][0]["dictionary"] == {"threshold": 500, "xxx": 123, "yyy": 0.456}
    assert data["graph"]["loops"][0]["max_iterations"] == 4


def test_condition_mistakes_are_collected_with_columns(tmp_path):
    wf = tmp_path / "bad.cwl"
    wf.write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        '  top:\n    run: prun\n    in:\n      opt_exec:\n        default: "echo %{nope} > a"\n'
        '      opt_args:\n        default: "--outputs a"\n    out: [outDS]\n'
        '  a:\n    run: prun\n    in:\n      opt_inDS: top/outDS\n      opt_exec:\n        default: "echo %IN %IN2"\n'
        "    out: [outDS]\n    when: $(self.opt_inDS && (self.opt_inDs || )\n"
        '  b:\n    run: prun\n    in:\n      opt_inDS: top/outDS\n      opt_exec:\n        default: "echo"\n'
        "    out: [outDS]\n    when: $(self.opt_inDS[1])\n"
    )
    code, _, err = check(wf)
    assert code == 1
    assert errors(err) == [
        ("bad.cwl:10:24", "step 'top': opt_exec: %{nope} names no loop parameter or workflow input param_nope"),
        ("bad.cwl:19:28", "step 'a': opt_exec: %IN2 names stream IN2, which no --secondaryDSs entry defines"),
        ("bad.cwl:21:48", "step 'a': when: expected self.NAME, '!' or '(', found ')'"),
        ("bad.cwl:29:13", "step 'b': when: self.opt_inDS[1] is out of range: opt_inDS has 1 source(s)"),
    ]


def test_detection():
    assert is_panda_document(str(EXAMPLES / "loop.cwl"))
    assert not is_panda_document(str(EXAMPLES.parent / "cwl" / "greet.cwl"))


@needs_seeds
def test_github_annotations():
    code, out, _ = check(SEEDS / "athena.cwl", "--format", "github")
    assert code == 1
    assert out.startswith("::error file=") and ",line=26,col=17,title=step second::" in out


def test_a_real_prun_cwl_file_is_not_a_panda_kind(tmp_path):
    (tmp_path / "prun.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs: []\noutputs: []\n"
    )
    (tmp_path / "wf.cwl").write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        "  s:\n    run: prun.cwl\n    in: {}\n    out: []\n"
    )
    assert not is_panda_document(str(tmp_path / "wf.cwl"))
    (tmp_path / "prun.cwl").unlink()
    assert is_panda_document(str(tmp_path / "wf.cwl"))


def test_dump_of_a_split_at_run_time_names_the_splitter_the_jobs_and_the_gather():
    code, out, _ = check(EXAMPLES / "split.cwl")
    assert code == 0
    assert (
        "  Stages: count.split count.job0 count.job1 ... count  "
        "(count.split adds one job stage per 2 input files when it runs)\n"
    ) in out
    assert "  Stages: make.job0 make.job1 make.job2 make.job3 make.job4\n" in out  # known now: made now
    assert "  Condition: $(!self.opt_inDS)  ->  (failed(count) || skipped(count))\n" in out
    code, out, _ = check(EXAMPLES / "split.cwl", "--format", "json")
    count = next(n for n in json.loads(out)["graph"]["nodes"] if n["name"] == "count")
    assert count["stages"] == ["count.split", "count"] and count["files_per_job"] == 2


def test_a_huge_njobs_is_an_error_at_its_column(tmp_path):
    # regression: --nJobs 18446744073709551616 made `check` grow by 100 MB/s until it was killed
    text = (EXAMPLES / "simple_chain.cwl").read_text().replace("--nJobs 3", "--nJobs 18446744073709551616")
    (tmp_path / "chain.cwl").write_text(text)
    code, _, err = check(tmp_path / "chain.cwl")
    assert code == 1
    assert errors(err) == [("chain.cwl:18:46", "step 'top': opt_args: --nJobs 18446744073709551616: at most 20000 "
                                               "jobs per step")]


def test_jobs_of_all_steps_together_are_at_most_the_stage_limit(tmp_path):
    text = (EXAMPLES / "simple_chain.cwl").read_text().replace("--nJobs 3", "--nJobs 20000")
    text = text.replace("--outputs results.root --forceStaged", "--outputs results.root --nJobs 20000 --forceStaged")
    text = text.replace("      opt_inDS: top/outDS\n", "")
    (tmp_path / "chain.cwl").write_text(text)
    code, _, err = check(tmp_path / "chain.cwl")
    assert code == 1
    assert ("chain.cwl:21:3", "step 'bottom': the plan has more than 20000 stages by this step, the most a plan may "
                              "have") in errors(err)


def test_a_step_name_too_long_for_a_folder_and_loop_iterations_beyond_the_limit(tmp_path):
    text = (EXAMPLES / "simple_chain.cwl").read_text().replace("  top:", "  " + "t" * 250 + ":")
    (tmp_path / "chain.cwl").write_text(text.replace("top/outDS", "t" * 250 + "/outDS"))
    code, _, err = check(tmp_path / "chain.cwl")
    assert code == 1 and "has 255 bytes, more than the 240 a stage's folder may have" in err  # top.job0
    code, _, err = check(EXAMPLES / "loop.cwl", "--max-loop-iterations", "99999999999999999999999")
    assert (code, err) == (2, "--max-loop-iterations must be from 1 to 20000, not 99999999999999999999999\n")
