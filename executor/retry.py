"""Retry decisions in the spirit of PanDA's Job Retry Module: rules match a failed attempt, first match wins.

A rule matches on the exit code, a regular expression over the attempt's log, how the attempt failed
(exit, memory, timeout, signal) and the stage name, and then says `no_retry`, `limit_retry N`,
`increase_memory FACTOR` or `increase_walltime FACTOR`. Rules never grant more attempts than the stage's
`retry_count` allows: `limit_retry` lowers it, the `increase_*` actions change the next attempt.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class Failure(str, enum.Enum):
    """How an attempt failed."""

    EXIT = "exit"  # the command exited non-zero
    MEMORY = "memory"  # killed for using more memory than allowed
    TIMEOUT = "timeout"  # killed for running longer than its timeout
    SIGNAL = "signal"  # killed by a signal nobody here sent


ACTIONS = ("no_retry", "limit_retry", "increase_memory", "increase_walltime")


@dataclass(frozen=True)
class RetryRule:
    action: str
    value: float | None = None
    exit_codes: tuple[int, ...] = ()
    log_regex: str | None = None
    failure: str | None = None
    stages: str | None = None

    def spec(self) -> dict[str, Any]:
        out: dict[str, Any] = {"action": self.action}
        for key in ("value", "log_regex", "failure", "stages"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.exit_codes:
            out["exit_codes"] = list(self.exit_codes)
        return out

    @property
    def needs_log(self) -> bool:
        return self.log_regex is not None

    def matches(self, attempt: FailedAttempt) -> bool:
        if self.stages is not None and not re.search(self.stages, attempt.stage):
            return False
        if self.failure is not None and self.failure != attempt.failure.value:
            return False
        if self.exit_codes and not _code_matches(attempt.exit_code, self.exit_codes):
            return False
        return not (self.log_regex is not None and not re.search(self.log_regex, attempt.log_tail, re.M))


def _code_matches(code: int | None, codes: tuple[int, ...]) -> bool:
    if code is None:
        return False
    # A process killed by signal N is reported as -N; shells and batch systems say 128+N. Accept both.
    return code in codes or (code < 0 and 128 - code in codes)


@dataclass(frozen=True)
class FailedAttempt:
    """What the retry decision needs to know about an attempt that did not succeed."""

    stage: str
    failure: Failure
    exit_code: int | None
    number: int  # attempts counted so far, this one included (1 after the first failure)
    retry_count: int  # the stage's retry budget
    log_tail: str = ""


@dataclass(frozen=True)
class Decision:
    retry: bool
    mem_factor: float = 1.0  # multiply the memory booking of the next attempt by this
    time_factor: float = 1.0  # multiply the timeout of the next attempt by this
    rule: str = "retry_count"  # what decided, for the log and the status table
    retry_limit: int | None = None  # a limit_retry in force from now on for this stage


def decide(attempt: FailedAttempt, rules: Sequence[RetryRule], retry_limit: int | None = None) -> Decision:
    """Whether to retry a failed attempt, and how the next attempt changes. Pure.

    `retry_limit` is a limit set by an earlier `limit_retry` on the same stage (it stays in force).
    """
    budget = attempt.retry_count if retry_limit is None else min(retry_limit, attempt.retry_count)
    rule = next((r for r in rules if r.matches(attempt)), None)
    if rule is None:
        return Decision(retry=attempt.number <= budget, retry_limit=retry_limit)
    label = _describe(rule)
    if rule.action == "no_retry":
        return Decision(retry=False, rule=label, retry_limit=retry_limit)
    if rule.action == "limit_retry":
        limit = int(rule.value or 0) if retry_limit is None else min(retry_limit, int(rule.value or 0))
        return Decision(retry=attempt.number <= min(budget, limit), rule=label, retry_limit=limit)
    factor = float(rule.value or 1.5)
    retry = attempt.number <= budget
    if rule.action == "increase_memory":
        return Decision(retry=retry, mem_factor=factor, rule=label, retry_limit=retry_limit)
    return Decision(retry=retry, time_factor=factor, rule=label, retry_limit=retry_limit)


def _describe(rule: RetryRule) -> str:
    value = "" if rule.value is None else f" {rule.value:g}"
    return f"{rule.action}{value}"


def parse_rules(items: Iterable[Mapping[str, Any]]) -> tuple[RetryRule, ...]:
    """Rules from schema-valid JSON/YAML objects (see `retry_rule` in the stages schema)."""
    out = []
    for item in items:
        out.append(RetryRule(
            action=item["action"],
            value=item.get("value"),
            exit_codes=tuple(item.get("exit_codes") or ()),
            log_regex=item.get("log_regex"),
            failure=item.get("failure"),
            stages=item.get("stages"),
        ))
    return tuple(out)


def rule_problems(items: Sequence[Mapping[str, Any]], where: str) -> list[str]:
    """Messages for rules whose regular expressions do not compile (the schema cannot see that)."""
    problems = []
    for i, item in enumerate(items, 1):
        for key in ("log_regex", "stages"):
            pattern = item.get(key)
            if isinstance(pattern, str):
                try:
                    re.compile(pattern)
                except re.error as exc:
                    problems.append(f"{where}: retry rule #{i}: {key}: bad regular expression: {exc}")
    return problems
