"""`check` gives PanDA's verdict, construct by construct: an error where the server's front end refuses the
workflow, a warning (with its rule) where it accepts something very likely wrong, a warning naming the
panda-client releases that refuse what only some refuse. Each test names the server or client function it
follows; the verdicts were read from panda-server's pipeline run offline on the same constructs."""

import pytest

from tests.panda.helpers import check_json, found, prun, run_cli, workflow

A = prun("a", "echo 1 > a.txt", "--outputs a.txt")


def errors(data):
    return [d["message"] for d in data["diagnostics"] if d["severity"] == "error"]


def test_an_output_naming_no_step_is_a_warning_with_a_suggestion(tmp_path):
    """pcwl_utils.parse_workflow_file uses the outputs only to mark tail steps, and never checks them."""
    wf = workflow(
        tmp_path,
        "w.cwl",
        prun("FinishCharmSimu", "echo > x", "--outputs x"),
        outputs="{outDS: {type: string, outputSource: FinishPythia8CharmSimu/outDS}}",
    )
    data = check_json(wf)
    assert data["valid"]
    (warning,) = found(data, "panda-output-unknown-step")
    assert "names unknown step 'FinishPythia8CharmSimu'; did you mean 'FinishCharmSimu'?" in warning["message"]
    assert run_cli("check", wf, "--strict")[0] == 1  # --strict: warnings fail the check


@pytest.mark.parametrize("nested", [False, True])
def test_an_unknown_input_parameter_fails_verify_only_at_the_top_level(tmp_path, nested):
    """Node.verify runs on the top-level nodes only (workflow_processor.core_exec's loop)."""
    steps = prun("a", "echo > x", "--outputs x", "      opt_foo: {default: 1}\n")
    if nested:
        workflow(tmp_path, "sub.cwl", steps)
        steps = "  s:\n    run: sub.cwl\n    in: []\n    out: [outDS]\n"
    data = check_json(workflow(tmp_path, "w.cwl", steps))
    if nested:
        assert data["valid"] and found(data, "panda-unverified-input")
    else:
        assert errors(data) == ["unknown input parameter 'opt_foo' for prun"]


@pytest.mark.parametrize("nested", [False, True])
def test_a_source_naming_no_step_leaves_the_input_unresolved(tmp_path, nested):
    """resolve_nodes leaves a source it cannot find at its default (None); Node.verify refuses None."""
    steps = prun("b", "echo %IN > y", "--outputs y", "      opt_inDS: nosuch/outDS\n")
    if nested:
        workflow(tmp_path, "sub.cwl", steps)
        steps = "  s:\n    run: sub.cwl\n    in: []\n    out: [outDS]\n"
    data = check_json(workflow(tmp_path, "w.cwl", steps))
    message = "opt_inDS is unresolved: 'nosuch/outDS' names unknown step 'nosuch'"
    if nested:
        assert data["valid"] and found(data, "panda-unresolved")[0]["message"].startswith(message)
    else:
        assert errors(data) == [message]


def test_dataset_placeholders_left_unresolved(tmp_path):
    """Node.verify: no %{...DSn} may be left in opt_exec or opt_args; %{SECDS*} never resolves (resolve_params
    replaces it by the %{SECDSn} placeholders themselves)."""
    steps = A + prun("b", "echo %{DS2}", "--outputs y", "      opt_inDS: a/outDS\n")
    steps += prun("c", "echo %{SECDS*}", "--outputs z", "      opt_inDS: a/outDS\n      opt_secondaryDSs: [a/outDS]\n")
    data = check_json(workflow(tmp_path, "w.cwl", steps))
    assert errors(data) == ["%{DS2} is unresolved in opt_exec", "%{SECDS1} is unresolved in opt_exec"]


def test_inputs_verify_refuses_per_kind(tmp_path):
    """Node.verify lists each kind's inputs: reana and junction take no opt_secondaryDSs."""
    steps = A + prun(
        "r", "run", "--outputs r", "      opt_inDS: a/outDS\n      opt_secondaryDSs: [a/outDS]\n", kind="reana"
    )
    data = check_json(workflow(tmp_path, "w.cwl", steps))
    assert "unknown input parameter 'opt_secondaryDSs' for reana" in errors(data)


def test_a_prun_step_without_opt_args_or_opt_exec(tmp_path):
    """make_task_params reads dict_inputs["opt_args"] and ["opt_exec"]: a KeyError without them."""
    data = check_json(workflow(tmp_path, "w.cwl", prun("a", "echo", None)))
    assert errors(data) == ["a prun step needs opt_args: PanDA's server fails without it (KeyError 'opt_args')"]
    junction = check_json(workflow(tmp_path, "j.cwl", prun("j", "echo '{}' > results.json", None, kind="junction")))
    assert junction["valid"]  # a junction's opt_args defaults to ""


