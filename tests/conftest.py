"""Fixtures for tests that need a real PostgreSQL (and the rules for when they may skip).

The server is the one named by CWLPILOT_TEST_POSTGRES (`.ci/services.sh start` provides it, and CI sets it);
otherwise a throw-away cluster is started here from PostgreSQL's binaries (initdb, pg_ctl) when they are
installed. Tests skip only when neither can be had, and never in CI (CI=true): there a missing server fails.
Every test gets a run of its own (`?run=...`, a schema), dropped afterwards.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path
from typing import NoReturn

import pytest

PGBIN_CANDIDATES = [os.environ.get("CWLPILOT_TEST_PGBIN", ""), "/usr/lib/postgresql/15/bin",
                    "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is required in CI: {reason}")
    pytest.skip(f"no PostgreSQL to test with: {reason} (run `bash .ci/services.sh start` and "
                "`. /tmp/cwlpilot-services/env.sh`)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster started for this test session."""

    def __init__(self, pgbin: Path) -> None:
        self.pgbin = pgbin
        self.dir = Path(tempfile.mkdtemp(prefix="cwlpilot-pg-"))
        self.dir.chmod(0o755)
        self.data = self.dir / "data"
        self.port = _free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync")
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"listen_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                       "fsync = off\nsynchronous_commit = off\nmax_connections = 200\n")
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "server.log"), "-w", "start")
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.pgbin / tool), *args], check=True, capture_output=True, timeout=120)

    def stop(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    """(URL of the server, its data directory or None, pg_ctl's folder or None)."""
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        _unavailable(f"psycopg is not installed ({exc})")
    url = os.environ.get("CWLPILOT_TEST_POSTGRES")
    if url:
        data, bin_dir = os.environ.get("CWLPILOT_TEST_PGDATA"), os.environ.get("CWLPILOT_TEST_PGBIN")
        yield url, Path(data) if data else None, Path(bin_dir) if bin_dir else None
        return
    pgbin = next((Path(p) for p in PGBIN_CANDIDATES if p and (Path(p) / "initdb").exists()), None)
    if pgbin is None:
        _unavailable("CWLPILOT_TEST_POSTGRES is not set and PostgreSQL's initdb is not installed")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        _unavailable("running as root without runuser, and initdb refuses root")
    try:
        cluster = Cluster(pgbin)
    except (subprocess.SubprocessError, OSError, KeyError) as exc:
        _unavailable(f"cannot start a throw-away cluster: {exc}")
    yield cluster.url, cluster.data, pgbin
    cluster.stop()


@pytest.fixture
def pg_url(pg_server):
    """The URL of a fresh run on the test server; its schema is dropped after the test."""
    import psycopg

    base, _, _ = pg_server
    name = f"t{uuid.uuid4().hex[:12]}"
    yield f"{base}?run={name}"
    with contextlib.suppress(psycopg.Error), psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "cwlpilot_{name}" CASCADE')


@pytest.fixture
def restart_postgres(pg_server):
    """A function restarting the test server; `mode` is how it stops: fast (clean) or immediate (a crash)."""
    _, data, pgbin = pg_server
    if data is None or pgbin is None:
        _unavailable("the server named by CWLPILOT_TEST_POSTGRES cannot be restarted by the tests "
                     "(set CWLPILOT_TEST_PGDATA and CWLPILOT_TEST_PGBIN)")
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def restart(mode: str = "fast", down: float = 0.0) -> None:
        import time

        subprocess.run([*as_user, str(pgbin / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "stop"], check=True,
                       capture_output=True, timeout=60)
        time.sleep(down)
        subprocess.run([*as_user, str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "restart.log"),
                        "-w", "start"], check=True, capture_output=True, timeout=60)

    return restart
