"""The pilot: pulls ready stages from the store, books them, launches, monitors and reports them.

Guarantees (each backed by a test):
1. A stage is claimed in the store (committed) before its process starts; its end is committed before
   any dependent may start. Claims are atomic, so with several pilots each attempt runs exactly once.
2. Booked CPU, memory and running stages stay within the pilot's limits (see executor.booking for the
   documented backfill bound); stages sharing a semaphore never overlap, across pilots too.
3. A stage starts only after every stage it needs is done; a stage whose need failed is skipped.
4. Attempts counted against a stage never exceed its retry budget + 1; attempts lost with a dead pilot
   are not counted and the stage runs again.
5. Nothing a stage starts outlives it, and no stage outlives its pilot (executor.containment): at a stage's
   end whatever it left running is ended, and if the pilot dies, its guard process ends its stages.
6. Only the loop mutates the pilot's state. It runs in a thread of its own while the main thread waits and
   runs signal handlers (see `executor.loopthread` for why); nothing runs alongside it.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from cwlpilot.executor import launch, watchover
from cwlpilot.executor.booking import Choice, Request, Usage, booking, select
from cwlpilot.executor.config import PilotConfig
from cwlpilot.executor.containment import Containment
from cwlpilot.executor.errors import StoreError
from cwlpilot.executor.kinds import KindError, StageContext, additions, registry
from cwlpilot.executor.learning import Learned, Learner, Measured
from cwlpilot.executor.loopthread import in_fresh_thread
from cwlpilot.executor.monitor import process_identity
from cwlpilot.executor.o2dpglogs import Observer
from cwlpilot.executor.outcome import Ended, conclude, may_be_the_stops_doing, verdict
from cwlpilot.executor.plan import Stage, stage_from_spec
from cwlpilot.executor.retry import Failure, parse_rules
from cwlpilot.executor.slurm import batch_job
from cwlpilot.executor.stageenv import StageEnv
from cwlpilot.executor.stagelogs import keep_log, tail
from cwlpilot.executor.store.base import Additions, Claim, ClaimRequest, Finish, ReadyStage, Store
from cwlpilot.executor.takeover import MARKER, requeue_dead_pilots
from cwlpilot.executor.watchover import EndedStage, Running

STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
DRAIN_SIGNAL = signal.SIGUSR1  # finish the running stages, claim no more (Slurm: sbatch --signal=B:USR1@N)
# How long the record of a stage that died of a SIGTERM the pilot did not send waits for the pilot's own stop
# signal. A batch system ending a job (scancel, preemption, the time limit) signals its processes one by one:
# a stage may die, and its end reach the pilot, before the pilot's own SIGTERM is sent (seen with Slurm's
# PreemptMode=CANCEL). Should the stop come meanwhile, the stage goes back with the pilot's others.
STOP_HOLD = 2.0


class Reporter(Protocol):
    def started(self, name: str, attempt: int, backfill: bool) -> None: ...
    def ended(self, name: str, finish: Finish, seconds: float) -> None: ...
    def note(self, message: str) -> None: ...


class Pilot:
    def __init__(self, store: Store, config: PilotConfig, reporter: Reporter,
                 stages: Mapping[int, Stage] | None = None, observers: Sequence[Observer] = ()) -> None:
        self.store, self.cfg, self.reporter = store, config, reporter
        self.observers = tuple(observers)
        self.workdir = Path(store.get_meta("workdir") or ".").resolve()
        self.run_id = store.get_meta("run_id") or "run"
        self.rules = parse_rules(json.loads(store.get_meta("retry_rules") or "[]"))
        keep_going = store.get_meta("keep_going")
        if keep_going is not None:  # the run's setting holds for every pilot that joins it
            self.cfg = config = replace(config, keep_going=keep_going == "1")
        self.o2dpg = store.get_meta("o2dpg") == "1"
        if self.o2dpg:  # O2DPG books memory over the limit as the limit (`limit_resources`)
            self.cfg = config = replace(config, limits=replace(config.limits, clamp_memory=True))
        self.env = StageEnv.of_run(store, self.run_id)
        learning = json.loads(store.get_meta("learning") or "{}")  # the run's, for every pilot that joins it
        self.learner = Learner(dynamic=learning.get("dynamic", config.dynamic_resources),
                               scouts=int(learning.get("scouts", config.scouts)))
        self.learned: dict[int, Learned] = {}  # stage id -> the learned booking of the last pick
        self.declared_only: set[str] = set()  # stages a learned booking failed: they book what they declare
        self.made_dirs: set[str] = set()
        self.dirs: dict[str, tuple[Path, str]] = {}
        self.stages: dict[int, Stage] = dict(stages or {})
        self.kinds = registry()
        self.running: dict[int, Running] = {}
        self.deadlines = 0  # running stages with a timeout: only then are kill times looked at
        self.watch: launch.ChildWatch | None = None
        self.stop_reason: str | None = None
        self.interrupted = False
        self.draining = False  # DRAIN_SIGNAL came: no more claims; the pilot leaves once its stages ended
        self.drain_noted = False
        self.held: list[tuple[float, EndedStage]] = []  # (monotonic time to record it, a stage SIGTERM ended)
        self.host = socket.gethostname()
        self.id = 0
        self.containment: Containment | None = None

    # -- the loop ---------------------------------------------------------------------------------
    def run(self) -> str | None:
        """Work until the run has nothing left for this pilot. Returns why it stopped early, if it did."""
        self.id = self.store.register_pilot(self.host, os.getpid(), process_identity(os.getpid()) or 0.0,
                                            self.cfg.limits.cpu, self.cfg.limits.mem, batch_job=batch_job())
        token = f"{self.run_id}/{self.id}/{os.getpid()}"
        self.env.token = token.encode()
        self.containment = Containment(token, MARKER, f"{self.run_id}/", self.cfg.keep_stage_daemons,
                                       adopts=threading.current_thread() is threading.main_thread())
        self.containment.start()
        # Everything alive now (the plan, the modules) lives as long as the run: keep it out of the garbage
        # collector's full passes, which otherwise walk all of it again and again while stages start.
        gc.freeze()
        self.watch = launch.ChildWatch()
        previous = {}
        if self.watch.enabled:  # signal handlers can only be set in the main thread
            previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
            previous[DRAIN_SIGNAL] = signal.signal(DRAIN_SIGNAL, self._on_drain)
        try:
            if self.watch.enabled:
                in_fresh_thread(self._loop, stop=lambda: self._on_signal(signal.SIGTERM, None))
            else:  # not the main thread (a pilot inside a test or a library): no signals to arrange
                self._loop()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._shutdown()
        if self.interrupted:
            return "interrupted"
        return self.stop_reason or ("drained" if self.draining else None)

    def _on_signal(self, signum: int, frame: object) -> None:
        self.interrupted = True
        if self.watch is not None:
            self.watch.poke()  # the loop may have looked at `interrupted` just before this handler ran

    def _on_drain(self, signum: int, frame: object) -> None:
        self.draining = True
        if self.watch is not None:
            self.watch.poke()

    def _loop(self) -> None:
        self._work()
        # Stages that ended before the stop are recorded with their real outcome, not as lost (those the stop
        # itself may have ended go back with the pilot's others: `_round`).
        ended = [e for _, e in self.held] + self._reap(stopping=self.interrupted)
        self.held = []
        if ended:
            self._round(ended, claim=False)

    def _work(self) -> None:
        cfg = self.cfg
        assert self.containment is not None
        now = time.monotonic()
        next_sample, next_beat = now + cfg.sample_interval, now + cfg.heartbeat_interval
        unrecorded: list[EndedStage] = []  # stages that could not even start, recorded in the next round
        while not self.interrupted:
            now = time.monotonic()
            ended, unrecorded = unrecorded + self._hold(self._reap(), now), []
            if now >= next_beat:
                next_beat = now + cfg.heartbeat_interval
                if not self._beat():
                    return
            if now >= next_sample:
                next_sample = now + cfg.sample_interval
                if self.running:
                    watchover.sample(self.running, self.cfg, self.reporter.note, self.observers)
                self.containment.resweep = True  # adopted daemons of running stages, zombies to reap
            if self.containment.resweep:
                self.containment.sweep()
            if self.deadlines:
                watchover.enforce_deadlines(self.running, now, self.cfg, self.reporter.note)
            claims = self._round(ended)
            self._fetch([c.stage_id for c in claims])  # a pilot that did not load the plan: its claims' stages
            for claim in claims:
                failed = self._launch(claim)
                if failed is not None:
                    unrecorded.append(failed)
            self.containment.flush()
            if self.running or self.held:
                deadline = min(next_sample, next_beat, now + cfg.poll_interval, *(t for t, _ in self.held))
                if self.deadlines:
                    deadline = min([deadline, *watchover.kill_times(self.running)])
                self._wait(deadline - time.monotonic())
            elif not claims and not unrecorded:
                progress = self.store.progress()
                self.stop_reason = self.stop_reason or progress.stop_reason
                if progress.active == 0 or self.stop_reason is not None or self.draining:
                    return
                # other pilots hold the remaining stages: wait until the store says some may be ready
                self.store.idle_wait(cfg.poll_interval, max(0.0, next_beat - time.monotonic()))

    def _hold(self, ended: list[EndedStage], now: float) -> list[EndedStage]:
        """`ended` less the stages a SIGTERM the pilot did not send ended (held for STOP_HOLD seconds), plus
        those held long enough."""
        fresh = []
        for e in ended:
            if e.ended.killed_for is None and e.ended.exit_code in (-signal.SIGTERM, 128 + signal.SIGTERM):
                self.held.append((now + STOP_HOLD, e))
            else:
                fresh.append(e)
        if self.held:  # most rounds hold nothing
            fresh += [e for t, e in self.held if t <= now]
            self.held = [(t, e) for t, e in self.held if t > now]
        return fresh

    def _round(self, ended: list[EndedStage], claim: bool = True) -> list[Claim]:
        """Record what ended and claim what may start, in one store transaction."""
        if self._wait(0.0) - STOP_SIGNALS and self.watch is not None:  # a stop signal with these ends? ...
            self.watch.poke()  # ... a stage's end instead: the loop's next wait must not sleep through it
        if self.interrupted:  # stages the signal that stops the pilot may have ended go back with it, not counted
            ended = [e for e in ended if not may_be_the_stops_doing(e.ended)]
            claim = False
        finishes = [self._conclude(e) for e in ended]
        for e, finish in zip(ended, finishes, strict=True):
            if not finish.ok and not finish.retry and not self.cfg.keep_going and self.stop_reason is None \
                    and not self.store.failure_may_be_handled(e.claim.name):
                self.stop_reason = f"stage '{e.claim.name}' failed ({finish.reason})"
        if self.learner.active:  # before this round's pick, which may book from what they used
            for e, finish in zip(ended, finishes, strict=True):
                if finish.ok and e.pid is not None:
                    self._learn(e, finish)
        if self.draining and claim and not self.drain_noted:
            self.drain_noted = True
            self.reporter.note(f"draining (signal {DRAIN_SIGNAL.name}): no more stages are claimed; this pilot "
                               f"leaves once its {len(self.running) + len(ended)} running stage(s) ended")
        # nothing new while a stage SIGTERM ended is held: the pilot may be being stopped
        free = 0 if self.stop_reason is not None or self.draining or self.held or not claim \
            else self.cfg.limits.max_jobs - len(self.running)
        if not finishes and free <= 0:
            return []
        # A few more candidates than free slots, so that a stage too big for the gap does not block the
        # smaller ones behind it; not the whole queue, which would cost a query per slot of 10,000 rows.
        self.learned.clear()  # the learned bookings of this cycle's picks (the store may pick more than once)
        accepted, claims = self.store.cycle(self.id, finishes, self._pick, free + 4 if free > 0 else 0,
                                            time.time())
        for e, finish, ok in zip(ended, finishes, accepted, strict=True):
            if ok:
                self.reporter.ended(e.claim.name, finish, max(0.0, e.ended.end - e.start))
                for observer in self.observers:
                    observer.stage_ended(self._stage(e.claim.stage_id), finish, e.pid)
            else:
                self.reporter.note(f"stage '{e.claim.name}': result discarded, its claim was given to another "
                                   "pilot (this pilot was presumed dead)")
        if self.stop_reason is not None and any(not f.ok and not f.retry for f in finishes):
            self.store.request_stop(self.stop_reason)
        return claims

    def _pick(self, ready: list[ReadyStage], held: Sequence[Claim] = ()) -> list[ClaimRequest]:
        limits = self.cfg.limits
        requests = []
        for r in ready:
            cpu, mem = r.cpu, r.mem
            learned = self.learner.booking(r.name, r.relative_cpu) if self.learner.active else None
            if learned is not None and r.name not in self.declared_only:
                self.learned[r.id] = learned
                cpu, mem = learned.cpu, learned.mem
            cpu, mem = booking(cpu, mem, limits, r.mem_factor)
            requests.append(Request(r.id, cpu, mem, r.semaphore))
        return [_claim_request(c) for c in select(requests, self._usage(held), limits)]

    def _wait(self, timeout: float) -> frozenset[int]:
        """Sleep until a stage may have ended. A stop signal seen on the way interrupts the pilot at once,
        before the ends it brought are recorded: a batch system stopping a job (scancel, preemption, the time
        limit) signals the pilot and its stages together, and stages ended that way are requeued with the
        pilot's others by `_shutdown`, not counted as failed attempts (`outcome.may_be_the_stops_doing`)."""
        assert self.watch is not None
        seen = self.watch.wait(timeout)
        if seen & STOP_SIGNALS:
            self.interrupted = True
        if DRAIN_SIGNAL in seen:  # its handler runs in the main thread, maybe only after this loop goes on
            self.draining = True
        return seen

    # -- starting stages --------------------------------------------------------------------------
    def _usage(self, held: Sequence[Claim] = ()) -> Usage:
        """What the running stages book, and `held`: stages claimed this cycle, not started yet (the store
        claims them without a semaphore)."""
        claims = [r.claim for r in self.running.values()] + list(held)
        semaphores = frozenset(r.stage.semaphore for r in self.running.values() if r.stage.semaphore is not None)
        return Usage(sum(c.cpu for c in claims), sum(c.mem for c in claims), len(claims),
                     sum(c.backfill for c in claims), semaphores)

    def _stage(self, stage_id: int) -> Stage:
        stage = self.stages.get(stage_id)
        if stage is None:
            self._fetch([stage_id])
            stage = self.stages[stage_id]
        return stage

    def _fetch(self, ids: list[int]) -> None:
        """The stages of these ids not known yet, read from the store in one query."""
        missing = [i for i in ids if i not in self.stages]
        if missing:
            for stage_id, spec in self.store.stage_specs(missing).items():
                self.stages[stage_id] = stage_from_spec(json.loads(spec), stage_id)

    def _launch(self, claim: Claim) -> EndedStage | None:
        """Start a claimed stage; when it cannot start, what to record for it at once."""
        stage = self._stage(claim.stage_id)
        cwd, cwd_text = self._cwd(stage.cwd)
        # The attempt running writes `<name>.log` (O2's taskwrapper writes that name too); earlier attempts'
        # logs are kept as `<name>.<attempt>.log` (`_keep_log`).
        log = os.path.join(cwd_text, f"{stage.name}.log")
        ctx = StageContext(self.workdir, cwd, claim.number, self.reporter.note, markers=self.o2dpg)
        start = time.time()
        try:
            if cwd_text not in self.made_dirs:
                os.makedirs(cwd_text, exist_ok=True)
                self.made_dirs.add(cwd_text)
            if claim.number > 1:  # an attempt lost with its pilot (or an earlier run's last) left its log
                keep_log(log, claim.number - 1)
            prepared = self.kinds[stage.kind].prepare(stage, ctx)
            if prepared.skip is not None:  # e.g. a CWL `when` that is false: nothing runs
                return EndedStage(claim, Ended(exit_code=None, end=time.time(), bypassed=prepared.skip), log, start)
            if prepared.done:  # e.g. O2DPG's done marker: nothing runs, the stage is done
                self.reporter.note(f"stage '{stage.name}': done already (its done marker exists); not run")
                return EndedStage(claim, Ended(exit_code=0, end=time.time()), log, start)
            env = self.env.for_attempt(stage, claim.attempt_id, claim.number, prepared.env)
            proc = launch.start(prepared.cmd, cwd_text, env, log, nice=claim.backfill)
        except (OSError, KindError) as exc:
            return EndedStage(claim, Ended(exit_code=None, error=f"cannot start: {exc}", end=time.time()), log, start)
        timeout = stage.timeout * claim.time_factor if stage.timeout else None
        learned = self.learned.get(claim.stage_id)
        if timeout is None and learned is not None and learned.timeout is not None:
            timeout = learned.timeout * claim.time_factor
        self.running[claim.attempt_id] = Running(claim, stage, ctx, proc, log, start, time.monotonic(), timeout,
                                                 codes=prepared.codes, learned=learned)
        assert self.containment is not None
        self.containment.started(claim.attempt_id, proc.pid)
        for observer in self.observers:
            observer.stage_started(stage, claim.number, proc.pid, claim.backfill)
        self.deadlines += timeout is not None
        self.reporter.started(stage.name, claim.number, claim.backfill)
        return None

    def _cwd(self, relative: str) -> tuple[Path, str]:
        found = self.dirs.get(relative)
        if found is None:
            path = self.workdir / relative
            found = self.dirs[relative] = (path, str(path))
        return found

    # -- ending stages ----------------------------------------------------------------------------
    def _reap(self, stopping: bool = False) -> list[EndedStage]:
        """Stages whose process has ended. `stopping`: the pilot signalled them; failures are its doing."""
        ended = []
        for attempt_id, r in list(self.running.items()):
            exit_ = launch.reap(r.proc)
            if exit_ is None:
                continue
            del self.running[attempt_id]
            self.deadlines -= r.timeout is not None
            judged = verdict(exit_.code, r.codes) if r.codes is not None else ""
            ok = (judged == "success") if judged else exit_.code == 0
            assert self.containment is not None
            self.containment.ended(attempt_id, r.proc.pid, interrupted=stopping and not ok)
            error, added = self._after(r, exit_.code) if ok and r.killed_for is None else ("", None)
            # Peak memory comes from the samples only: the kernel's ru_maxrss of a vfork'ed child includes the
            # pilot's own memory, so it would be wrong. A stage shorter than one sample has no figure.
            peak = r.peak_mem if r.sampler is not None else None
            end = Ended(exit_.code, r.killed_for, error, time.time(), peak, exit_.cpu_time, judged)
            ended.append(EndedStage(r.claim, end, r.log, r.start, added, r.proc.pid, r.learned, r.samples))
        return ended

    def _after(self, r: Running, code: int) -> tuple[str, Additions | None]:
        """The kind's look at what a successful command left: an error, and stages it adds to the run."""
        kind = self.kinds[r.stage.kind]
        ctx = r.ctx._replace(exit_code=code)
        try:
            error = kind.finish(r.stage, ctx) or ""
            expand = getattr(kind, "expand", None)
            if error or expand is None:
                return error, None
            return "", additions(expand(r.stage, ctx))
        except KindError as exc:
            return str(exc), None

    def _conclude(self, e: EndedStage) -> Finish:
        stage = self._stage(e.claim.stage_id)
        rules = stage.retry_rules + self.rules
        log_end = tail(e.log) if any(rule.needs_log for rule in rules) else ""
        # O2DPG retries while `retry_counter < --retry-on-failure or retry_counter < retry_count`
        retry_count = max(stage.retry_count, self.cfg.retry_on_failure)
        finish = conclude(e.claim, e.ended, retry_count, rules, e.log, log_end)[0]
        if not finish.ok and e.learned is not None and e.ended.killed_for in (Failure.MEMORY, Failure.TIMEOUT):
            # our estimate's fault, not the stage's: again at its declared booking, not charged an attempt
            self.declared_only.add(stage.name)
            what = "memory" if e.ended.killed_for is Failure.MEMORY else "time"
            finish = finish._replace(retry=True, charged=False, rule="learned booking",
                                     reason=f"out of its learned {what} booking; runs again at its declared one")
        if finish.retry:  # the next attempt writes `<name>.log` afresh: this one's log keeps its own name
            finish = finish._replace(log=keep_log(e.log, e.claim.number))
        return finish._replace(expansion=e.added) if finish.ok and e.added else finish

    def _learn(self, e: EndedStage, finish: Finish) -> None:
        """Tell the learner what an ended stage used (executor.learning)."""
        stage = self._stage(e.claim.stage_id)
        seconds = max(e.ended.end - e.start, 1e-6)
        cpu = None if finish.cpu_time is None else finish.cpu_time / seconds
        self.learner.record(stage.name, Measured(finish.peak_mem, cpu, seconds, e.samples), stage.cpu, stage.mem)

    # -- liveness ---------------------------------------------------------------------------------
    def _beat(self) -> bool:
        if not self.store.heartbeat(self.id):
            self.stop_reason = "this pilot was presumed dead by another pilot (no heartbeat in time)"
            self.reporter.note(self.stop_reason)
            return False
        for message in requeue_dead_pilots(self.store, self.run_id, self.host, self.cfg.heartbeat_timeout,
                                           exclude=self.id):
            self.reporter.note(message)
        progress_stop = self.store.progress().stop_reason
        self.stop_reason = self.stop_reason or progress_stop
        return True

    def _shutdown(self) -> None:
        """Stop what still runs (interrupted, or presumed dead) and give its stages back to the store."""
        if self.containment is None:  # never registered
            return
        if self.running:
            for r in self.running.values():
                launch.signal_tree(r.proc, signal.SIGTERM)
            deadline = time.monotonic() + self.cfg.kill_grace
            while self.running and time.monotonic() < deadline:
                self._collect_while_stopping()
                time.sleep(0.02)
            for r in self.running.values():
                launch.signal_tree(r.proc, signal.SIGKILL)
            while self.running:
                self._collect_while_stopping()
                time.sleep(0.01)
        self.containment.close()
        try:
            self.store.requeue_pilot(self.id, "interrupted")
        except StoreError as exc:  # out of reach: other pilots requeue them once the heartbeat is old
            self.reporter.note(f"cannot give the stages back to the store: {exc}")
        finally:
            if self.watch is not None:
                self.watch.close()

    def _collect_while_stopping(self) -> None:
        """Stages that end while the pilot stops them: one that succeeds anyway (it was finishing, or it
        ignores SIGTERM) is recorded as done; any other end is presumed the stop's doing, so the stage is
        handed back (`requeue_pilot`) and not charged an attempt."""
        done = [f for f in map(self._conclude, self._reap(stopping=True)) if f.ok]
        if done:
            try:
                self.store.finish(self.id, done)
            except StoreError as exc:  # out of reach: they run again, the others must still be stopped
                self.reporter.note(f"cannot record {len(done)} stage(s) that ended while stopping: {exc}")


def _claim_request(choice: Choice) -> ClaimRequest:
    req = choice.request
    return ClaimRequest(req.id, req.cpu, req.mem, choice.backfill, req.semaphore)
