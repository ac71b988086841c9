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


# What O2's taskwrapper (jobutils2.sh) does with a done marker, in a few lines: with JOBUTILS_SKIPDONE set
# it skips a command whose `<name>.log_done` exists, and it writes one when the command succeeds.
TASKWRAPPER = """taskwrapper() {
  local done=${1}_done
  if [ "$JOBUTILS_SKIPDONE" ] && [ -f "$done" ]; then echo "Skipping task since file $done found"; return 0; fi
  rm -f "$done"; eval "$2" > "$1" 2>&1 && echo "Command \\"$2\\" successfully finished." > "$done"
}
"""


def test_o2dpg_environment_and_done_markers_both_ways(tmp_path):
    """A stage with O2DPG's `<name>.log_done` counts as done and is not started; the markers the taskwrapper
    writes under cwlpilot make O2DPG's runner skip those stages; --rerun-from deletes the markers it reruns."""
    (tmp_path / "jobutils.sh").write_text(TASKWRAPPER)
    env_dump = 'env | grep -E "^(JOBUTILS_SKIPDONE|FAIRMQ_IPC_PREFIX)=" | sort > env.txt'
    wrap = f". {tmp_path}/jobutils.sh; taskwrapper"
    stages = [stage("a", f"{wrap} a.log 'echo a >> ../ledger; {env_dump}'", cwd="tf1", timeframe=1),
              stage("b", f"{wrap} b.log 'echo b >> ../ledger'", ["a"], cwd="tf1", timeframe=1),
              stage("c", f"{wrap} c.log 'echo c >> ../ledger'", ["b"], cwd="tf1", timeframe=1)]
    plan = write_plan(tmp_path / "p.json", stages)
    work = tmp_path / "w"
    (work / "tf1").mkdir(parents=True)
    (work / "tf1" / "b.log_done").write_text("from O2DPG's runner\n")  # b finished under O2DPG
    proc = cwlpilot("run", plan, "--workdir", work, check=0)
    assert "stage 'b': done already (its done marker exists); not run" in proc.stderr
    assert (work / "ledger").read_text() == "a\nc\n"
    assert (work / "tf1" / "b.log_done").read_text() == "from O2DPG's runner\n"
    assert (work / "tf1" / "a.log_done").read_text().startswith('Command "echo a >> ../ledger;')
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


def test_o2dpgs_options_are_accepted_under_their_own_spellings(tmp_path):
    """Regression: -f/--workflowfile, --maxjobs, --dynamic-resources (anchorMC.sh passes it) ... exited 2."""
    plan = write_plan(tmp_path / "p.json", [stage("a", "true")])
    (tmp_path / "metrics.json").write_text('{"a": {"pss": {"max": 5}}}')
    proc = cwlpilot("run", "-f", plan, "--maxjobs", 2, "--dynamic-resources", "--no-rootinit-speedup",
                    "--webhook", "http://example.invalid", "--checkpoint-on-failure", "/alice/x",
                    "--update-resources", tmp_path / "metrics.json", "--workdir", tmp_path / "w", check=0)
    assert "note: --webhook: not called" in proc.stderr and "note: --checkpoint-on-failure" in proc.stderr
    assert "1 stages: 1 done" in proc.stdout
    missing = cwlpilot("run", plan, "--update-resources", tmp_path / "none.json", "--workdir", tmp_path / "x")
    assert missing.returncode == 1 and "none.json: cannot read it (No such file or directory)" in missing.stderr
    again = cwlpilot("run", "--workflowfile", plan, "-jmax", 1, "--workdir", tmp_path / "w", check=0)
    assert "1 stages: 1 done" in again.stdout


