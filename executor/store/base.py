"""The store contract: the durable record of a run that pilots share, and the records it hands out.

Every transition is committed before it takes effect: a stage is claimed (committed) before its process
starts, and its end is committed before its dependents are released. A store implementation (SQLite for one
host, PostgreSQL for pilots on many; what they share is in executor/store/sql.py) provides the methods of
`Store`; the scheduler never sees SQL.

State machine of a stage:  pending -> ready -> running -> done | failed | ready (retry, requeue)
                            pending|ready -> skipped (an upstream stage failed or was skipped)
                            done|failed|skipped -> pending|ready (a new run, --rerun-from, a changed plan)
"""

from __future__ import annotations

import abc
import enum
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol


class State(str, enum.Enum):
    PENDING = "pending"  # waiting for its needs
    READY = "ready"  # may start
    RUNNING = "running"  # claimed by a pilot; an attempt is in progress
    DONE = "done"
    FAILED = "failed"
    SKIPPED = "skipped"


TERMINAL = frozenset({State.DONE, State.FAILED, State.SKIPPED})


class StageRow(NamedTuple):
    """A stage as the store keeps it: its plan JSON plus what scheduling queries need as columns."""

    id: int
    name: str
    spec: str  # the stage's JSON, from which any pilot rebuilds it
    fingerprint: str
    rank: float
    needs: tuple[str, ...]
    cpu: float
    mem: float
    relative_cpu: float | None
    semaphore: str | None
    retry_count: int
    condition: str | None = None


class Additions(NamedTuple):
    """Stages a finished stage adds to the run (e.g. a loop's next iteration), and needs it adds to stages
    that have not started yet: (waiting stage, stage it must now also wait for)."""

    stages: tuple[StageRow, ...]
    needs: tuple[tuple[str, str], ...] = ()


class ReadyStage(NamedTuple):
    id: int
    name: str
    cpu: float
    mem: float
    relative_cpu: float | None
    semaphore: str | None
    mem_factor: float


class ClaimRequest(NamedTuple):
    stage_id: int
    cpu: float  # booked cores
    mem: float  # booked MB
    backfill: bool
    semaphore: str | None = None


class Claim(NamedTuple):
    """A stage this pilot now holds: attempt `number` (1-based, every attempt) of it."""

    attempt_id: int
    stage_id: int
    name: str
    number: int
    counted: int  # earlier attempts that count against retry_count
    cpu: float
    mem: float
    backfill: bool
    mem_factor: float
    time_factor: float
    retry_limit: int | None


class Finish(NamedTuple):
    """The end of an attempt, and what happens to its stage next (decided by the pilot)."""

    attempt_id: int
    stage_id: int
    ok: bool
    retry: bool  # failed but will be attempted again
    end: float
    exit_code: int | None
    failure: str | None  # retry.Failure value
    peak_mem: float | None  # MB
    cpu_time: float | None  # s
    log: str
    rule: str = ""  # what decided a retry or a final failure
    mem_factor: float = 1.0  # for the next attempt
    time_factor: float = 1.0
    retry_limit: int | None = None
    reason: str = ""  # one line for the status table
    expansion: Additions | None = None  # applied before the stage is recorded as done
    charged: bool = True  # a retry that counts against the stage's budget (not when a learned booking failed)


class Attempt(NamedTuple):
    """One attempt, as reports and the timeline need it."""

    stage: str
    number: int
    pilot: int
    host: str
    state: str  # running, done, failed, retried, lost
    start: float
    end: float | None
    exit_code: int | None
    failure: str | None
    cpu: float
    mem: float
    peak_mem: float | None
    cpu_time: float | None
    log: str | None
    backfill: bool
    rule: str


class StageStatus(NamedTuple):
    name: str
    state: State
    attempts: int
    reason: str
    wanted: bool
    handled: bool = False  # a failure that a condition looked for (`failed(X)`) and that was dealt with


class PilotRecord(NamedTuple):
    id: int
    host: str
    pid: int
    pid_started: float
    heartbeat: float
    ended: bool
    batch_job: str = ""  # e.g. the Slurm job (ARRAY_TASK) the pilot runs in


@dataclass(frozen=True)
class Progress:
    counts: dict[State, int]  # wanted stages only
    stop_reason: str | None

    @property
    def active(self) -> int:
        return sum(self.counts.get(s, 0) for s in (State.PENDING, State.READY, State.RUNNING))

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class SyncReport:
    kept: int  # finished stages kept as they are
    rerun: list[str]  # stages that were done but changed (or depend on a change) and run again
    added: int
    removed: int


