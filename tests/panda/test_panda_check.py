"""`check` on the PanDA documentation's examples: the valid ones print the converted graph, every other one
fails with its precise mistake at file:line:col."""

import io
import json
import re
from pathlib import Path

import pytest

from cwlpilot.check_cmd import main
from cwlpilot.compiler.panda.detect import is_panda_document

SEEDS = next(
    (p / "shared" / "seed-workflows" / "panda" for p in Path(__file__).resolve().parents if (p / "shared").is_dir()),
    Path("/nonexistent"),
)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "panda"
needs_seeds = pytest.mark.skipif(not SEEDS.is_dir(), reason="the PanDA documentation's examples are not here")


def check(*args):
    out, err = io.StringIO(), io.StringIO()
    code = main(["check", *map(str, args)], out, err)
    return code, out.getvalue(), err.getvalue()


def errors(text):
    """(file name:line:col, rest) of each diagnostic line (GNU style; `error: ` and the ` [rule]` left out
    of errors)."""
    found = []
    for line in text.splitlines():
        head, sep, rest = line.partition(": ")
        if sep and head.count(":") == 2:
            if rest.startswith("error: "):
                rest = re.sub(r" \[[a-z0-9-]+\]$", "", rest.removeprefix("error: "))
            found.append((Path(head.split(":")[0]).name + ":" + head.split(":", 1)[1], rest))
    return found


# The documentation's examples in shared/seed-workflows/panda, as PanDA's server refuses them (its front end
# re-enacted offline: pcwl_utils.parse_workflow_file with cwl-utils, resolve_nodes, Node.resolve_params with
# panda-client's dry run, Node.verify): the errors `check` gives, at file:line:col.
REFUSED = {
    # Node.verify: the source names no step, so opt_inDS keeps its default, None
    "athena.cwl": [("athena.cwl:26:7", "step 'second': opt_inDS is unresolved: 'top/outDS' names unknown step 'top'")],
    # cwl-utils refuses `when` in a v1.0 document
    "hpo.cwl": [
        ("hpo.cwl:28:5", "step 'main_hpo': PanDA's parser (cwl-utils) refuses `when` here"),
        ("hpo.cwl:39:5", "step 'post_proc': PanDA's parser (cwl-utils) refuses `when` here"),
    ],
    # the server makes stand-in files for `prun`, never for `prun.cwl`: cwl-utils finds no such file
    "loop.cwl": [
        ("loop.cwl:16:5", "step 'work_start': run: no such file 'prun.cwl'"),
        ("loop.cwl:33:5", "step 'work_end': run: no such file 'prun.cwl'"),
    ],
    "loop_main.cwl": [("loop_main.cwl:19:5", "step 'core': run: no such file 'prun.cwl'")],
    "scatter_body.cwl": [("loop_main.cwl:19:5", "step 'core': run: no such file 'prun.cwl'")],
    "sequential_loop.cwl": [("loop_main.cwl:19:5", "step 'core': run: no such file 'prun.cwl'")],
    # Node.verify: combine has one opt_inDS, so %{DS2} in its opt_args is left
    "sig_bg_comb.cwl": [("sig_bg_comb.cwl:90:74", "step 'combine': %{DS2} is unresolved in opt_args")],
}
ACCEPTED = ["cond.cwl", "simple_chain.cwl", "loop_body.cwl", "multi_loop.cwl"]


@needs_seeds
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_seeds_the_server_refuses_fail_check_where_it_refuses_them(name):
    code, out, err = check(SEEDS / name)
    assert code == 1 and out == ""
    found = [(w, m) for w, m in errors(err) if not m.startswith(("warning:", "note:"))]
    assert len(found) == len(REFUSED[name]), err
    for (where, message), (want_where, want_message) in zip(found, REFUSED[name], strict=True):
        assert where == want_where and message.startswith(want_message), err


@needs_seeds
@pytest.mark.parametrize("name", ACCEPTED)
def test_seeds_the_server_accepts_pass_check(name):
    code, out, err = check(SEEDS / name)
    assert code == 0, err
    assert out.startswith("internally converted as follows\n\nID:0 Name:")
    assert " error" not in err or ": 0 errors" in err


