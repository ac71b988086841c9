"""Running a compiled plan for `cwl-runner`: the run's folder, the pilot, the outputs into --outdir.

The folder is `--workdir DIR` (kept), a folder of `--cachedir DIR` (kept, and found again by the same run),
or a temporary one made as cwltool's `create_tmp_dir` makes its folders (under --tmp-outdir-prefix, else
--tmpdir-prefix, else $TMPDIR/cwlpilot-), removed when the run ends, whether it succeeded or not, unless
--leave-tmpdir (or --leave-outputs / --copy-outputs, which keep the files where the steps wrote them).

--cachedir: cwltool keeps each step's outputs under a hash of its command line and input files and reuses
them when the same step runs again. Here the unit is the run: its folder under DIR is named by a hash of
the compiled plan (the document, the job, every command) and of the size and modification time of every
File and Directory in the job, so the same run again finds its store there and reruns nothing (or only
what failed); a changed input file or job is a new folder. Runs of one folder take turns (a lock file).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from cwlpilot.cwlexec import clobber_problem, collect, failure_tails, marked, run_compiled, store_url

EXIT_FAILED, EXIT_USAGE = 1, 2
CARRY_ON = "--on-error continue"


def run(plan: dict[str, Any], job: dict[str, Any], base: str, args: argparse.Namespace, prog: str, out: TextIO,
        err: TextIO) -> int:
    """Run the compiled `plan` of the document on `job` (its relative paths relative to `base`) in the run's
    folder, then print its output object."""
    plan = marked(plan, args.workflow)
    if args.cachedir:
        folder = Path(args.cachedir).resolve() / _cache_key(plan, job, base)
        with _locked(folder):
            if not args.quiet:  # cwltool's INFO lines: "Using cached output in" / "Output ... will be cached in"
                said = "using the cached run in" if (folder / "cwlpilot.db").exists() else "the run is cached in"
                err.write(f"{prog}: {said} {folder}\n")
            return _run_in(plan, folder, args, prog, out, err)
    if args.workdir:
        folder = Path(args.workdir).resolve()
        problem = clobber_problem(folder)
        if problem:
            err.write(f"{prog}: --workdir {args.workdir}: {problem}\n")
            return EXIT_USAGE
        return _run_in(plan, folder, args, prog, out, err)
    keep = args.leave_tmpdir or args.outputs != "move"
    base, name = split_prefix(args.tmp_outdir_prefix or args.tmpdir_prefix or
                              os.path.join(tempfile.gettempdir(), "cwlpilot-"))
    folder = Path(tempfile.mkdtemp(prefix=name, dir=base)).resolve()
    try:
        return _run_in(plan, folder, args, prog, out, err, temporary=not keep)
    finally:
        if keep:
            err.write(f"{prog}: the run's folder is kept: {folder}\n")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def split_prefix(prefix: str) -> tuple[str, str]:
    """(folder, name prefix) of a cwltool path prefix: `/scratch/cwl-` or `/scratch/` (cwltool's
    `create_tmp_dir` splits it so, after making it absolute with its trailing `/` kept)."""
    return os.path.split(os.path.abspath(prefix) + ("/" if prefix.endswith("/") else ""))


def _run_in(plan: dict[str, Any], workdir: Path, args: argparse.Namespace, prog: str, out: TextIO, err: TextIO,
            temporary: bool = False) -> int:
    """Run `plan` in `workdir`, collect the output object, deliver its files, print it; on failure say which
    steps failed with the end of their logs."""
    from cwlpilot.semantics.cwl.outdir import deliver
    from cwlpilot.semantics.cwl.values import PickValueError

    table = io.StringIO() if args.quiet else err  # the final table, as cwltool's INFO lines, not under --quiet
    code = run_compiled(plan, _config(args, workdir), table, err)
    try:
        result = collect(plan, workdir, lenient=code != 0)
    except (PickValueError, OSError, ValueError) as exc:
        err.write(f"{prog}: the workflow's outputs cannot be collected: {exc}\n")
        return EXIT_FAILED
    if args.outputs != "leave":
        result = deliver(result, Path(args.outdir).resolve())
    print_object(result, args, out)
    if code != 0:
        if not args.debug:  # --debug printed each failed step's whole log already
            err.writelines(f"{line}\n" for line in failure_tails(workdir))
        where = "--leave-tmpdir keeps its plan and logs" if temporary else f"plan and logs in {workdir}"
        err.write(f"{prog}: the run failed ({where})\n")
    return code


def _config(args: argparse.Namespace, workdir: Path) -> Any:
    """The run's settings: bookings larger than the limits are clamped, as cwltool runs a tool asking for more
    cores than the machine has; --on-error continue carries on past failed steps."""
    from cwlpilot.cwlexec import PLAN_FILE
    from cwlpilot.executor.config import RunConfig
    from cwlpilot.executor.monitor import cpu_count
    from cwlpilot.run_cmd import _pilot_config

    jobs = args.max_jobs or (args.parallel_max or cpu_count() if args.parallel_max is not None else 100)
    limits = argparse.Namespace(cpu_limit=args.cpu_limit, mem_limit=args.mem_limit, max_jobs=jobs, n_backfill=1,
                                backfill_factor=1.5, optimistic_resources=True, mem_overuse_factor=None,
                                mem_metric="pss", heartbeat_timeout=60.0, heartbeat_interval=5.0,
                                sample_interval=0.5, stdout_on_failure=args.debug)
    pilot = _pilot_config(limits, keep_going=args.on_error == "continue")
    return RunConfig(plan=workdir / PLAN_FILE, workdir=workdir, store_url=store_url(workdir), pilot=pilot,
                     progress="quiet" if args.quiet else "lines", carry_on_hint=CARRY_ON)


def _cache_key(plan: dict[str, Any], job: dict[str, Any], base: str) -> str:
    """The name of the run's folder under --cachedir: the plan's JSON and each input File's and Directory's
    path, size and modification time (cwltool's cache key has the size and time of each input file too)."""
    from cwlpilot.check_cmd import plan_json

    digest = hashlib.sha256(plan_json(plan).encode())
    for path in sorted(_input_paths(job, base)):
        try:
            stat = os.stat(path)
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
        except OSError:
            digest.update(f"{path}\0missing\n".encode())
    return digest.hexdigest()[:32]


def _input_paths(job: Any, base: str) -> set[str]:
    from cwlpilot.semantics.cwl import files

    found: set[str] = set()

    def note(obj: dict[str, Any]) -> dict[str, Any]:
        path = files.path_of(obj, base)
        if path is not None and "://" not in str(obj.get("location", "file://")).replace("file://", ""):
            found.add(path)
        return obj

    files.walk(job, note)
    return found


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold the lock of a --cachedir folder: runs of the same folder take turns."""
    import fcntl

    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f"{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


FIRST_KEYS = ("location", "basename", "class", "checksum", "size")  # a File's keys in cwltool's order


def cwltool_shaped(result: Any) -> Any:
    """The output object as cwltool prints it (`main.loc_to_path`): no `nameroot`, `nameext`, `dirname`, and
    `path` from `location`, last; the other keys in the order cwltool's output collection gives them."""
    from cwlpilot.semantics.cwl import files

    def shape(obj: dict[str, Any]) -> dict[str, Any]:
        path = files.path_of(obj) if str(obj.get("location", "")).startswith("file:") else None
        kept = {k: obj[k] for k in FIRST_KEYS if k in obj}
        kept.update((k, v) for k, v in obj.items() if k not in ("path", "nameroot", "nameext", "dirname"))
        return {**kept, "path": path} if path is not None else kept

    return files.walk(result, shape)


def print_object(result: Any, args: argparse.Namespace, out: TextIO) -> None:
    """The output object on stdout (or into --write-summary), as cwltool's `json_dump(..., indent=4)`."""
    text = json.dumps(cwltool_shaped(result), indent=4, ensure_ascii=False)
    if args.write_summary:
        Path(args.write_summary).write_text(text, encoding="utf-8")
    else:
        out.write(text)
        out.flush()
