"""cwlpilot.panda.junction: results.json updates the loop dictionary and decides whether to stop."""

import pytest

from cwlpilot.semantics.panda.junction import JunctionError, decide

PARAMS = {"xxx": 1, "arr": [1, 2]}


def test_updates_and_terminate():
    d = decide('{"xxx": 5, "to_terminate": true}', PARAMS)
    assert d.terminate and d.params == {"xxx": 5, "arr": [1, 2]} and d.warnings == ()


def test_no_decision_goes_on_and_to_continue_is_the_opposite():
    assert not decide("{}", PARAMS).terminate
    assert decide('{"to_continue": false}', PARAMS).terminate
    assert not decide('{"to_continue": true}', PARAMS).terminate
    assert decide('{"to_exit": true}', PARAMS).terminate


def test_unknown_keys_are_named_in_a_warning():
    d = decide('{"param_xxx": 3, "zzz": 1}', PARAMS)
    assert d.params == PARAMS
    assert "param_xxx, zzz" in d.warnings[0] and "'xxx'" in d.warnings[0]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("[1]", "JSON object"),
        ("{", "not valid JSON"),
        ('{"to_terminate": "yes"}', "true or false"),
        ('{"to_terminate": true, "to_continue": true}', "contradicts"),
        ('{"arr": [1, 2, 3]}', "array of 2 values"),
        ('{"xxx": [1]}', "single value"),
    ],
)
def test_malformed_results_are_clear_failures(text, words):
    with pytest.raises(JunctionError, match=words):
        decide(text, PARAMS)
