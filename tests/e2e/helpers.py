"""Running the real `cwlpilot` command in a subprocess, and building small plans."""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def env():
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    return e


def cwlpilot(*args, timeout=120, check=None):
    """Run `cwlpilot ARGS`; returns the CompletedProcess (text)."""
    proc = subprocess.run([sys.executable, "-m", "cwlpilot", *map(str, args)], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    if check is not None:
        assert proc.returncode == check, proc.stdout + proc.stderr
    return proc


def start_cwlpilot(*args, log=None):
    """Start `cwlpilot ARGS` in the background, in its own process group."""
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - the child writes it, after we return
    return subprocess.Popen([sys.executable, "-m", "cwlpilot", *map(str, args)], cwd=ROOT, env=env(),
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)


def stage(name, cmd, needs=(), **kw):
    out = {"name": name, "cmd": cmd, "needs": list(needs), "timeframe": kw.pop("timeframe", 1),
           "labels": kw.pop("labels", []), "cwd": kw.pop("cwd", "./"),
           "resources": {"cpu": kw.pop("cpu", 1), "mem": kw.pop("mem", 10), "relative_cpu": None}}
    out.update(kw)
    return out


def write_plan(path, stages, **top):
    path.write_text(json.dumps({"stages": stages, **top}, indent=1))
    return path


def attempts(workdir):
    """[(stage, number, state, failure, mem booked)] from the run's store, in order."""
    db = sqlite3.connect(Path(workdir) / "cwlpilot.db")
    try:
        return db.execute("SELECT stage, number, state, failure, mem, pilot FROM attempts ORDER BY id").fetchall()
    finally:
        db.close()


def states(workdir):
    """{stage: state} from the run's store; {} while the store is not there or not yet set up."""
    path = Path(workdir) / "cwlpilot.db"
    if not path.exists():
        return {}
    db = sqlite3.connect(path)
    try:
        return dict(db.execute("SELECT name, state FROM stages").fetchall())
    except sqlite3.OperationalError:
        return {}
    finally:
        db.close()


def timeline(workdir):
    doc = json.loads((Path(workdir) / "timeline.json").read_text())
    return [e for e in doc["traceEvents"] if e["ph"] == "X"]


def processes_of_run(workdir, stage_name=None):
    """Live processes started by the run in `workdir` (each carries its run id in CWLPILOT_ATTEMPT)."""
    import psutil

    db = sqlite3.connect(Path(workdir) / "cwlpilot.db")
    try:
        (run_id,) = db.execute("SELECT value FROM meta WHERE key = 'run_id'").fetchone()
    finally:
        db.close()
    found = []
    for proc in psutil.process_iter():
        try:
            env = proc.environ()
            if (proc.status() != psutil.STATUS_ZOMBIE and env.get("CWLPILOT_ATTEMPT", "").startswith(run_id + "/")
                    and stage_name in (None, env.get("CWLPILOT_STAGE"))):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def reference_cwltool():
    """The cwltool to compare with (the reference implementation for CWL; not a dependency): `cwltool` on
    PATH, else the venv under ~/.cache/cwltool-venv that bench/bench_compiler.py uses; None without one."""
    import shutil

    venv = Path.home() / ".cache" / "cwltool-venv" / "bin" / "cwltool"
    found = shutil.which("cwltool") or (str(venv) if venv.exists() else None)
    return found


def installed(command):
    """The console script `command` (`cwlpilot`, `cwl-runner`) of this interpreter's environment."""
    script = Path(sys.executable).parent / command
    assert script.exists(), f"{script} is not installed: pip install -e . in this environment"
    return str(script)
