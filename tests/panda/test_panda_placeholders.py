"""cwlpilot.panda.placeholders: the one tokenizer for %IN, %RNDM:N, %{DSn}, %{SECDSn}, %{name}, %{i}."""

import pytest

from cwlpilot.semantics.panda import placeholders as ph


def test_tokens_and_offsets():
    tokens = ph.tokenize("echo %IN %IN2 %RNDM:10 %{DS1} %{SECDS*} %{xxx} %{i} 100%")
    kinds = [type(t).__name__ for t in tokens if not isinstance(t, ph.Text)]
    assert kinds == ["Stream", "Stream", "Rndm", "Dataset", "Dataset", "Param", "Iteration"]
    stream2 = tokens[3]
    assert stream2 == ph.Stream("IN2", 9)
    assert ph.tokenize("100%")[-1] == ph.Text("100%", 0)


def test_in_is_not_a_prefix_of_a_longer_word():
    assert all(isinstance(t, ph.Text) for t in ph.tokenize("%INPUT"))


def test_named_streams_are_placeholders_of_their_own():
    """--secondaryDSs stream names are free (MiscUtils.parse_secondary_datasets_opt): %IN_MINH reads IN_MINH."""
    tokens = ph.tokenize("x %IN_MINH %IN_MINHX %IN", ["IN_MINH"])
    assert [t for t in tokens if isinstance(t, ph.Stream)] == [ph.Stream("IN_MINH", 2), ph.Stream("IN", 21)]
    values = ph.Values(streams={"IN": ["a"], "IN_MINH": ["m1", "m2"]})
    assert ph.substitute("x %IN_MINH %IN", values) == "x m1,m2 a"


def test_substitute_every_kind():
    values = ph.Values(
        streams={"IN": ["a.root", "b.root"], "IN2": ["c.pool"]},
        job=3,
        datasets=["/d/one", "/d/two"],
        secondary=["/s/one"],
        iteration="4",
        params={"xxx": "123", "arr": "[1,2]", "seed": "7"},
    )
    text = "x %IN y %IN2 %RNDM:10 %{DS2} %{DS*} %{SECDS1} %{xxx} %{i} %{arr} %RNDM:%{seed}"
    assert ph.substitute(text, values) == "x a.root,b.root y c.pool 13 /d/two /d/one,/d/two /s/one 123 4 [1,2] 10"


def test_secds_star_is_the_list_of_placeholders_as_the_server_writes_it():
    """workflow_utils.Node.resolve_params replaces %{SECDS*} by ",".join of the %{SECDSn} it replaced first,
    so the job gets the placeholders themselves."""
    values = ph.Values(secondary=["/s/one", "/s/two"])
    assert ph.substitute("%{SECDS*} %{SECDS2}", values) == "%{SECDS1},%{SECDS2} /s/two"


def test_what_panda_leaves_stays_as_written():
    assert ph.substitute("%{x} %{i} %IN2 %{DS3} %RNDM:1", ph.Values(job=0), keep=True) == "%{x} %{i} %IN2 %{DS3} 1"


def test_every_unresolved_placeholder_is_reported_at_once():
    with pytest.raises(ph.PlaceholderError) as info:
        ph.substitute("%IN %{DS3} %{nope} %{i} %{a b}", ph.Values(datasets=["x"]))
    spelled = [s for _, s, _ in sorted(info.value.missing)]
    assert spelled == ["%IN", "%{DS3}", "%{nope}", "%{i}", "%{a b}"]
    assert sorted(info.value.missing)[1][0] == 4  # the offset, for a column in messages
    assert "out of range" in sorted(info.value.missing)[1][2]


def test_numbers_of_more_than_18_digits_make_no_placeholder():
    # regression: %RNDM: with 4,301 digits was "ValueError: Exceeds the limit (4300 digits)" in check
    from cwlpilot.semantics.panda.placeholders import Rndm, Stream, Text, tokenize

    long = "9" * 4301
    assert tokenize(f"a %RNDM:{long}") == (Text(f"a %RNDM:{long}", 0),)
    assert tokenize(f"%IN{'2' * 19}") == (Text(f"%IN{'2' * 19}", 0),)
    assert tokenize(f"%RNDM:{'9' * 18} %IN2") == (Rndm(int("9" * 18), 0), Text(" ", 24), Stream("IN2", 25))
    assert tokenize(f"%{{DS{'1' * 19}}}") == (ph.Param(f"DS{'1' * 19}", 0),)  # no dataset number: a name
