"""Pilots on Slurm: one job array of N pilots (never one job per stage), its sbatch script, and its state.

The way PanDA provisions pilots on worker nodes: the batch system gives each pilot an allocation (cores,
memory, a time limit); the pilot books exactly that and pulls stages from the run's store until the run has
nothing left for it. What Slurm does to a job ends its pilot cleanly: scancel, preemption and the time limit
send SIGTERM (then SIGKILL after KillWait), the pilot stops its stages and gives them back to the store, not
counted as attempts; a task requeued after preemption runs the script again, a new pilot that goes on with
the run, its output appended to the same log; a node lost without notice stops heartbeating and its stages
are requeued by the other pilots after the heartbeat timeout.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cwlpilot.executor.errors import UsageError

SCRIPT_NAME = "cwlpilot-pilots.sbatch"
# File systems shared between nodes, on which SQLite's locking is not reliable (SQLite's own advice).
SHARED_FS = frozenset({"nfs", "nfs4", "lustre", "gpfs", "cifs", "smb3", "smbfs", "beegfs", "ceph", "cephfs",
                       "glusterfs", "fuse.glusterfs", "fuse.sshfs", "fuse.cephfs", "afs", "9p", "virtiofs", "panfs",
                       "fuse.gpfs", "wekafs", "orangefs", "pvfs2"})


@dataclass(frozen=True)
class PilotJob:
    """What `cwlpilot submit --slurm` asks Slurm for: `pilots` array tasks, each a pilot of its own."""

    store_url: str
    workdir: Path
    pilots: int
    cpus: int
    mem_mb: int
    time: str | None = None
    drain_before: int | None = None  # s before the time limit: the pilots' drain signal (executor.pilot)
    partition: str | None = None
    sbatch_args: tuple[str, ...] = ()
    job_name: str = "cwlpilot"
    pilot_args: tuple[str, ...] = ()  # more `cwlpilot pilot` options (heartbeat, memory metric, ...)
    python: str = "python3"


def batch_job(env: dict[str, str] | None = None) -> str:
    """The Slurm job this process runs in, `ARRAYJOB_TASK@NODE` for an array task (`JOB@NODE` otherwise);
    "" outside Slurm."""
    env = dict(os.environ) if env is None else env
    array, task = env.get("SLURM_ARRAY_JOB_ID"), env.get("SLURM_ARRAY_TASK_ID")
    job = f"{array}_{task}" if array and task else env.get("SLURM_JOB_ID", "")
    node = env.get("SLURMD_NODENAME")
    return f"{job}@{node}" if job and node else job


def render_script(job: PilotJob) -> str:
    """The sbatch script of a pilot array, to be kept in the workdir and read by people."""
    if job.pilots < 1 or job.cpus < 1 or job.mem_mb < 1:
        raise UsageError("--pilots, --cpus-per-pilot and --mem-per-pilot must be positive")
    logs = job.workdir / "pilots"
    lines = ["#!/bin/bash",
             f"# Written by `cwlpilot submit`: {job.pilots} pilot(s) for the run in {job.workdir}.",
             "# Each array task is one pilot; it books the cores and memory of its allocation and pulls stages",
             "# from the store until the run has nothing left for it. Submit again with: sbatch THIS_FILE",
             f"#SBATCH --job-name={job.job_name}",
             f"#SBATCH --array=0-{job.pilots - 1}",
             "#SBATCH --ntasks=1",
             f"#SBATCH --cpus-per-task={job.cpus}",
             f"#SBATCH --mem={job.mem_mb}M",
             f"#SBATCH --output={logs}/pilot-%A_%a.log",
             # a task requeued (preemption, a node failure) starts its pilot again with the same log: append,
             # or the new pilot truncates what the first one wrote (sbatch's default, JobFileAppend=0)
             "#SBATCH --open-mode=append"]
    if job.time:
        lines.append(f"#SBATCH --time={job.time}")
    if job.drain_before:  # B: the batch shell only, which is the pilot (exec below), not its stages
        lines += [f"# {job.drain_before} s before the time limit, SIGUSR1: the pilot claims no more stages and leaves",
                  "# once its running ones ended",
                  f"#SBATCH --signal=B:USR1@{job.drain_before}"]
    if job.partition:
        lines.append(f"#SBATCH --partition={job.partition}")
    lines += [f"#SBATCH {arg}" for arg in job.sbatch_args]
    command = [job.python, "-m", "cwlpilot", "pilot", "--store", job.store_url, "--cpu-limit", str(job.cpus),
               "--mem-limit", str(job.mem_mb), "--progress", "lines", *job.pilot_args]
    lines += ["", f"cd {shlex.quote(str(job.workdir))}",
              "# exec: the pilot itself receives Slurm's signals (scancel, preemption, time limit)",
              "exec " + " ".join(shlex.quote(word) for word in command), ""]
    return "\n".join(lines)


def write_script(job: PilotJob) -> Path:
    (job.workdir / "pilots").mkdir(parents=True, exist_ok=True)
    path = job.workdir / SCRIPT_NAME
    path.write_text(render_script(job), encoding="utf-8")
    path.chmod(0o755)
    return path


def submit(script: Path, extra: Sequence[str] = ()) -> str:
    """sbatch the script; returns the job id."""
    try:
        proc = subprocess.run(["sbatch", "--parsable", *extra, str(script)], capture_output=True, text=True,
                              timeout=120, stdin=subprocess.DEVNULL)
    except FileNotFoundError:
        raise UsageError("sbatch is not installed here (submit --slurm needs Slurm's client commands)") from None
    except subprocess.TimeoutExpired:
        raise UsageError(f"sbatch {script}: no answer from Slurm within 120 s") from None
    if proc.returncode != 0:
        raise UsageError(f"sbatch {script} failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout.strip().split(";")[0]


def active_tasks(job_id: str) -> int | None:
    """How many of the job's array tasks are pending or running; None when Slurm cannot be asked."""
    try:
        proc = subprocess.run(["squeue", "-h", "-r", "-j", job_id, "-o", "%T"], capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if proc.returncode != 0:
        # squeue says "Invalid job id" once the job has left its memory (MinJobAge): nothing is active
        return 0 if "Invalid job id" in proc.stderr else None
    states = proc.stdout.split()
    return sum(1 for s in states if s not in ("COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "PREEMPTED",
                                               "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE"))


def filesystem_of(path: Path, mounts: str) -> str:
    """The type of the file system holding `path`, from the text of /proc/mounts (longest mount point)."""
    best, kind = "", ""
    target = str(path)
    for line in mounts.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (target == point or target.startswith(point.rstrip("/") + "/")) and len(point) >= len(best):
            best, kind = point, fields[2]
    return kind


def sqlite_refusal(db_path: Path, mounts: str) -> str | None:
    """Why pilots on other nodes must not share this SQLite file (an absolute path, symbolic links resolved),
    or None when it is on a local disk."""
    kind = filesystem_of(db_path, mounts)
    if kind in SHARED_FS or kind.startswith("nfs"):
        return (f"{db_path} is on a shared file system ({kind}): SQLite's locking is not reliable there, so "
                "pilots on several nodes could run a stage twice or corrupt the store; use a PostgreSQL store "
                "(--store postgresql://user@host:port/database)")
    return None
