"""Run and pilot settings as frozen records, built by the CLI so nothing else reads argparse."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cwlpilot.executor.booking import Limits


@dataclass(frozen=True)
class PilotConfig:
    limits: Limits
    keep_going: bool = False
    retry_on_failure: int = 0  # retry_count for stages that do not set one (O2DPG's --retry-on-failure)
    mem_metric: str = "pss"  # pss or rss
    mem_overuse_factor: float | None = None  # kill a stage using more than factor x its booking
    sample_interval: float = 0.5  # s between psutil samples of running stages
    heartbeat_interval: float = 5.0  # s
    heartbeat_timeout: float = 60.0  # s without heartbeat before a pilot's stages are requeued
    poll_interval: float = 0.25  # s between looks at the store when waiting for other pilots' work
    kill_grace: float = 5.0  # s between SIGTERM and SIGKILL for a timed-out stage
    stdout_on_failure: bool = False
    keep_stage_daemons: bool = False  # leave alone what an ended stage left running
    dynamic_resources: bool = False  # O2DPG's: rebook a family's stages from its ended members
    scouts: int = 0  # book a family's stages from its first `scouts` ended members (0: off)


@dataclass(frozen=True)
class RunConfig:
    plan: Path
    workdir: Path
    store_url: str
    pilot: PilotConfig
    target_tasks: tuple[str, ...] = ()
    target_labels: tuple[str, ...] = ()
    rerun_from: str | None = None
    retry_rules_file: Path | None = None
    dry_run: bool = False
    list_tasks: bool = False
    produce_script: Path | None = None
    progress: str = "auto"  # auto, bar, lines, quiet
    cpu_limit_given: bool = True  # False: --cpu-limit was not given (O2DPG files then get O2DPG's default)
    rootinit_speedup: bool = True  # O2DPG: set the ROOT/Cling system paths for stages (--no-rootinit-speedup)
    action_logfile: Path | None = None  # O2DPG's action log
    metric_logfile: Path | None = None  # O2DPG's metric log
    remove_files_early: Path | None = None  # O2DPG's FileIOGraph report: delete files no stage needs
    production_mode: bool = False  # archive each ended stage's logs (O2DPG's --production-mode)
    visualize: bool = False  # write workflow.gv (O2DPG's --visualize-workflow)
    cgroup: str | None = None  # a cgroup's tasks file to join first (O2DPG's --cgroup)
    update_resources: Path | None = None  # O2DPG's json-stat metrics file: bookings from it
    plan_text: str | None = None  # the plan's JSON when it is not in the file `plan` (a dry run writes nothing)
    carry_on_hint: str = "--keep-going"  # the option that carries on past failures, named when a run stops