def test_action_and_metric_logs_in_o2dpgs_format(tmp_path):
    busy = "python3 -c 'import time; t = time.time(); exec(\"while time.time() - t < 1.3: pass\")'"
    plan = write_plan(tmp_path / "p.json", [stage("busy_1", busy, labels=["T"]), stage("after", "true", ["busy_1"])],
                      meta={"run": 300000})
    cwlpilot("run", plan, "--workdir", tmp_path / "w", "--action-logfile", tmp_path / "action.log",
             "--metric-logfile", tmp_path / "metric.log", "--sample-interval", 0.2, check=0)
    action = (tmp_path / "action.log").read_text()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}"
    assert re.search(rf"^{stamp} DEBUG Submitting task busy_1 with nice value 0$", action, re.M)
    # the line O2DPG's UTILS/FileIOGraph/analyse_FileIO.py parses
    assert re.search(r".*INFO Task (\d+).*:(\w+) finished with status 0", action)
    metric = (tmp_path / "metric.log").read_text().splitlines()
    head = eval(metric[0].split(" INFO ", 1)[1])  # noqa: S307 - O2DPG writes Python reprs
    assert head["run"] == 300000 and head["cpu_limit"] > 0
    rows = [eval(line.split(" INFO ", 1)[1]) for line in metric[1:]]  # noqa: S307
    assert rows and set(rows[0]) == {"iter", "name", "cpu", "uss", "pss", "nice", "swap", "label", "disc"}
    assert rows[0]["cpu"] == 0.0 and max(r["cpu"] for r in rows) > 10 and rows[-1]["label"] == ["T"]


def test_remove_files_early_deletes_what_no_stage_needs_any_more(tmp_path):
    report = {"file_report": [
        {"file": "./tf1/hits.root", "written_by": ["sim_1"], "read_by": ["digi_1"]},
        {"file": "./tf1/digits.root", "written_by": ["digi_1"], "read_by": ["reco_1"]},
        {"file": "./tf1/aod.root", "written_by": ["reco_1"], "read_by": []},
        {"file": "./global.root", "written_by": ["sim_1"], "read_by": []}]}
    (tmp_path / "report.json").write_text(json.dumps(report))
    stages = []
    for tf in (1, 2):
        stages += [stage(f"sim_{tf}", "touch hits.root ../global.root", cwd=f"tf{tf}", timeframe=tf),
                   stage(f"digi_{tf}", "test -f hits.root && touch digits.root", [f"sim_{tf}"], cwd=f"tf{tf}",
                         timeframe=tf),
                   stage(f"reco_{tf}", "test -f digits.root && touch aod.root", [f"digi_{tf}"], cwd=f"tf{tf}",
                         timeframe=tf)]
    work = tmp_path / "w"
    cwlpilot("run", write_plan(tmp_path / "p.json", stages), "--workdir", work, "--remove-files-early",
             tmp_path / "report.json", "-tt", "reco", check=0)
    for tf in (1, 2):  # each timeframe's files, as O2DPG expands the report over the timeframes
        assert not (work / f"tf{tf}" / "hits.root").exists() and not (work / f"tf{tf}" / "digits.root").exists()
        assert (work / f"tf{tf}" / "aod.root").exists()  # written by a target: kept
    assert (work / "global.root").exists()  # files outside ./tfN/ are never removed


def test_production_mode_archives_each_finished_stages_logs(tmp_path):
    import tarfile

    (tmp_path / "jobutils.sh").write_text(TASKWRAPPER)
    work = tmp_path / "w"
    plan = write_plan(tmp_path / "p.json", [stage("a", f". {tmp_path}/jobutils.sh; taskwrapper a.log 'echo hi'"),
                                            stage("b", "echo b", ["a"])])
    cwlpilot("run", plan, "--workdir", work, "--production-mode", check=0)
    with tarfile.open(work / "pipeline_log_archive.log.tar") as tar:
        assert set(tar.getnames()) == {"./a.log", "./a.log_done", "./b.log"}
    assert not (work / "a.log").exists() and not (work / "a.log_done").exists()
    assert "2 stages: 2 done" in cwlpilot("run", plan, "--workdir", work, check=0).stdout  # the store remembers


def test_visualize_workflow_and_cgroup(tmp_path):
    tasks = tmp_path / "tasks"
    tasks.write_text("")
    plan = write_plan(tmp_path / "p.json", [stage("a", "true"), stage("b", "true", ["a"])])
    proc = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--visualize-workflow", "--cgroup", tasks, check=0)
    assert '"a" -> "b";' in (tmp_path / "w" / "workflow.gv").read_text()
    assert tasks.read_text().strip().isdigit() and "2 stages: 2 done" in proc.stdout
    bad = cwlpilot("run", plan, "--workdir", tmp_path / "w", "--cgroup", tmp_path / "no" / "tasks", check=1)
    assert "--cgroup" in bad.stderr and "could not join the cgroup" in bad.stderr
