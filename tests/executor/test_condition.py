"""executor.condition: the grammar, precise errors, evaluation."""

import pytest

from cwlpilot.executor.condition import (
    And,
    ConditionError,
    Not,
    Or,
    StateTest,
    evaluate,
    failures_tested,
    parse,
    stages_in,
)


def test_precedence_and_parentheses():
    assert parse("done(a) || done(b) && !failed(c)") == Or((StateTest("done", "a"), And((StateTest("done", "b"),
                                                                                      Not(StateTest("failed", "c"))))))
    assert parse("(done(a) || done(b)) && true") == And((Or((StateTest("done", "a"), StateTest("done", "b"))),
                                                         parse("true")))
    assert parse("!!done(x.y[2])") == Not(Not(StateTest("done", "x.y[2]")))


@pytest.mark.parametrize("text, message", [
    ("done(a) &&", "expected a condition at the end at column 11"),
    ("done(a) & done(b)", "unexpected character '&' at column 9"),
    ("finished(a)",
     "expected one of done, failed, skipped, ended, '!', '(' or true/false, found 'finished' at column 1"),
    ("done(a", "expected ')' at the end at column 7"),
    ("done(a)) ", "unexpected ')' at column 8"),
    ("(done(a) || failed(b)", "expected ')' at the end at column 22"),
    ("done()", "expected a stage name at column 6"),
])
def test_errors_point_at_the_column(text, message):
    with pytest.raises(ConditionError) as info:
        parse(text)
    first, shown, caret = str(info.value).split("\n")
    assert first == message
    assert shown.strip() == text.strip()
    column = int(message.rsplit(" ", 1)[1])
    assert caret.index("^") - 4 == column - 1


def test_evaluation_over_need_states():
    states = {"top": "failed", "side": "done", "skip": "skipped"}
    assert evaluate(parse("failed(top)"), states)
    assert not evaluate(parse("done(top)"), states)
    assert evaluate(parse("!done(top) && done(side)"), states)
    assert evaluate(parse("ended(skip) && ended(top)"), states)
    assert evaluate(parse("done(top) || skipped(skip)"), states)


def test_stage_and_failure_queries():
    node = parse("failed(a) || (done(b) && !failed(c))")
    assert stages_in(node) == {"a", "b", "c"}
    assert failures_tested(node) == {"a"}