class Picker(Protocol):
    """A pilot's pure selection among ready stages (in rank order) of those to claim now. `held`: stages
    claimed earlier in the same cycle, not yet known to the pilot, whose bookings count as taken."""

    def __call__(self, ready: list[ReadyStage], held: Sequence[Claim] = ()) -> list[ClaimRequest]: ...


class Store(abc.ABC):
    """A run's durable state. Implementations must make `claim` and `finish` atomic across processes."""

    # -- the run ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def sync_plan(self, rows: Sequence[StageRow], meta: dict[str, str]) -> SyncReport:
        """Load a plan, keeping finished stages whose fingerprint (and upstream) did not change."""

    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_wanted(self, names: Iterable[str] | None) -> None:
        """Restrict the run to these stages (None: all)."""

    @abc.abstractmethod
    def reset_from(self, names: Iterable[str]) -> list[str]:
        """Make these stages and everything downstream of them run again (--rerun-from); stages they added
        at run time are removed (they will be added again). Returns the names reset."""

    @abc.abstractmethod
    def reset_unfinished(self) -> None:
        """Give failed and skipped stages a fresh start (a new invocation of the same run)."""

    @abc.abstractmethod
    def request_stop(self, reason: str) -> None: ...

    @abc.abstractmethod
    def progress(self) -> Progress: ...

    # -- pilots -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def register_pilot(self, host: str, pid: int, pid_started: float, cpu: float, mem: float,
                       batch_job: str = "") -> int: ...

    @abc.abstractmethod
    def heartbeat(self, pilot: int) -> bool:
        """Record that the pilot is alive; False when it was declared dead meanwhile."""

    @abc.abstractmethod
    def end_pilot(self, pilot: int) -> None: ...

    @abc.abstractmethod
    def pilots(self) -> list[PilotRecord]: ...

    @abc.abstractmethod
    def running_attempts(self, pilot: int) -> list[int]:
        """Ids of the attempts this pilot holds (to find their processes before requeueing them)."""

    @abc.abstractmethod
    def requeue_pilot(self, pilot: int, reason: str) -> list[int]:
        """End a pilot: its running attempts become lost and their stages ready again (not counted as
        attempts). Returns the lost attempt ids."""

    # -- scheduling -------------------------------------------------------------------------------
    @abc.abstractmethod
    def ready(self, limit: int) -> list[ReadyStage]:
        """Ready, wanted stages in rank order, at most `limit`, none whose semaphore is held."""

    @abc.abstractmethod
    def claim(self, pilot: int, requests: Sequence[ClaimRequest], now: float) -> list[Claim]:
        """Atomically move ready stages to running for this pilot; those taken meanwhile are left out."""

    @abc.abstractmethod
    def finish(self, pilot: int, results: Sequence[Finish]) -> list[bool]:
        """Record ended attempts and release or skip dependents. False for an attempt this pilot no longer
        holds (it was requeued as lost): its result is discarded, so nothing counts twice."""

    @abc.abstractmethod
    def cycle(self, pilot: int, results: Sequence[Finish], pick: Picker, limit: int,
              now: float) -> tuple[list[bool], list[Claim]]:
        """One round trip of a pilot's loop, atomically: `finish(results)`, then up to `limit` ready
        stages are offered to `pick` (a pure selection) and what it picks is claimed."""

    def idle_wait(self, poll: float, longest: float) -> None:
        """Wait while this pilot has nothing to do and other pilots hold the remaining stages. A store that
        can tell when stages become ready (PostgreSQL's LISTEN/NOTIFY) waits up to `longest` for that;
        others look again after `poll` seconds."""
        time.sleep(max(0.0, min(poll, longest)))

    @abc.abstractmethod
    def failure_may_be_handled(self, name: str) -> bool:
        """Whether a condition looks at this stage's failure (or at a skip it causes): then its failure does
        not stop the run."""

    @abc.abstractmethod
    def stage_specs(self, ids: Iterable[int]) -> dict[int, str]: ...

    # -- reports ----------------------------------------------------------------------------------
    @abc.abstractmethod
    def attempts(self) -> list[Attempt]: ...

    @abc.abstractmethod
    def statuses(self) -> list[StageStatus]: ...

    @abc.abstractmethod
    def close(self) -> None: ...
