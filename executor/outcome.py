"""From the end of an attempt to what the store records: classify the exit, apply the retry rules. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from cwlpilot.executor.retry import Decision, FailedAttempt, Failure, RetryRule, decide
from cwlpilot.executor.store.base import Claim, Finish


class ExitCodes(NamedTuple):
    """What exit codes mean for a stage (CWL's successCodes, temporaryFailCodes, permanentFailCodes)."""

    success: frozenset[int] = frozenset()
    temporary_fail: frozenset[int] = frozenset()
    permanent_fail: frozenset[int] = frozenset()


def verdict(code: int, codes: ExitCodes | None) -> str:
    """"success", "temporary" (may be retried), "permanent" (never retried) or "failure" (retry rules
    decide), in CWL's order: declared success codes, then temporary, then permanent, then 0 is success."""
    if codes is not None:
        if code in codes.success:
            return "success"
        if code in codes.temporary_fail:
            return "temporary"
        if code in codes.permanent_fail:
            return "permanent"
    return "success" if code == 0 else "failure"


class Ended(NamedTuple):
    """How an attempt ended, as the pilot observed it."""

    exit_code: int | None  # None: the command never started
    killed_for: Failure | None = None  # set when the pilot killed it (memory, timeout)
    error: str = ""  # why it could not start, or why the kind rejected its results
    end: float = 0.0
    peak_mem: float | None = None
    cpu_time: float | None = None
    judged: str = ""  # verdict() of the exit code when the stage declares exit codes
    bypassed: str = ""  # the kind decided not to run the command; the stage is done, for this reason


def classify(ended: Ended) -> Failure | None:
    """None for success, otherwise how the attempt failed."""
    if ended.bypassed:
        return None
    if ended.killed_for is not None:
        return ended.killed_for
    if ended.exit_code is None or ended.error:
        return Failure.EXIT
    if ended.exit_code == 0 if not ended.judged else ended.judged == "success":
        return None
    return Failure.SIGNAL if ended.exit_code < 0 else Failure.EXIT


def may_be_the_stops_doing(ended: Ended) -> bool:
    """Whether a stage that ended while its pilot is being stopped by a signal goes back with the pilot's
    other stages, not counted. A batch system ends a job (scancel, preemption, the time limit) by signalling
    every process of it, so the same SIGTERM may have reached the stage first: it died of it, or handled it
    and exited non-zero (a shell's `trap 'exit 143' TERM`, a JVM's 143, a handler's exit 1). A stage that
    truly failed fails again on its next attempt. What the pilot ended itself (a stage over its memory or its
    timeout) keeps its outcome, as does a success."""
    return classify(ended) in (Failure.SIGNAL, Failure.EXIT)


def conclude(claim: Claim, ended: Ended, retry_count: int, rules: Sequence[RetryRule], log: str,
             log_tail: str = "") -> tuple[Finish, Decision | None]:
    """The Finish record for an ended attempt, and the retry decision when it failed."""
    failure = classify(ended)
    if failure is None:  # the common case, built positionally: this runs once per stage
        reason = f"skipped: {ended.bypassed}" if ended.bypassed else ""
        return Finish(claim.attempt_id, claim.stage_id, True, False, ended.end, ended.exit_code, None,
                      ended.peak_mem, ended.cpu_time, log, rule=reason, reason=reason), None
    common = dict(attempt_id=claim.attempt_id, stage_id=claim.stage_id, end=ended.end,
                  exit_code=ended.exit_code, peak_mem=ended.peak_mem, cpu_time=ended.cpu_time, log=log)
    attempt = FailedAttempt(stage=claim.name, failure=failure, exit_code=ended.exit_code,
                            number=claim.counted + 1, retry_count=retry_count, log_tail=log_tail)
    decision = decide(attempt, rules, claim.retry_limit)
    if ended.judged == "permanent":  # a code the stage declares permanent is never retried, whatever rules say
        decision = Decision(retry=False, rule="permanent failure code", retry_limit=decision.retry_limit)
    reason = describe_failure(failure, ended)
    finish = Finish(
        ok=False, retry=decision.retry, failure=failure.value, rule=decision.rule,
        mem_factor=claim.mem_factor * decision.mem_factor, time_factor=claim.time_factor * decision.time_factor,
        retry_limit=decision.retry_limit, reason=reason, **common,  # type: ignore[arg-type]
    )
    return finish, decision


def describe_failure(failure: Failure, ended: Ended) -> str:
    if ended.error:
        return ended.error
    if failure is Failure.MEMORY:
        peak = f" (peak {ended.peak_mem:.0f} MB)" if ended.peak_mem else ""
        return f"killed: memory{peak}"
    if failure is Failure.TIMEOUT:
        return "killed: timeout"
    if failure is Failure.SIGNAL and ended.exit_code is not None:
        return f"killed by signal {-ended.exit_code}"
    return f"exit code {ended.exit_code}"
