"""executor.slurm: the pilots' sbatch script, the job a pilot runs in, and refusing SQLite on shared storage."""

from pathlib import Path

import pytest

from cwlpilot.executor.errors import UsageError
from cwlpilot.executor.slurm import PilotJob, batch_job, filesystem_of, render_script, sqlite_refusal

MOUNTS = """/dev/vda / ext4 rw,relatime 0 0
tmpfs /dev/shm tmpfs rw 0 0
fs1:/export/home /home nfs4 rw,vers=4.2 0 0
10.0.0.1@tcp:/scratch /lus/scratch lustre rw 0 0
/dev/sdb1 /home/local\\040disk ext4 rw 0 0
"""


def test_one_array_of_pilots_each_booking_its_allocation():
    job = PilotJob(store_url="postgresql://me@db:5432/runs?run=p1", workdir=Path("/lus/scratch/run 1"), pilots=4,
                   cpus=8, mem_mb=16000, time="2:00:00", partition="batch", sbatch_args=("--account=proj",),
                   pilot_args=("-j", "8"), python="/opt/venv/bin/python")
    script = render_script(job)
    lines = script.splitlines()
    assert lines[0] == "#!/bin/bash"
    for expected in ("#SBATCH --array=0-3", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=16000M",
                     "#SBATCH --time=2:00:00", "#SBATCH --partition=batch", "#SBATCH --account=proj",
                     "#SBATCH --output=/lus/scratch/run 1/pilots/pilot-%A_%a.log", "cd '/lus/scratch/run 1'"):
        assert expected in lines
    # a task requeued after preemption starts a new pilot with the same log: it must not truncate the first's
    assert "#SBATCH --open-mode=append" in lines
    assert lines[-1] == ("exec /opt/venv/bin/python -m cwlpilot pilot --store "
                         "'postgresql://me@db:5432/runs?run=p1' --cpu-limit 8 --mem-limit 16000 --progress lines -j 8")
    with pytest.raises(UsageError, match="must be positive"):
        render_script(job.__class__(**{**job.__dict__, "pilots": 0}))


def test_pilots_are_told_to_drain_before_their_time_limit():
    job = PilotJob(store_url="postgresql://db/runs", workdir=Path("/scratch/r"), pilots=2, cpus=4, mem_mb=8000,
                   time="1:00:00", drain_before=600)
    lines = render_script(job).splitlines()
    assert "#SBATCH --signal=B:USR1@600" in lines  # to the batch shell, which execs the pilot
    assert not any("--signal" in line for line in render_script(job.__class__(**{**job.__dict__,
                                                                                  "drain_before": None})).splitlines())


def test_the_job_a_pilot_runs_in():
    assert batch_job({}) == ""
    assert batch_job({"SLURM_JOB_ID": "12"}) == "12"
    assert batch_job({"SLURM_JOB_ID": "13", "SLURM_ARRAY_JOB_ID": "12", "SLURM_ARRAY_TASK_ID": "1",
                      "SLURMD_NODENAME": "n2"}) == "12_1@n2"


def test_the_file_system_of_a_path_is_its_longest_mount_point():
    assert filesystem_of(Path("/home/me/run.db"), MOUNTS) == "nfs4"
    assert filesystem_of(Path("/home/local disk/run.db"), MOUNTS) == "ext4"
    assert filesystem_of(Path("/homework/x"), MOUNTS) == "ext4"  # /home is not a prefix of /homework
    assert filesystem_of(Path("/lus/scratch/a/b"), MOUNTS) == "lustre"


def test_an_sqlite_store_on_a_shared_file_system_is_refused_with_the_reason(tmp_path):
    refusal = sqlite_refusal(Path("/lus/scratch/run/cwlpilot.db"), MOUNTS)
    assert refusal is not None and "shared file system (lustre)" in refusal
    assert "SQLite's locking is not reliable there" in refusal and "postgresql://" in refusal
    assert sqlite_refusal(Path("/home/me/cwlpilot.db"), MOUNTS) is not None
    assert sqlite_refusal(Path("/var/tmp/cwlpilot.db"), MOUNTS) is None
    with open("/proc/mounts") as fh:  # this machine's own table: the test's temporary folder
        assert sqlite_refusal(tmp_path / "cwlpilot.db", fh.read()) is None