def test_an_empty_inputs_file_with_workflow_inputs(tmp_path):
    """resolve_nodes tests `name in data` on the inputs file's content: None for an empty file."""
    wf = workflow(
        tmp_path,
        "w.cwl",
        prun("a", "echo %IN > x", "--outputs x", "      opt_inDS: ds\n"),
        inputs="{ds: {type: string, default: my.ds}}",
    )
    (tmp_path / "in.yaml").write_text("# nothing\n")
    data = check_json(wf, tmp_path / "in.yaml")
    assert "the inputs file is empty, and the workflow has inputs" in errors(data)[0]


def test_param_i_is_reserved_in_a_loop(tmp_path):
    """Node.verify of a top-level loop: 'parameter i cannot be used since it is reserved by the system'."""
    body = prun("j", "echo '{}' > results.json", None, kind="junction")
    workflow(tmp_path, "body.cwl", body, inputs="{param_i: {type: int, default: 0}}")
    steps = "  L:\n    run: body.cwl\n    in: []\n    out: [outDS]\n    hints: [loop]\n"
    data = check_json(workflow(tmp_path, "w.cwl", steps))
    assert errors(data)[0].startswith("parameter i cannot be used since it is reserved by the system")


def test_a_loop_hint_the_server_does_not_read(tmp_path):
    """parse_workflow_file: `if step.hints and "loop" in step.hints` -- a {class: loop} hint is no loop."""
    workflow(tmp_path, "body.cwl", prun("j", "echo '{}' > results.json", None, kind="junction"))
    steps = "  L:\n    run: body.cwl\n    in: []\n    out: [outDS]\n    hints: [{class: loop}]\n"
    data = check_json(workflow(tmp_path, "w.cwl", steps))
    assert data["valid"] and "is no loop for PanDA's server" in found(data, "panda-loop-hint-ignored")[0]["message"]
    assert data["files"][0]["graph"]["loops"] == []


def test_the_memory_question_of_panda_client(tmp_path):
    """PsubUtils.get_warning_for_memory (since 1.5.67) asks above 4000 MB/core without -y; on the server, with no
    one to answer, input() fails: EOF when reading a line."""
    wf = workflow(tmp_path, "w.cwl", prun("a", "echo > x", "--outputs x --memory 8192"))
    (warning,) = found(check_json(wf), "panda-client-memory-question")
    assert "panda-client 1.5.67 and later refuse it" in warning["message"] and warning["severity"] == "warning"
    assert check_json(wf, "--panda-client", "1.5.66")["valid"]
    assert not check_json(wf, "--panda-client", "2.0.2")["valid"]
    for args in ("--outputs x --memory 8192 -y", "--outputs x --memory 4000"):
        assert not found(
            check_json(workflow(tmp_path, "ok.cwl", prun("a", "echo > x", args))), "panda-client-memory-question"
        )


def test_force_staged_secondary_by_client_release(tmp_path):
    """--forceStagedSecondary left PrunScript in 9e1b8ba (panda-client 1.6.17): argparse refuses it since."""
    wf = workflow(tmp_path, "w.cwl", prun("a", "echo > x", "--outputs x --forceStagedSecondary"))
    (warning,) = found(check_json(wf), "panda-client-option")
    assert "panda-client 1.6.17 and later refuse it" in warning["message"]
    assert check_json(wf, "--panda-client", "1.6.16")["valid"]
    data = check_json(wf, "--panda-client", "2.0.2")
    assert "panda-client 2.0.2 refuses it, and PanDA's server with it" in errors(data)[0]


def test_the_server_adds_force_staged_secondary_to_a_junction_that_reads_a_dataset(tmp_path):
    """make_task_params: a junction with opt_inDS gets --forceStaged --forceStagedSecondary."""
    steps = A + prun("j", "echo '{}' > results.json", None, "      opt_inDS: a/outDS\n", kind="junction")
    (warning,) = found(check_json(workflow(tmp_path, "w.cwl", steps)), "panda-junction-force-staged-secondary")
    assert "panda-client 1.6.17 and later refuse it" in warning["message"]


def test_options_prun_refuses(tmp_path):
    """PrunScript's argparse: unknown options fail (an unambiguous prefix is taken, as argparse takes it)."""
    data = check_json(workflow(tmp_path, "w.cwl", prun("a", "echo > x", "--outputs x --nFilesPerjob 2 --avoidV")))
    assert errors(data) == [
        "opt_args: prun has no option --nFilesPerjob: panda-client refuses it (unrecognized arguments)"
    ]


def test_placeholders_the_server_leaves_as_written_at_the_top_level(tmp_path):
    """make_task_params substitutes %{name} and %{i} only for a step inside a sub-workflow (workflow_node)."""
    wf = workflow(
        tmp_path,
        "w.cwl",
        prun("a", "echo %{seed} %{i} > x", "--outputs x"),
        inputs="{param_seed: {type: int, default: 5}}",
    )
    data = check_json(wf)
    assert data["valid"] and len(found(data, "panda-toplevel-placeholder")) == 2
    assert "--exec 'echo %{seed} %{i} > x'" in data["files"][0]["graph"]["nodes"][0]["server"]["cliParams"]


