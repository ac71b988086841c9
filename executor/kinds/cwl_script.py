"""The shell side of a `cwl_tool` stage: the runtime object its instances see, and the one bash script that
runs them all, with what its exit code means (successCodes, temporaryFailCodes, permanentFailCodes)."""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cwlpilot.executor.outcome import ExitCodes
from cwlpilot.executor.plan import Stage
from cwlpilot.semantics.cwl.expr import Evaluator


def runtime(
    data: Mapping[str, Any], stage: Stage, job: Mapping[str, Any], outdir: Path, tmpdir: Path, ev: Evaluator
) -> dict[str, Any]:
    wanted = data.get("resources") or {}
    context = {"inputs": job, "self": None, "runtime": {}}
    cores = ev(wanted.get("coresMin", wanted.get("coresMax")), context)
    ram = ev(wanted.get("ramMin", wanted.get("ramMax")), context)
    return {
        "outdir": str(outdir),
        "tmpdir": str(tmpdir),
        "cores": _ceil(cores) if cores is not None else max(1, _ceil(stage.cpu)),
        "ram": _ceil(ram) if ram is not None else _ceil(stage.mem if stage.mem > 0 else 256),
        "outdirSize": _ceil(ev(wanted.get("outdirMin"), context) or 1024),
        "tmpdirSize": _ceil(ev(wanted.get("tmpdirMin"), context) or 1024),
    }


def _ceil(value: Any) -> int:
    return int(math.ceil(float(value)))


def script(plans: list[dict[str, Any]], codes: Mapping[str, Any], meta: Path) -> str:
    """One bash script running every instance in its output directory. It exits 0 when every instance
    ended with a success code (successCodes, and 0 unless a fail code list names it), otherwise with the
    first failing instance's code; a failing 0 becomes `_zero_failure(codes)`, see `script_codes`.

    Each instance's exit code is kept in `<meta>/exit-<n>` for `runtime.exitCode` in outputEval."""
    failing = {*(codes.get("temporaryFail") or ()), *(codes.get("permanentFail") or ())}
    ok = " ".join(str(c) for c in sorted({*(codes.get("success") or ()), *({0} - failing)}))
    zero = _zero_failure(codes)
    lines = ["set -u"]
    for n, p in enumerate(plans):
        if not p["runs"]:
            continue
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in sorted(p["env"].items()))
        lines.append(f"( cd {shlex.quote(p['outdir'])} && export {exports} && {p['cmd']} )")
        lines.append(f"rc=$?; echo $rc > {shlex.quote(str(meta / f'exit-{n}'))}")
        lines.append(f'case " {ok} " in *" $rc "*) ;; *) if [ $rc -eq 0 ]; then exit {zero}; fi; exit $rc ;; esac')
    lines.append("exit 0")
    return "\n".join(lines) + "\n"


def _zero_failure(codes: Mapping[str, Any]) -> int:
    """The code the script exits with when a tool's 0 is one of its fail codes: 0 means success to the
    executor, so another code no list uses stands for it."""
    used = {*(codes.get("success") or ()), *(codes.get("temporaryFail") or ()), *(codes.get("permanentFail") or ())}
    return next(c for c in range(125, 1, -1) if c not in used)


def script_codes(codes: Mapping[str, Any]) -> ExitCodes:
    """What the script's exit code means: 0 is success (it mapped the success codes), the fail codes say
    what may be retried, with a failing 0 under its stand-in."""
    zero = _zero_failure(codes)

    def shifted(key: str) -> frozenset[int]:
        return frozenset(zero if c == 0 else c for c in codes.get(key) or ())

    return ExitCodes(success=frozenset({0}), temporary_fail=shifted("temporaryFail"),
                     permanent_fail=shifted("permanentFail"))
