"""compiler.panda.server: what PanDA's server shows and submits for a step, compared with what panda-server's
own pipeline (workflow_utils.Node.resolve_params / make_task_params, run offline with panda-client's dry run)
printed for the same workflows: the dump's opt_exec/opt_args and the task's cliParams."""

from cwlpilot.compiler.panda import server
from tests.panda.helpers import check_json, found, node, prun, run_cli, workflow

OUT = "user.me.test"
TWO = prun("t1", "echo 1 > a.tar", "--outputs a.tar --nJobs 2") + prun(
    "t2", "echo 1 > b.tar", "--outputs b.tar --nJobs 2"
)
SEC = "      opt_inDS: t1/outDS\n      opt_secondaryDSs: [t2/outDS]\n"


def test_a_secondary_named_by_secds_in_the_dump_and_the_command_line(tmp_path):
    """resolve_params puts %{SECDSn} in before make_task_params splits opt_args: it reaches the task."""
    steps = TWO + prun(
        "b",
        "run.sh %IN %IN2 %{DS1} %{SECDS1}",
        "--outputs c.tar --nFilesPerJob=1 --secondaryDSs IN2:5:%{SECDS1} --forceStaged",
        SEC,
    )
    data = check_json(workflow(tmp_path, "w.cwl", steps), "--outDS", OUT)
    view = node(data, "b")["server"]
    assert view["opt_exec"] == "run.sh %IN %IN2 user.me.test_000_t1_a.tar/ user.me.test_001_t2_b.tar/"
    assert (
        view["opt_args"]
        == "--outputs c.tar --nFilesPerJob=1 --secondaryDSs IN2:5:user.me.test_001_t2_b.tar/ --forceStaged"
    )
    assert view["cliParams"] == (
        "prun --outputs c.tar --nFilesPerJob=1 --secondaryDSs IN2:5:user.me.test_001_t2_b.tar/ --forceStaged "
        "--inDS user.me.test_000_t1_a.tar/ --notExpandInDS --notExpandSecDSs "
        "--exec 'run.sh %IN %IN2 user.me.test_000_t1_a.tar/ user.me.test_001_t2_b.tar/' --outDS user.me.test_002_b"
    )


def test_ds_in_secondary_dss_is_shown_substituted_but_submitted_as_written(tmp_path):
    """make_task_params splits opt_args into the command before it replaces %{DSn}: the dump shows
    IN2:5:<opt_inDS's dataset>, the task's IN2 is a dataset named '%{DS1}' (the sPHENIX workflows' case)."""
    steps = TWO + prun(
        "b", "run.sh %IN %IN2", "--outputs c.tar --nFilesPerJob=1 --secondaryDSs IN2:5:%{DS1} --forceStaged", SEC
    )
    wf = workflow(tmp_path, "w.cwl", steps)
    data = check_json(wf, "--outDS", OUT)
    assert data["valid"]  # the server accepts it
    view = node(data, "b")["server"]
    assert "--secondaryDSs IN2:5:user.me.test_000_t1_a.tar/" in view["opt_args"]
    assert view["cliParams"].startswith("prun --outputs c.tar --nFilesPerJob=1 --secondaryDSs 'IN2:5:%{DS1}' ")
    (warning,) = found(data, "panda-secondary-ds-placeholder")
    assert "the task's IN2 reads a dataset named '%{DS1}', which does not exist" in warning["message"]
    assert "write %{SECDS1} (user.me.test_001_t2_b.tar/)" in warning["message"]
    code, _, err = run_cli("compile", wf, "--outDS", OUT)  # so it cannot run as PanDA runs it either
    assert code == 1 and "PanDA submits the task with a dataset named '%{DS1}'" in err


def test_a_custom_stream_name(tmp_path):
    """MiscUtils.parse_secondary_datasets_opt takes any stream name; %IN_MINH stays for the job's wrapper."""
    steps = TWO + prun(
        "b", "run.sh %IN %IN_MINH", "--outputs c.tar --nFilesPerJob=1 --secondaryDSs IN_MINH:5:%{SECDS1}", SEC
    )
    (tmp_path / "run.sh").write_text("")
    data = check_json(workflow(tmp_path, "w.cwl", steps), "--outDS", OUT)
    assert data["valid"] and data["summary"]["warnings"] == 0
    assert node(data, "b")["server"]["cliParams"] == (
        "prun --outputs c.tar --nFilesPerJob=1 --secondaryDSs IN_MINH:5:user.me.test_001_t2_b.tar/ "
        "--inDS user.me.test_000_t1_a.tar/ --notExpandInDS --notExpandSecDSs --exec 'run.sh %IN %IN_MINH' "
        "--outDS user.me.test_002_b"
    )


