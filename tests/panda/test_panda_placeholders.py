"""cwlpilot.panda.placeholders: the one tokenizer for %IN, %RNDM:N, %{DSn}, %{SECDSn}, %{name}, %{i}."""

import pytest

from cwlpilot.semantics.panda import placeholders as ph


def test_tokens_and_offsets():
    tokens = ph.tokenize("echo %IN %IN2 %RNDM:10 %{DS1} %{SECDS*} %{xxx} %{i} 100%")
    kinds = [type(t).__name__ for t in tokens if not isinstance(t, ph.Text)]
    assert kinds == ["Stream", "Stream", "Rndm", "Dataset", "Dataset", "Param", "Iteration"]
    stream2 = tokens[3]
    assert stream2 == ph.Stream(2, 9)
    assert ph.tokenize("100%")[-1] == ph.Text("100%", 0)


def test_in_is_not_a_prefix_of_a_longer_word():
    assert all(isinstance(t, ph.Text) for t in ph.tokenize("%INPUT"))


def test_substitute_every_kind():
    values = ph.Values(
        streams={1: ["a.root", "b.root"], 2: ["c.pool"]},
        job=3,
        datasets=["/d/one", "/d/two"],
        secondary=["/s/one"],
        iteration=4,
        params={"xxx": 123, "arr": [1, 2]},
    )
    text = "x %IN y %IN2 %RNDM:10 %{DS2} %{DS*} %{SECDS1} %{xxx} %{i} %{arr}"
    assert ph.substitute(text, values) == "x a.root,b.root y c.pool 13 /d/two /d/one,/d/two /s/one 123 4 [1,2]"


def test_every_unresolved_placeholder_is_reported_at_once():
    with pytest.raises(ph.PlaceholderError) as info:
        ph.substitute("%IN %{DS3} %{nope} %{i} %{a b}", ph.Values(datasets=["x"]))
    spelled = [s for _, s, _ in info.value.missing]
    assert spelled == ["%IN", "%{DS3}", "%{nope}", "%{i}", "%{a b}"]
    assert info.value.missing[1][0] == 4  # the offset, for a column in messages
    assert "out of range" in info.value.missing[1][2]


def test_numbers_of_more_than_18_digits_make_no_placeholder():
    # regression: %RNDM: with 4,301 digits was "ValueError: Exceeds the limit (4300 digits)" in check
    from cwlpilot.semantics.panda.placeholders import Rndm, Stream, Text, tokenize

    long = "9" * 4301
    assert tokenize(f"a %RNDM:{long}") == (Text(f"a %RNDM:{long}", 0),)
    assert tokenize(f"%IN{'2' * 19}") == (Text(f"%IN{'2' * 19}", 0),)
    assert tokenize(f"%RNDM:{'9' * 18} %IN2") == (Rndm(int("9" * 18), 0), Text(" ", 24), Stream(2, 25))
