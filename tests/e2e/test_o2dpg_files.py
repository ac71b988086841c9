"""Workflow files written by O2DPG's own generators run unchanged, selected and shown as O2DPG's runner does.

The reference outputs in tests/data/o2dpg are what O2DPG's legacy runner (MC/bin/o2dpg_workflow_runner_legacy.py
@ca79d62d) printed for the same files (see the README there)."""

import json
import os
import re
from pathlib import Path

import pytest

from .helpers import attempts, cwlpilot, stage, timeline, write_plan

DATA = Path(__file__).resolve().parents[1] / "data" / "o2dpg"


def listed(path, *args, workdir):
    proc = cwlpilot("run", path, "--list-tasks", "--workdir", workdir, *args, check=0)
    return proc.stdout


@pytest.mark.parametrize("name", ["pp_3tf", "analysis_test_split"])
def test_list_tasks_prints_what_o2dpg_prints(tmp_path, name):
    ours = listed(DATA / f"workflow_{name}.json", workdir=tmp_path)
    assert ours == (DATA / f"{name}.list-tasks.txt").read_text()


def _reference(tag):
    lines = (DATA / f"{tag}.txt").read_text().splitlines()
    cmd = lines[0].removeprefix("# cmd: o2dpg_workflow_runner_legacy.py -f ").split()
    return cmd, {m.group(1) for m in (re.match(r"\s*\d+ : would do (\S+)", line) for line in lines[1:]) if m}


@pytest.mark.parametrize("tag", ["pp_3tf.dryrun", "pp_3tf.dryrun_tt_quoted_aodmerge", "pp_3tf.dryrun_tt_tpcreco_2",
                                 "pp_3tf.dryrun_labels_RECO_tt_3", "analysis_test_split.dryrun"])
def test_dry_run_selects_what_o2dpg_selects(tmp_path, tag):
    """Regression: -tt X --target-labels L was a union; quoted patterns (anchorMC.sh) matched nothing."""
    cmd, expected = _reference(tag)
    args = [a.strip("'") if a.startswith("'.*") else a for a in cmd[1:]]  # the shell had removed those quotes
    if "aodmerge" in tag:
        args = ["--dry-run", "-tt", "'aodmerge.*'"]  # as anchorMC.sh passes it: the quotes are in the value
    proc = cwlpilot("run", DATA / cmd[0], *args, "--workdir", tmp_path / "w", check=0)
    ours = set(re.findall(r"^would run (\S+?):", proc.stdout, re.M))
    assert ours == expected and len(ours) > 0
    assert not (tmp_path / "w").exists()


def test_a_generator_bug_refuses_only_what_needs_the_missing_stages(tmp_path):
    """Regression: a file with dangling needs was refused whole, whatever the selection."""
    path = DATA / "workflow_pp_qc_2tf.json"
    whole = cwlpilot("run", path, "--dry-run", "-tt", ".*", "--workdir", tmp_path, check=1)
    assert "stage 'mftDigitsQC_finalize': needs 10 unknown stages: 'mftDigitsQC0_local1' (did you mean " \
           "'mftDigitsQC0_local_1'?)" in whole.stderr
    aod = cwlpilot("run", path, "--dry-run", "-tt", "'aodmerge.*'", "--workdir", tmp_path, check=0)
    assert "warning:" in aod.stderr and "(not selected to run: ignored)" in aod.stderr
    assert len(re.findall(r"^would run ", aod.stdout, re.M)) == 74  # aodmerge and what it needs


def test_no_matching_target_ends_as_o2dpg_ends(tmp_path):
    proc = cwlpilot("run", DATA / "workflow_pp_3tf.json", "-tt", "nomatch", "--workdir", tmp_path, check=0)
    assert proc.stdout == "Apparently some of the chosen target tasks are not in the workflow\n"


def test_alternative_software_without_cvmfs_is_a_clear_error(tmp_path):
    proc = cwlpilot("run", DATA / "workflow_pp_altreco_2tf.json", "--list-tasks", "--workdir", tmp_path, check=1)
    assert "alternative_alienv_package 'O2PDPSuite::daily-20260101-0000-1': /cvmfs/alice.cern.ch/bin/alienv is " \
           "not there" in proc.stderr
    assert "Traceback" not in proc.stderr


def _runnable(path, out, **edits):
    """The generator's file with every command replaced (the real ones need O2), all else unchanged."""
    doc = json.loads(path.read_text())
    for s in doc["stages"]:
        s["cmd"] = edits.get(s["name"], "true") if s["name"] != "__global_init_task__" else "NO-COMMAND"
    out.write_text(json.dumps(doc, indent=2))
    return out


