"""O2DPG's run-side files, for tools written against them: the action and metric logs, early removal of
files no stage needs any more, and the production-mode log archive.

Followed: O2DPG `MC/bin/o2dpg_workflow_runner_legacy.py` @ca79d62d — the loggers set up at module level
(`%(asctime)s %(levelname)s %(message)s`, default names `pipeline_action_<pid>.log` and
`pipeline_metric_<pid>.log`), `monitor` (one metric line per running stage and pass: the `repr` of a dict
with iter, name, cpu in %, uss and pss in MB, nice, swap, label, disc), the action log's "Task <pid>
<tid>:<name> finished with status <rc>" (parsed by O2DPG's UTILS/FileIOGraph/analyse_FileIO.py),
`filegraph_expand_timeframes` and `perform_early_file_removal` (--remove-files-early), and
`production_endoftask_hook` (--production-mode). Each is an observer the pilot calls in its loop.
Where O2DPG has a bug (its --metric-logfile is ignored, and with --action-logfile both logs overwrite one
file), cwlpilot writes each log where it is asked to.
"""

from __future__ import annotations

import copy
import json
import os
import re
import tarfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TextIO

from cwlpilot.executor.errors import UsageError
from cwlpilot.executor.monitor import Sample
from cwlpilot.executor.plan import Stage
from cwlpilot.executor.store.base import Finish


class Observer(Protocol):
    """What the pilot tells the run's observers, from its loop (keep them cheap)."""

    def stage_started(self, stage: Stage, attempt: int, pid: int, backfill: bool) -> None: ...
    def stage_sampled(self, stage: Stage, sample: Sample, cpu_percent: float, nice: int) -> None: ...
    def stage_ended(self, stage: Stage, finish: Finish, pid: int | None) -> None: ...
    def close(self) -> None: ...


def _stamp() -> str:
    """logging's default asctime: `2026-12-01 21:05:14,023`."""
    now = time.time()
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now)) + f",{int(now * 1000) % 1000:03d}"


class _Log:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO = open(path, "w", encoding="utf-8")  # noqa: SIM115 - open for the whole run

    def line(self, level: str, message: str) -> None:
        self._fh.write(f"{_stamp()} {level} {message}\n")

    def close(self) -> None:
        self._fh.close()


class ActionLog:
    """O2DPG's action log: what the runner decided, one line each."""

    def __init__(self, path: Path, stages: Sequence[Stage]) -> None:
        self.log = _Log(path)
        self.ids = {s.name: s.index for s in stages}

    def stage_started(self, stage: Stage, attempt: int, pid: int, backfill: bool) -> None:
        self.log.line("DEBUG", f"Submitting task {stage.name} with nice value {19 if backfill else 0}")

    def stage_sampled(self, stage: Stage, sample: Sample, cpu_percent: float, nice: int) -> None:
        return None

    def stage_ended(self, stage: Stage, finish: Finish, pid: int | None) -> None:
        tid = self.ids.get(stage.name, stage.index)
        if pid is None:
            self.log.line("INFO", f"Skipping task {stage.name}")
            return
        self.log.line("INFO", f"Task {pid} {tid}:{stage.name} finished with status {finish.exit_code}")
        if finish.retry:
            self.log.line("INFO", f"Task {tid} failed but marked to be retried ")

    def close(self) -> None:
        self.log.close()


class MetricLog:
    """O2DPG's metric log: the run's settings first, then a line per running stage and sample."""

    def __init__(self, path: Path, meta: Mapping[str, Any]) -> None:
        self.log = _Log(path)
        self.log.line("INFO", repr(dict(meta)))
        self.iteration = 0
        self._last = -1.0

    def stage_started(self, stage: Stage, attempt: int, pid: int, backfill: bool) -> None:
        return None

    def stage_sampled(self, stage: Stage, sample: Sample, cpu_percent: float, nice: int) -> None:
        now = time.monotonic()
        if now - self._last > 0.05:  # the stages sampled in one pass share its number, as in O2DPG
            self.iteration += 1
        self._last = now
        self.log.line("INFO", repr({"iter": self.iteration, "name": stage.name, "cpu": round(cpu_percent, 1),
                                    "uss": sample.uss_mb, "pss": sample.mem_mb, "nice": nice,
                                    "swap": sample.swap_mb * 2**20, "label": list(stage.labels), "disc": -1}))

    def stage_ended(self, stage: Stage, finish: Finish, pid: int | None) -> None:
        return None

    def close(self) -> None:
        self.log.close()