def test_a_missing_exec_script_is_a_warning(tmp_path):
    """The server does not look into the sandbox; the job will not find the script."""
    data = check_json(workflow(tmp_path, "w.cwl", prun("a", "Pythia8CharmSimulation.sh %RNDM:0 >& log", "--outputs x")))
    assert data["valid"] and "Pythia8CharmSimulation.sh" in found(data, "panda-exec-script-missing")[0]["message"]


@pytest.mark.parametrize("kind", ["phpo", "reana", "gitlab"])
def test_steps_only_panda_runs_are_valid_with_a_warning(tmp_path, kind):
    ins = {
        "phpo": "      opt_args: {default: '--loadJson conf.json'}\n",
        "reana": "      opt_exec: {default: run}\n      opt_args: {default: ''}\n",
        "gitlab": "".join(
            f"      {k}: {{default: '1'}}\n"
            for k in ("opt_api", "opt_projectID", "opt_ref", "opt_triggerToken", "opt_accessToken", "opt_site")
        ),
    }[kind]
    wf = workflow(tmp_path, "w.cwl", f"  k:\n    run: {kind}\n    in:\n{ins}    out: [outDS]\n")
    data = check_json(wf)
    assert data["valid"] and [d["severity"] for d in found(data, "panda-not-local")] == ["warning"]
    assert run_cli("check", wf, "--strict")[0] == 1
    assert run_cli("check", wf, "--strict", "--ignore", "panda-not-local")[0] == 0


@pytest.mark.parametrize(
    ("when", "valid"),
    [
        ("$(self.opt_inDS[0] && !self.opt_inDS[1])", True),
        ("$(self.opt_inDS[0] && self.opt_inDS[1] || self.opt_inDS[0])", False),  # KeyError: 2
        ("$(!(self.opt_inDS[0] && self.opt_inDS[1]))", False),  # 'int' object is not iterable
        ("$((self.opt_inDS[0] && !self.opt_inDS[1]) || !self.opt_inDS[0])", False),
    ],
)
def test_conditions_the_server_can_convert(tmp_path, when, valid):
    """pcwl_utils.parse_condition_string, then workflow_utils.convert_nodes_to_workflow: two operands at most."""
    steps = A + prun("b", "echo 2 > b.txt", "--outputs b.txt")
    steps += prun("c", "echo > c", "--outputs c", "      opt_inDS: [a/outDS, b/outDS]\n", extra=f"    when: {when}\n")
    assert check_json(workflow(tmp_path, "w.cwl", steps))["valid"] is valid


def test_a_dataset_name_with_a_colon_splits_its_secondary_entry(tmp_path):
    """MiscUtils.parse_secondary_datasets_opt splits an entry at ':' (unless written with '#'), after the
    server has put the %{SECDSn} name in: a scoped name reads as DATASET:PATTERN."""
    steps = prun(
        "a",
        "echo %IN %IN2 > x",
        "--outputs x --secondaryDSs IN2:2:%{SECDS1}",
        "      opt_inDS: sig\n      opt_secondaryDSs: [bg]\n",
    )
    wf = workflow(
        tmp_path,
        "w.cwl",
        steps,
        inputs="{sig: {type: string, default: s.1}, bg: {type: string, default: 'mc16_5TeV:mc16_5TeV.361239.minbias'}}",
    )
    (warning,) = found(check_json(wf), "panda-secondary-ds-colon")
    assert "reads the dataset 'mc16_5TeV'" in warning["message"]
    wf.write_text(wf.read_text().replace("IN2:2:%{SECDS1}", "IN2#2#%{SECDS1}"))
    assert not found(check_json(wf), "panda-secondary-ds-colon")


def test_a_loop_without_a_junction_runs_once(tmp_path):
    """convert_nodes_to_workflow makes the loop condition from the body's first junction; without one, none."""
    workflow(tmp_path, "body.cwl", prun("a", "echo > x", "--outputs x"))
    steps = "  L:\n    run: body.cwl\n    in: []\n    out: [outDS]\n    hints: [loop]\n"
    data = check_json(workflow(tmp_path, "w.cwl", steps))
    assert data["valid"] and found(data, "panda-loop-without-junction")
    assert [n["stages"] for n in data["files"][0]["graph"]["nodes"] if n["type"] == "prun"] == [["L.1.a"]]


def test_scatter_must_be_a_list(tmp_path):
    """parse_workflow_file runs extract_id over step.scatter: a single name is read letter by letter and fails."""
    sub = prun("g", "echo > g", "--outputs g")
    workflow(tmp_path, "sub.cwl", sub, inputs="{seed: int}")
    steps = "  many:\n    run: sub.cwl\n    scatter: seed\n    in:\n      seed: seeds\n    out: [outDS]\n"
    wf = workflow(tmp_path, "w.cwl", steps, inputs="{seeds: {type: 'int[]', default: [5, 7]}}")
    assert errors(check_json(wf))[0].startswith("scatter: seed must be a list for PanDA's server")
    wf.write_text(wf.read_text().replace("scatter: seed", "scatter: [seed]"))
    assert check_json(wf)["valid"]