@pytest.mark.slow
def test_a_generated_workflow_runs_with_o2dpgs_bookings(tmp_path):
    """Strings as numbers (`"mem": "4000"`), cpu booked as written (sgnsim: 7 of the default 8 cores, not
    relative_cpu x the limit), the whole file run to the end."""
    plan = _runnable(DATA / "workflow_pp_3tf.json", tmp_path / "wf.json")
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--mem-limit", 64000, check=0, timeout=300)
    assert "113 stages: 113 done" in proc.stdout
    booked = {e["name"]: e["args"]["cpu_booked"] for e in timeline(tmp_path / "w")}
    doc = json.loads(plan.read_text())
    sgnsim = next(s for s in doc["stages"] if s["name"] == "sgnsim_1")
    assert booked["sgnsim_1"] == float(sgnsim["resources"]["cpu"]) == 7.0


def test_o2dpg_environment_and_done_markers_both_ways(tmp_path):
    """A stage with O2DPG's `<name>.log_done` counts as done; one cwlpilot finishes gets the marker, so
    O2DPG's runner (and O2's taskwrapper) skip it; --rerun-from deletes the markers it reruns."""
    env_dump = "env | grep -E '^(JOBUTILS_SKIPDONE|FAIRMQ_IPC_PREFIX)=' | sort > env.txt"
    stages = [stage("a", f"echo a >> ../ledger; {env_dump}", cwd="tf1", timeframe=1),
              stage("b", "echo b >> ../ledger", ["a"], cwd="tf1", timeframe=1),
              stage("c", "echo c >> ../ledger", ["b"], cwd="tf1", timeframe=1)]
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    (work / "tf1").mkdir(parents=True)
    (work / "tf1" / "b.log_done").write_text("from O2DPG's runner\n")  # b finished under O2DPG
    cwlpilot("run", plan, "--workdir", work, check=0)
    assert (work / "ledger").read_text() == "a\nc\n"
    assert (work / "tf1" / "b.log_done").read_text() == "from O2DPG's runner\n"
    assert (work / "tf1" / "a.log_done").read_text().startswith('Command "echo a >> ../ledger;')
    assert "#walltime" in (work / "tf1" / "c.log_time").read_text()
    env = dict(line.split("=", 1) for line in (work / "tf1" / "env.txt").read_text().splitlines())
    assert env == {"FAIRMQ_IPC_PREFIX": str(work.resolve() / ".tmp"), "JOBUTILS_SKIPDONE": "ON"}
    listing = cwlpilot("run", plan, "--list-tasks", "--workdir", work, check=0).stdout
    assert "a  ([]) ToDo: False" in listing
    dry = cwlpilot("run", plan, "--dry-run", "--rerun-from", "b", "--workdir", work, check=0).stdout
    assert re.findall(r"^would run (\S+):", dry, re.M) == ["b", "c"]  # regression: it showed 0 to run
    cwlpilot("run", plan, "--rerun-from", "b", "--workdir", work, check=0)
    assert (work / "ledger").read_text() == "a\nc\nb\nc\n"


def test_each_attempt_keeps_its_log_and_the_failure_shown_is_the_last(tmp_path):
    flaky = "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; echo attempt $((n+1)) failing; exit 3"
    plan = write_plan(tmp_path / "p.json", [stage("flaky", flaky, retry_count=1)])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--stdout-on-failure", check=1)
    log = tmp_path / "w" / "flaky.log"
    assert f" ----> START OF LOGFILE  {log}  -----\nattempt 2 failing\n <---- END OF LOGFILE  {log}  -----" \
           in proc.stdout
    assert (tmp_path / "w" / "flaky.1.log").read_text() == "attempt 1 failing\n"
    assert [a[2] for a in attempts(tmp_path / "w")] == ["retried", "failed"]


def test_retry_budget_is_the_larger_of_retry_count_and_retry_on_failure(tmp_path):
    flaky = "n=$(cat n 2>/dev/null || echo 0); echo $((n+1)) > n; [ $n -ge 2 ]"
    plan = write_plan(tmp_path / "p.json", [stage("flaky", flaky, retry_count=1)])
    cwlpilot("run", plan, "--workdir", tmp_path / "w", "--retry-on-failure", 3, check=0)
    assert [a[2] for a in attempts(tmp_path / "w")] == ["retried", "retried", "done"]


def test_an_alternative_environment_from_a_file(tmp_path):
    envfile = tmp_path / "env.txt"
    envfile.write_text('declare -x ALT_SOFTWARE="v2"\ndeclare -x EMPTY\n')
    stages = [stage("alt", "echo ${ALT_SOFTWARE}-${JOBUTILS_SKIPDONE} > out", alternative_alienv_package=str(envfile)),
              stage("plain", "echo ${ALT_SOFTWARE:-none} > out2", alternative_alienv_package="None")]
    work = tmp_path / "w"
    cwlpilot("run", write_plan(tmp_path / "p.json", stages), "--workdir", work, check=0)
    assert (work / "out").read_text() == "v2-ON\n" and (work / "out2").read_text() == "none\n"
    assert os.environ.get("ALT_SOFTWARE") is None
