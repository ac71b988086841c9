"""Scale-out benchmark: aggregate throughput of `true` stages on SQLite and PostgreSQL with 1, 2 and 4 pilots,
and the PostgreSQL store's claim+end rate alone, against the fork floor measured in the same run.

1. Floor: a loop spawning N `sh -c true`, one at a time per "pilot" slot (os.posix_spawn, no bookkeeping),
   with as many slots as pilots: stages per second the machine allows at that parallelism.
2. Pilots: `cwlpilot run PLAN --store URL -j 1` plus K-1 `cwlpilot pilot --store URL -j 1` draining N stages of
   `true`; throughput = N / (last end - first start) read from the store (start-up excluded, the same for
   every store), median of the rounds.
3. Store alone: one connection, cycles as the pilot makes them (record the B stages that ended, claim B
   more; B = 1, 2, 8, 16: a pilot running B stages at once ends and claims up to B per cycle), stages per
   second through claim and end.

PostgreSQL clusters are started here from PostgreSQL's binaries (throw-away, on the disk: --pgdir): "durable"
with the server's defaults (fsync on, synchronous_commit on: every commit waits for the disk), and "fsync off"
(the settings of the test cluster, never for production). Workdirs are on a tmpfs (--dir). Run as root,
initdb runs as the postgres user.

    python bench/bench_scaleout.py                    # N = 2,000, 3 rounds
    python bench/bench_scaleout.py --n 5000 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
PGBIN = Path(os.environ.get("CWLPILOT_TEST_PGBIN", "/usr/lib/postgresql/15/bin"))
FLOOR = """
import os, sys
n, slots, running, started = int(sys.argv[1]), int(sys.argv[2]), 0, 0
while started < n or running:
    while running < slots and started < n:
        os.posix_spawn('/bin/sh', ['sh', '-c', 'true'], os.environ)
        running, started = running + 1, started + 1
    os.wait()
    running -= 1
"""


class Cluster:
    def __init__(self, base: Path, durable: bool) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pg-", dir=base))
        self.dir.chmod(0o755)
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self._pg("initdb", "-D", str(self.dir / "data"), "-U", "postgres", "-A", "trust", "-E", "UTF8")
        extra = "" if durable else "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
        with open(self.dir / "data" / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{self.dir}'\n"
                       f"max_connections = 50\n{extra}")
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "start")
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"

    def _pg(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(PGBIN / tool), *args], check=True, capture_output=True)

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def floor(n: int, slots: int) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", FLOOR, str(n), str(slots)], check=True)
    return n / (time.perf_counter() - t0)


def true_plan(n: int, path: Path) -> None:
    stages = [{"name": f"t{i}", "cmd": "true", "needs": [], "timeframe": 1, "labels": [], "cwd": "./",
               "resources": {"cpu": 1, "mem": 10, "relative_cpu": None}} for i in range(n)]
    path.write_text(json.dumps({"stages": stages}))


def span(url: str, workdir: Path) -> float:
    """Seconds from the first start to the last end of the run's attempts."""
    sql = 'SELECT min(start), max("end"), count(*) FROM attempts'
    if url.startswith("sqlite"):
        db = sqlite3.connect(workdir / "cwlpilot.db")
        first, last, _ = db.execute(sql).fetchone()
        db.close()
    else:
        import psycopg

        from cwlpilot.executor.store.pg_connection import split_url

        conninfo, schema = split_url(url)
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'SET search_path TO "{schema}"')
            row = conn.execute(sql).fetchone()
            assert row is not None  # an aggregate: one row
            first, last, _ = row
    return float(last - first)


