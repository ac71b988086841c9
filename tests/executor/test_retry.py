"""executor.retry: rule matching and the retry decision (first match wins, never above retry_count)."""

from cwlpilot.executor.retry import Decision, FailedAttempt, Failure, RetryRule, decide


def failed(number=1, retry_count=2, failure=Failure.EXIT, code=1, log="", stage="reco_1"):
    return FailedAttempt(stage=stage, failure=failure, exit_code=code, number=number, retry_count=retry_count,
                         log_tail=log)


def test_without_rules_retry_count_decides():
    assert decide(failed(1, retry_count=2), ()) == Decision(retry=True)
    assert decide(failed(2, retry_count=2), ()).retry is True
    assert decide(failed(3, retry_count=2), ()).retry is False
    assert decide(failed(1, retry_count=0), ()).retry is False


def test_no_retry_on_a_matching_exit_code():
    rules = (RetryRule("no_retry", exit_codes=(3,)),)
    assert decide(failed(code=3), rules) == Decision(retry=False, rule="no_retry")
    assert decide(failed(code=4), rules).retry is True


def test_signal_exit_matches_the_128_plus_n_spelling():
    rules = (RetryRule("no_retry", exit_codes=(137,)),)
    assert decide(failed(code=-9, failure=Failure.SIGNAL), rules).retry is False


def test_log_regex_and_stage_filters():
    rules = (RetryRule("no_retry", log_regex=r"^Fatal: bad input", stages=r"^reco_"),)
    assert decide(failed(log="line\nFatal: bad input\n"), rules).retry is False
    assert decide(failed(log="Fatal: bad input", stage="sim_1"), rules).retry is True
    assert decide(failed(log="all fine"), rules).retry is True


def test_limit_retry_lowers_the_budget_and_stays_in_force():
    rules = (RetryRule("limit_retry", value=1, exit_codes=(5,)),)
    first = decide(failed(1, retry_count=5, code=5), rules)
    assert first.retry is True and first.retry_limit == 1
    # a later failure that matches no rule still obeys the limit set earlier
    assert decide(failed(2, retry_count=5, code=7), rules, retry_limit=first.retry_limit).retry is False


def test_limit_retry_never_raises_the_budget():
    rules = (RetryRule("limit_retry", value=10),)
    assert decide(failed(2, retry_count=1), rules).retry is False


def test_increase_memory_and_walltime_change_the_next_attempt():
    mem = decide(failed(failure=Failure.MEMORY, code=-9), (RetryRule("increase_memory", value=2.0, failure="memory"),))
    assert (mem.retry, mem.mem_factor, mem.time_factor, mem.rule) == (True, 2.0, 1.0, "increase_memory 2")
    wall = decide(failed(failure=Failure.TIMEOUT), (RetryRule("increase_walltime", value=1.5, failure="timeout"),))
    assert (wall.retry, wall.mem_factor, wall.time_factor) == (True, 1.0, 1.5)


def test_first_matching_rule_wins():
    rules = (RetryRule("no_retry", exit_codes=(2,)), RetryRule("increase_memory", value=3.0))
    assert decide(failed(code=2), rules).rule == "no_retry"
    assert decide(failed(code=9), rules).mem_factor == 3.0
