"""compiler.panda.cwlload: each document loaded as pcwl_utils.parse_workflow_file loads it, with cwl-utils and
the empty stand-in files `prun`, `junction`, `phpo`, `reana`, `gitlab` it touches beside the document --
here answered by a fetcher, so that `check` writes nothing."""

from tests.panda.helpers import panda_check, prun, run_cli, workflow


def test_missing_steps_and_duplicate_keys_are_refused_where_cwl_utils_says(tmp_path):
    """The two sPHENIX workflows the server refuses: an empty `steps:` and a second `outputSource:` key."""
    (tmp_path / "empty.cwl").write_text("cwlVersion: v1.0\nclass: Workflow\ninputs: []\noutputs: []\nsteps:\n")
    valid, err = panda_check(tmp_path / "empty.cwl")  # no step: nothing tells it from a standard document
    assert not valid
    assert "empty.cwl:1:1: error: PanDA's parser (cwl-utils) refuses the document: missing required field `steps`" \
        in err
    code, _, err = run_cli("check", tmp_path / "empty.cwl")  # which, as cwltool, refuses it too
    assert code == 1 and "empty.cwl:1:1: error: missing required field `steps` [cwl-schema]" in err
    steps = prun("a", "echo > x", "--outputs x")
    dup = workflow(tmp_path, "dup.cwl", steps, outputs="\n  o:\n    outputSource: a/outDS\n    outputSource: b/outDS")
    code, _, err = run_cli("check", dup)
    assert code == 1 and 'found duplicate key "outputSource"' in err


def test_when_in_a_v1_0_document(tmp_path):
    wf = workflow(
        tmp_path, "w.cwl", prun("a", "echo > x", "--outputs x", extra="    when: $(self.opt_inDS)\n"), version="v1.0"
    )
    code, _, err = run_cli("check", wf)
    assert code == 1 and "w.cwl:12:5: error: step 'a': PanDA's parser (cwl-utils) refuses `when` here" in err


def test_stand_ins_only_for_the_kind_names_and_nothing_written(tmp_path):
    wf = workflow(tmp_path, "w.cwl", prun("a", "echo > x", "--outputs x"))
    code, _, err = run_cli("check", wf)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w.cwl"]  # no `prun` file was touched
    wf.write_text(wf.read_text().replace("run: prun", "run: prun.cwl"))
    code, _, err = run_cli("check", wf)
    assert code == 1 and "run: no such file 'prun.cwl'" in err and "write `run: prun`" in err


def test_a_sub_workflow_in_another_folder_gets_its_own_stand_ins(tmp_path):
    """parse_workflow_file touches the stand-ins beside each document it parses, sub-workflows too."""
    (tmp_path / "sub").mkdir()
    workflow(tmp_path / "sub", "body.cwl", prun("a", "echo > x", "--outputs x"))
    top = "  s:\n    run: sub/body.cwl\n    in: []\n    out: [outDS]\n"
    code, _, err = run_cli("check", workflow(tmp_path, "top.cwl", top))
    assert code == 0, err


def test_a_field_the_schema_does_not_have(tmp_path):
    wf = workflow(tmp_path, "w.cwl", prun("a", "echo > x", "--outputs x", extra="    colour: blue\n"))
    code, _, err = run_cli("check", wf)
    assert code == 1 and "PanDA's parser (cwl-utils) refuses the field `colour`" in err


def test_files_cwl_utils_reads_are_read_within_the_limits(tmp_path):
    # regression: `$import` of /dev/zero (or of any endless file) was read whole by schema-salad's fetcher,
    # which ran until memory ran out; an alias bomb there went to ruamel.yaml, which has no bounds
    (tmp_path / "zero.txt").symlink_to("/dev/zero")
    (tmp_path / "bomb.yml").write_text('a: &a ["x","x","x","x","x","x","x","x","x"]\n'
                                       + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n"
                                                 for p, c in zip("abcdefg", "bcdefgh", strict=True)))
    big = "zero.txt:1:1: error: the file is larger than 4 MB"
    for name, why in (("zero.txt", big), ("bomb.yml", "an alias bomb?")):
        step = prun("a", "echo > x", "--outputs x").replace(
            '      opt_exec: {default: "echo > x"}', f"      opt_exec:\n        default: {{$import: {name}}}")
        code, _, err = run_cli("check", workflow(tmp_path, "w.cwl", step))
        assert code == 1 and why in err, err


def test_a_workflow_named_through_a_symbolic_link_has_its_stand_ins(tmp_path):
    # regression: cwl-utils names the stand-in by the folder's real path, which was not among the folders
    # touched (`run: prun` was "no such file" for a workflow under a linked folder)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    workflow(tmp_path / "real", "w.cwl", prun("a", "echo > x", "--outputs x"))
    code, _, err = run_cli("check", tmp_path / "link" / "w.cwl")
    assert code == 0, err
