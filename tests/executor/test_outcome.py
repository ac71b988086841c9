"""executor.outcome: exit-code verdicts in CWL's order, bypassed stages, and the Finish record."""

from cwlpilot.executor.outcome import Ended, ExitCodes, classify, conclude, may_be_the_stops_doing, verdict
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


def test_what_a_stopped_pilot_gives_back_is_any_failure_it_did_not_cause_itself():
    """A batch system's SIGTERM reaches the stages with the pilot: dying of it, or exiting non-zero because of
    it (143 from a shell's trap, 1 from a handler), goes back; success and the pilot's own kills stay."""
    for given_back in (Ended(exit_code=-15), Ended(exit_code=143), Ended(exit_code=1),
                       Ended(exit_code=42, judged="permanent"), Ended(exit_code=0, error="no output 'out'")):
        assert may_be_the_stops_doing(given_back), given_back
    for kept in (Ended(exit_code=0), Ended(exit_code=3, judged="success"), Ended(exit_code=None, bypassed="when"),
                 Ended(exit_code=-9, killed_for=Failure.MEMORY), Ended(exit_code=-15, killed_for=Failure.TIMEOUT)):
        assert not may_be_the_stops_doing(kept), kept