def test_a_junction_always_outputs_results_json(tmp_path):
    steps = prun("a", "echo 1 > a.txt", "--outputs a.txt --nJobs 1") + prun(
        "j", "echo '{}' > results.json", "--outputs extra.txt", kind="junction"
    )
    data = check_json(workflow(tmp_path, "w.cwl", steps), "--outDS", OUT)
    assert node(data, "j")["server"]["cliParams"] == (
        "prun --outputs=extra.txt,results.json --exec 'echo '\"'\"'{}'\"'\"' > results.json' --outDS user.me.test_001_j"
    )


def test_a_loop_body_step_as_submitted(tmp_path):
    """Inside a loop, make_task_params writes ___idds___user_k___ for %{k} and ___idds___num_run___ for %{i}
    (in opt_exec only), and the dataset names carry .___idds___num_run___ (resolve_nodes)."""
    body = prun("inner", "echo %IN %{xxx} %{i} > seed.txt", "--outputs seed.txt --avoidVP", "      opt_inDS: dataset\n")
    body += prun(
        "checkpoint",
        "echo '{\"to_terminate\": true}' > results.json",
        None,
        "      opt_inDS: inner/outDS\n",
        kind="junction",
    )
    workflow(tmp_path, "body.cwl", body, inputs="{dataset: string, param_xxx: {type: int, default: 123}}")
    top = prun("work_start", "echo %RNDM:10 > seed.txt", "--outputs seed.txt --nJobs 2 --avoidVP")
    top += "  work_loop:\n    run: body.cwl\n    in:\n      dataset: work_start/outDS\n    out: [outDS]\n"
    top += "    hints: [loop]\n"
    data = check_json(workflow(tmp_path, "loop.cwl", top), "--outDS", OUT)
    view = node(data, "work_loop.inner")["server"]
    assert view["cliParams"] == (
        "prun --outputs seed.txt --avoidVP --inDS user.me.test_000_work_start_seed.txt/ --notExpandInDS "
        "--notExpandSecDSs --exec 'echo %IN ___idds___user_xxx___ ___idds___num_run___ > seed.txt' "
        "--outDS user.me.test_001_inner.___idds___num_run___"
    )
    assert view["opt_exec"] == "echo %IN %{xxx} %{i} > seed.txt"  # the dump shows them as written
    junction = node(data, "work_loop.checkpoint")["server"]["cliParams"]
    assert "--notExpandSecDSs --forceStaged --forceStagedSecondary --exec" in junction  # the server adds both


def test_dataset_names_of_the_inputs():
    """Node.get_input_ds_list: opt_inDsType (with * as XYZ...tgz) or the parent's first output type; a list
    of datasets with one string type is zipped with that string's characters."""
    assert server.input_datasets("a", None, ["x.root"]) == ["a_x.root/"]
    assert server.input_datasets("a", "f*.root", ["x"]) == ["a_fXYZ.root.tgz/"]
    assert server.input_datasets(["a", "b"], None, ["x", None]) == ["a_x/", "b"]
    assert server.input_datasets(["a", "b", "c"], "seed.txt", []) == ["a_s/", "b_e/", "c_e/"]
    assert server.input_datasets(["a", "b"], ["t1", "t2"], []) == ["a_t1/", "b_t2/"]
    assert server.secondary_datasets(["s", "t"], None, ["x.root", None]) == ["s_x.root/", "t/"]
    assert server.output_type("x*.root") == "xXYZ.root.tgz"


def test_what_verify_finds_unresolved():
    assert server.unresolved("echo %{DS2}", "") == ("%{DS2}", "opt_exec")
    assert server.unresolved("", "--secondaryDSs IN2:1:%{SECDS1},IN3:1:%{SECDS2}") == ("%{SECDS1}", "opt_args")
    assert server.unresolved("%{xxx} %{i}", "") is None  # no dataset placeholder: Node.verify lets it pass