def pilots_run(n: int, pilots: int, url: str, workdir: Path, plan: Path) -> float:
    common = ["-j", "1", "--cpu-limit", "1", "--mem-limit", "1000"]
    runner = subprocess.Popen([sys.executable, "-m", "cwlpilot", "run", str(plan), "--workdir", str(workdir),
                               "--store", url, "--progress", "quiet", *common], cwd=ROOT, env=ENV,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    helpers = [subprocess.Popen([sys.executable, "-m", "cwlpilot", "pilot", "--store", url, "--progress", "quiet",
                                 *common], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
               for _ in range(pilots - 1)]
    for proc in [runner, *helpers]:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            sys.exit(f"a pilot failed: {err.decode()}")
    return n / span(url, workdir)


def store_alone(url: str, n: int, batch: int) -> float:
    sys.path.insert(0, str(ROOT))
    from cwlpilot.executor.store import open_store
    from cwlpilot.executor.store.base import ClaimRequest, Finish, StageRow

    store = open_store(url)
    store.sync_plan([StageRow(i, f"t{i}", "{}", "f", float(i), (), 1, 10, None, None, 0) for i in range(n)],
                    {"run_id": "bench"})
    pilot = store.register_pilot("bench", os.getpid(), 0.0, batch, 1000)

    def pick(ready, held=()):  # `batch` slots
        return [ClaimRequest(r.id, 1, 10, False) for r in ready[:batch - len(held)]]

    held: list = []
    done = 0
    t0 = time.perf_counter()
    while True:
        ends = [Finish(c.attempt_id, c.stage_id, True, False, time.time(), 0, None, None, 0.0, "") for c in held]
        _, held = store.cycle(pilot, ends, pick, batch + 4, time.time())
        done += len(ends)
        if not held:
            break
    rate = done / (time.perf_counter() - t0)
    store.close()
    return rate


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=2000, help="stages per run (default 2000)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--dir", type=Path, default=Path("/dev/shm"), help="where workdirs go (tmpfs by default)")
    p.add_argument("--pgdir", type=Path, default=Path("/var/tmp"), help="where the clusters go: on a disk, so that "
                   "the durable one pays for its fsyncs (default /var/tmp)")
    a = p.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="bench-scaleout-", dir=a.dir))
    scratch.chmod(0o755)
    clusters = {"durable": Cluster(a.pgdir, durable=True), "fsync off": Cluster(a.pgdir, durable=False)}
    results: dict[str, object] = {"n": a.n, "cores": os.cpu_count()}
    try:
        plan = scratch / "plan.json"
        true_plan(a.n, plan)
        table = []
        stores = {"sqlite": None, **{f"postgresql, {k}": c for k, c in clusters.items()}}
        for pilots in (1, 2, 4):
            rates: dict[str, list[float]] = {"floor": [], **{label: [] for label in stores}}
            for r in range(a.rounds):  # alternating, so that the machine's neighbours weigh on all alike
                rates["floor"].append(floor(a.n, pilots))
                for label, cluster in stores.items():
                    work = scratch / f"w-{pilots}-{label.replace(' ', '').replace(',', '-')}-{r}"
                    url = f"sqlite:///{work}/cwlpilot.db" if cluster is None else f"{cluster.url}?run=b{pilots}_{r}"
                    rates[label].append(pilots_run(a.n, pilots, url, work, plan))
                    shutil.rmtree(work, ignore_errors=True)
            row = {label: statistics.median(values) for label, values in rates.items()}
            table.append((pilots, row))
            print(f"{pilots} pilot(s): " + ", ".join(f"{k} {v:,.0f}/s" for k, v in row.items()), flush=True)
        results["pilots"] = {str(k): v for k, v in table}
        alone = {}
        for batch in (1, 2, 8, 16):
            rates = {label: [] for label in ("sqlite", *clusters)}
            for r in range(a.rounds):
                rates["sqlite"].append(store_alone(f"sqlite:///{scratch}/alone-{batch}-{r}.db", 5000, batch))
                for label, cluster in clusters.items():
                    rates[label].append(store_alone(f"{cluster.url}?run=alone{batch}_{r}", 5000, batch))
            for label, values in rates.items():
                name = label if label == "sqlite" else f"postgresql, {label}"
                alone[f"{name}, batch {batch}"] = statistics.median(values)
                print(f"store alone, {name}, batch {batch}: {alone[f'{name}, batch {batch}']:,.0f} claim+end/s",
                      flush=True)
        results["store_alone"] = alone
        one = dict(table)[1]
        for label in clusters:
            ratio = one["sqlite"] / one[f"postgresql, {label}"]
            print(f"one pilot: SQLite / PostgreSQL ({label}) = {ratio:.2f}x (goal <= 1.5x)")
        print(json.dumps(results, indent=1))
    finally:
        for cluster in clusters.values():
            cluster.stop()
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