@needs_seeds
def test_the_mistakes_the_server_accepts_are_warnings_with_rules():
    """multi_loop.cwl: its output names no step (pcwl_utils only marks tails with it); loop_body.cwl's junction
    never writes results.json; the server adds --forceStagedSecondary to the junction (make_task_params)."""
    code, _, err = check(SEEDS / "multi_loop.cwl")
    assert code == 0
    found = dict(errors(err))
    assert found["multi_loop.cwl:14:19"].startswith(
        "warning: output 'outDS': outputSource: 'work_end/outDS' names unknown step 'work_end'"
    ) and found["multi_loop.cwl:14:19"].endswith("[panda-output-unknown-step]")
    assert found["loop_body.cwl:47:19"].endswith("[panda-junction-no-results]")
    assert found["loop_body.cwl:40:3"].startswith(
        "warning: step 'checkpoint': PanDA's server adds --forceStagedSecondary"
    )
    assert "panda-client 1.6.17 and later refuse it" in found["loop_body.cwl:40:3"]
    code, _, err = check(SEEDS / "multi_loop.cwl", "--strict")
    assert code == 1 and "(--strict: warnings fail the check)" in err
    code, _, err = check(SEEDS / "multi_loop.cwl", "--panda-client", "2.0.2")
    assert code == 1 and "panda-client 2.0.2 refuses it, and PanDA's server with it" in err
    code, _, err = check(SEEDS / "multi_loop.cwl", "--panda-client", "1.6.16")
    assert code == 0 and "forceStagedSecondary" not in err


@needs_seeds
def test_merge_many_warns_of_its_missing_script_and_of_its_sub_workflow():
    code, _, err = check(SEEDS / "merge_many.cwl", SEEDS / "inputs2.yaml")
    found = errors(err)
    assert code == 0, err  # the server accepts it: %{DS2} inside the sub-workflow is never verified
    assert (
        "merge_many.cwl:32:19",
        "warning: step 'merge': opt_exec runs 'merge.py', which is not in the workflow's folder "
        "/work/shared/seed-workflows/panda (PanDA ships that folder as the job's sandbox; the job will not find it) "
        "[panda-exec-script-missing]",
    ) in found or any(w == "merge_many.cwl:32:19" and "merge.py" in m for w, m in found)
    assert any(
        w == "sig_bg_comb.cwl:90:74" and m.startswith("warning: step 'combine': %{DS2} is unresolved in opt_args")
        for w, m in found
    )


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
    assert "  Stages: work_loop.1.inner_work_top\n  Loop: work_loop (iteration 1 shown)" in out
    code, out, _ = check(EXAMPLES / "loop.cwl", "--format", "json", "--max-loop-iterations", "4")
    data = json.loads(out)
    (loop,) = data["files"][0]["graph"]["loops"]
    assert data["valid"] and loop["dictionary"] == {"threshold": 500, "xxx": 123, "yyy": 0.456}
    assert loop["max_iterations"] == 4


def test_condition_mistakes_are_collected_with_columns(tmp_path):
    wf = tmp_path / "bad.cwl"
    wf.write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        '  top:\n    run: prun\n    in:\n      opt_exec:\n        default: "echo %{nope} > a"\n'
        '      opt_args:\n        default: "--outputs a"\n    out: [outDS]\n'
        '  a:\n    run: prun\n    in:\n      opt_inDS: top/outDS\n      opt_exec:\n        default: "echo %IN %IN2"\n'
        '      opt_args: {default: ""}\n    out: [outDS]\n    when: $(self.opt_inDS && (self.opt_inDs || )\n'
        '  b:\n    run: prun\n    in:\n      opt_inDS: top/outDS\n      opt_exec:\n        default: "echo"\n'
        '      opt_args: {default: ""}\n    out: [outDS]\n    when: $(self.opt_inDS[1])\n'
        '  c:\n    run: prun\n    in:\n      opt_inDS: [top/outDS, b/outDS]\n      opt_exec:\n        default: "echo"\n'
        '      opt_args: {default: ""}\n    out: [outDS]\n'
        "    when: $(self.opt_inDS[0] && self.opt_inDS[1] || self.opt_inDS[0])\n"
    )
    code, _, err = check(wf)
    assert code == 1
    assert errors(err) == [
        (  # the server never substitutes %{name} in a top-level step (make_task_params: no enclosing node)
            "bad.cwl:10:24",
            "warning: step 'top': opt_exec: %{nope} is left as written: PanDA's server substitutes %{name} and %{i} "
            "only in the steps of a sub-workflow [panda-toplevel-placeholder]",
        ),
        (  # neither the server nor the client checks %IN2 against the streams
            "bad.cwl:19:28",
            "warning: step 'a': opt_exec: %IN2 is left as written: no --secondaryDSs entry defines IN2 "
            "[panda-unknown-stream]",
        ),
        ("bad.cwl:22:48", "step 'a': when: expected self.NAME, '!' or '(', found ')'"),
        ("bad.cwl:31:13", "step 'b': when: self.opt_inDS[1] is out of range: opt_inDS has 1 source(s)"),
        (  # convert_nodes_to_workflow fails on a third operand (KeyError)
            "bad.cwl:40:11",
            "step 'c': when: PanDA's server converts a condition of at most two operands, each self.X or !self.X: "
            "more fail there (KeyError)",
        ),
    ]