class EarlyRemoval:
    """--remove-files-early FILE: delete a timeframe's files as soon as no stage will read or write them.

    FILE is a report of O2DPG's UTILS/FileIOGraph/analyse_FileIO.py: {"file_report": [{"file": "./tf1/x",
    "written_by": [...], "read_by": [...]}]}. As O2DPG: only files under ./tfN/ are considered, the
    report is copied for every timeframe of the run, files written by a selected target are kept, and a
    stage that ends (not one skipped as done) is struck from the lists of its timeframe (every timeframe
    for a global stage)."""

    def __init__(self, report: Path, workdir: Path, stages: Sequence[Stage], targets: Iterable[str]) -> None:
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
            entries = [e for e in data.get("file_report", []) if re.match(r"^\./tf\d+/", e["file"])]
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise UsageError(f"--remove-files-early {report}: not a file report of O2DPG's analyse_FileIO.py "
                             f"({exc})") from None
        self.workdir = workdir
        self.timeframes = sorted({s.timeframe for s in stages if s.timeframe != -1})
        keep = set(targets)
        self.files: dict[int, list[dict[str, Any]]] = {}
        for tf in self.timeframes:
            copies = copy.deepcopy(entries)
            for entry in copies:
                entry["file"] = re.sub(r"^\./tf\d+/", f"./tf{tf}/", entry["file"])
                entry["written_by"] = [re.sub(r"_\d+$", f"_{tf}", w) for w in entry.get("written_by", [])]
                entry["read_by"] = [re.sub(r"_\d+$", f"_{tf}", r) for r in entry.get("read_by", [])]
                entry["keep"] = any(w in keep for w in entry["written_by"])
            self.files[tf] = copies
        self.removed: list[str] = []

    def stage_started(self, stage: Stage, attempt: int, pid: int, backfill: bool) -> None:
        return None

    def stage_sampled(self, stage: Stage, sample: Sample, cpu_percent: float, nice: int) -> None:
        return None

    def stage_ended(self, stage: Stage, finish: Finish, pid: int | None) -> None:
        if pid is None:
            return
        for tf in self.timeframes if stage.timeframe == -1 else [stage.timeframe]:
            for entry in self.files.get(tf, []):
                for key in ("read_by", "written_by"):
                    if stage.name in entry[key]:
                        entry[key].remove(stage.name)
                if not entry["read_by"] and not entry["written_by"] and not entry["keep"]:
                    path = self.workdir / entry["file"]
                    if path.is_file():
                        path.unlink()
                        self.removed.append(entry["file"])

    def close(self) -> None:
        return None


class ProductionArchive:
    """--production-mode: each stage's log, done marker and time file go into pipeline_log_archive.log.tar
    when it ends, and are deleted (cwlpilot's store still knows what is done, so a resume works)."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.archive = workdir / "pipeline_log_archive.log.tar"

    def stage_started(self, stage: Stage, attempt: int, pid: int, backfill: bool) -> None:
        return None

    def stage_sampled(self, stage: Stage, sample: Sample, cpu_percent: float, nice: int) -> None:
        return None

    def stage_ended(self, stage: Stage, finish: Finish, pid: int | None) -> None:
        if pid is None or finish.retry:
            return
        base = os.path.join(stage.cwd, stage.name + ".log")
        with tarfile.open(self.archive, mode="a") as tar:
            for suffix in ("", "_done", "_time"):
                path = self.workdir / (base + suffix)
                if path.is_file():  # O2DPG crashes on a missing one; cwlpilot archives what is there
                    tar.add(path, arcname=base + suffix)
                    path.unlink()

    def close(self) -> None:
        return None
