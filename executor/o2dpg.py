"""What O2DPG's runner gives an O2DPG workflow besides scheduling: its stages' environment, alternative
software environments (alienv), and the done markers O2's taskwrapper writes (O2DPG's runner only reads
them, and so does cwlpilot: every command its generators write is wrapped in the taskwrapper).

Followed: O2DPG `MC/bin/o2dpg_workflow_runner_legacy.py` @ca79d62d — `execute` (JOBUTILS_SKIPDONE,
`speedup_ROOT_Init`, FAIRMQ_IPC_PREFIX), `get_alienv_software_environment`, `submit` (how an alternative
environment is applied), `ok_to_skip` / `get_done_filename` (`<cwd>/<name>.log_done`).
Applies to plans without `schema_version` (O2DPG files); plans compiled by cwlpilot are left alone.
"""

from __future__ import annotations

import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from cwlpilot.executor.errors import PlanError

ALIENV = "/cvmfs/alice.cern.ch/bin/alienv"
_LD_PROBE = ("LD_DEBUG=libs LD_PRELOAD=DOESNOTEXIST ls /tmp/DOESNOTEXIST 2>&1 | grep -m 1 \"system search path\" "
             "| sed 's/.*=//g' | awk '//{print $1}'")
_CXX_PROBE = "LC_ALL=C c++ -xc++ -E -v /dev/null 2>&1 | sed -n '/^#include/,${/^ \\/.*++/{p}}'"


def runner_env(workdir: Path, environ: Mapping[str, str], rootinit_speedup: bool = True) -> dict[str, str]:
    """The variables O2DPG's runner sets in its own environment before starting any stage.

    JOBUTILS_SKIPDONE=ON always (O2's taskwrapper then skips a stage whose done marker exists);
    FAIRMQ_IPC_PREFIX=<workdir>/.tmp unless set (the folder is made); the ROOT/Cling system paths, found by
    the same probes, unless both ROOT variables are set or `rootinit_speedup` is off."""
    env = {"JOBUTILS_SKIPDONE": "ON"}
    if platform.system() == "Linux" and rootinit_speedup and not (
            environ.get("ROOT_LDSYSPATH") is not None and environ.get("ROOT_CPPSYSINCL") is not None):
        libpath = _shell(_LD_PROBE)
        incpath = ":".join(line.lstrip() for line in _shell(_CXX_PROBE).splitlines())
        env.update(ROOT_LDSYSPATH=libpath, CLING_LDSYSPATH=libpath, ROOT_CPPSYSINCL=incpath,
                   CLING_CPPSYSINCL=incpath)
    tmp = workdir / ".tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    if environ.get("FAIRMQ_IPC_PREFIX") is None:
        env["FAIRMQ_IPC_PREFIX"] = str(tmp)
    return env


def _shell(cmd: str) -> str:
    try:
        return subprocess.run(cmd, shell=True, capture_output=True, timeout=30).stdout.decode(errors="replace")
    except (OSError, subprocess.TimeoutExpired):
        return ""


def alienv_environments(packages: Iterable[tuple[str, str]], source: str) -> dict[str, dict[str, str]]:
    """The environment of each distinct `alternative_alienv_package` of the (stage, package) pairs.

    As O2DPG: an existing file is read as the output of `export`; anything else is given to
    `alienv printenv` from CVMFS, and output on its standard error is a failure. Every failure is reported
    at once, naming the stages that need the package."""
    users: dict[str, list[str]] = {}
    for stage, package in packages:
        users.setdefault(package, []).append(stage)
    found: dict[str, dict[str, str]] = {}
    problems = []
    for package, stages in users.items():
        try:
            found[package] = _alienv(package)
        except OSError as exc:
            named = ", ".join(f"'{s}'" for s in stages[:3]) + (" ..." if len(stages) > 3 else "")
            problems.append(f"{source}: stage {named}: alternative_alienv_package '{package}': {exc}")
    if problems:
        raise PlanError(problems)
    return found


def _alienv(package: str) -> dict[str, str]:
    if os.path.isfile(package):
        return _env_file(Path(package))
    if not os.access(ALIENV, os.X_OK):
        raise OSError(f"{ALIENV} is not there (CVMFS not mounted?), so this software environment cannot be "
                      "loaded; give a file holding the environment (`export > env.txt`) instead, or run "
                      "where CVMFS is")
    proc = subprocess.run([f"{ALIENV} printenv {package}"], shell=True, capture_output=True)
    if proc.stderr:
        raise OSError(f"`alienv printenv {package}` said: {proc.stderr.decode(errors='replace').strip()}")
    env: dict[str, str] = {}
    for token in proc.stdout.decode(errors="replace").split(";"):
        if "=" in token:
            parts = token.rstrip().split("=")
            env[parts[0]] = parts[1]  # O2DPG keeps the text up to a second '=' only
        elif "export" in token and len(token.split()) > 1:
            env.setdefault(token.split()[1], "")
    return env


def _env_file(path: Path) -> dict[str, str]:
    """An environment written by `export > env.txt` (O2DPG's `load_env_file`)."""
    env = {}
    for raw in path.read_text(errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("declare -x ")
        if "=" not in line:
            env[line.strip()] = ""
        else:
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip('"')
    return env


def apply_alienv(base: Mapping[bytes, bytes], alternative: Mapping[str, str]) -> dict[bytes, bytes]:
    """O2DPG's `submit`: an alternative environment holding TERM is complete and replaces the stage's
    environment; otherwise its variables are laid over it."""
    encoded = {os.fsencode(k): os.fsencode(v) for k, v in alternative.items()}
    if "TERM" in alternative:
        return encoded
    return {**base, **encoded}


def done_marker(cwd: Path, name: str) -> Path:
    """`<cwd>/<name>.log_done`: O2DPG skips a stage whose marker exists (`ok_to_skip`)."""
    return cwd / f"{name}.log_done"


def remove_markers(workdir: Path, stages: Iterable[tuple[str, str]]) -> list[str]:
    """Delete the done markers of these (name, cwd) stages, as O2DPG's --rerun-from does; names removed."""
    removed = []
    for name, cwd in stages:
        marker = done_marker(workdir / cwd, name)
        try:
            marker.unlink()
            removed.append(name)
        except FileNotFoundError:
            continue
    return removed
