"""executor.outcome: exit-code verdicts in CWL's order, bypassed stages, and the Finish record."""

from cwlpilot.executor.outcome import Ended, ExitCodes, classify, conclude, verdict
from cwlpilot.executor.retry import Failure, RetryRule
from cwlpilot.executor.store.base import Claim

CODES = ExitCodes(success=frozenset({3}), temporary_fail=frozenset({0, 75}), permanent_fail=frozenset({42}))
CLAIM = Claim(7, 1, "tool", 1, 0, 1.0, 100.0, False, 1.0, 1.0, None)


def test_verdicts_follow_cwl_order():
    assert verdict(0, None) == "success" and verdict(1, None) == "failure"
    assert verdict(3, CODES) == "success"  # declared success
    assert verdict(0, CODES) == "temporary"  # listed as temporary before 0 counts as success
    assert verdict(42, CODES) == "permanent"
    assert verdict(5, CODES) == "failure"
    assert verdict(0, ExitCodes()) == "success"


def test_a_declared_success_code_succeeds_and_keeps_the_real_code():
    finish, decision = conclude(CLAIM, Ended(exit_code=3, judged="success", end=1.0), 0, (), "log")
    assert finish.ok and finish.exit_code == 3 and decision is None


def test_a_permanent_failure_code_is_never_retried_whatever_the_rules():
    rules = (RetryRule("increase_memory", value=2.0),)
    finish, _ = conclude(CLAIM, Ended(exit_code=42, judged="permanent", end=1.0), 5, rules, "log")
    assert (finish.ok, finish.retry, finish.rule) == (False, False, "permanent failure code")
    temporary, _ = conclude(CLAIM, Ended(exit_code=75, judged="temporary", end=1.0), 5, (), "log")
    assert (temporary.ok, temporary.retry) == (False, True)


def test_a_bypassed_stage_is_done_and_says_why():
    ended = Ended(exit_code=None, bypassed="when is false", end=1.0)
    assert classify(ended) is None
    finish, _ = conclude(CLAIM, ended, 0, (), "log")
    assert finish.ok and finish.reason == "skipped: when is false"
    assert classify(Ended(exit_code=-9)) is Failure.SIGNAL