def test_detection():
    assert is_panda_document(str(EXAMPLES / "loop.cwl"))
    assert not is_panda_document(str(EXAMPLES.parent / "cwl" / "greet.cwl"))


@needs_seeds
def test_github_annotations():
    code, out, _ = check(SEEDS / "athena.cwl", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("::warning file=")
    assert ",line=16,col=19,title=panda-exec-script-missing::step 'first': " in lines[0]
    assert lines[1].startswith("::error file=") and ",line=26,col=7,title=panda-unresolved::step 'second': " in lines[1]


def test_a_prun_cwl_file_is_the_prun_kind_whatever_it_holds(tmp_path):
    """pcwl_utils.parse_workflow_file reads `run: prun.cwl` as a prun step without opening the file (cwl-utils
    only needs it to exist); any other X.cwl, junction.cwl too, is a sub-workflow."""
    (tmp_path / "prun.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs: []\noutputs: []\n"
    )
    (tmp_path / "wf.cwl").write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        '  s:\n    run: prun.cwl\n    in:\n      opt_exec: {default: "echo"}\n      opt_args: {default: ""}\n'
        "    out: []\n"
    )
    assert is_panda_document(str(tmp_path / "wf.cwl"))
    code, out, err = check(tmp_path / "wf.cwl")
    assert code == 0, err
    assert "ID:0 Name:s Type:prun" in out
    (tmp_path / "prun.cwl").unlink()  # then cwl-utils, as the server runs it, finds no such file
    code, _, err = check(tmp_path / "wf.cwl")
    assert code == 1 and "wf.cwl:7:5: error: step 's': run: no such file 'prun.cwl'" in err
    (tmp_path / "junction.cwl").write_text((tmp_path / "wf.cwl").read_text().replace("prun.cwl", "prun"))
    (tmp_path / "wf.cwl").write_text((tmp_path / "wf.cwl").read_text().replace("prun.cwl", "junction.cwl"))
    code, out, err = check(tmp_path / "wf.cwl")
    assert code == 0 and "Name:s Type:workflow" in out, err


def test_a_command_line_tool_as_a_sub_workflow_is_refused(tmp_path):
    """Any other X.cwl is parsed as a sub-workflow (pcwl_utils.parse_workflow_file recurses), which fails
    on a CommandLineTool: 'CommandOutputParameter' object has no attribute 'outputSource'."""
    (tmp_path / "myprun.cwl").write_text(
        "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: echo\ninputs: []\noutputs:\n  o: {type: File}\n"
    )
    (tmp_path / "wf.cwl").write_text(
        "cwlVersion: v1.2\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n"
        "  s:\n    run: myprun.cwl\n    in: {}\n    out: []\n  t:\n    run: prun\n    in:\n"
        '      opt_exec: {default: "echo"}\n      opt_args: {default: ""}\n    out: []\n'
    )
    code, _, err = check(tmp_path / "wf.cwl")
    assert code == 1
    assert "myprun.cwl:1:1: error: a PanDA workflow document has `class: Workflow` (found 'CommandLineTool')" in err
    assert "'CommandOutputParameter' object has no attribute 'outputSource'" in err


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
    count = next(n for n in json.loads(out)["files"][0]["graph"]["nodes"] if n["name"] == "count")
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


def test_a_scatter_beyond_the_stage_limit_is_refused_before_its_instances_are_made(tmp_path):
    # the server makes one instance per element of the first scattered input: 20,001 of them are refused at
    # the step, not made and then counted
    names = ", ".join(f"s{k}" for k in range(20_001))
    (tmp_path / "job.yml").write_text(f"signals: [{names}]\nbackgrounds: [{names}]\n")
    code, _, err = check(EXAMPLES / "merge_many.cwl", tmp_path / "job.yml")
    assert code == 1
    assert ("merge_many.cwl:18:3", "step 'many_sig_bg_comb': the scatter makes 20001 instances, more than the "
                                   "20000 allowed") in errors(err)
