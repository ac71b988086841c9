"""compiler.panda.condition: PanDA `when:` grammar, precise errors, translation to executor conditions."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cwlpilot.compiler.panda.condition import ConditionSyntaxError, Not, Ref, parse, translate
from cwlpilot.executor import condition as executor_condition


def stages(ref):
    return {"a": ["a1", "a2"]}.get(ref.name, [ref.name])


def test_simple_forms():
    assert parse("$(self.opt_inDS)") == Ref("opt_inDS", None, 2)
    assert parse("$(!self.opt_inDS)") == Not(Ref("opt_inDS", None, 3))
    assert parse("$(self.x[1])") == Ref("x", 1, 2)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("$(self.b)", "done(b)"),
        ("$(!self.b)", "(failed(b) || skipped(b))"),
        ("$(self.a)", "(done(a1) && done(a2))"),
        ("$(!(self.b && self.c))", "((failed(b) || skipped(b)) || (failed(c) || skipped(c)))"),
        ("$((self.b || !self.c) && self.d)", "((done(b) || (failed(c) || skipped(c))) && done(d))"),
    ],
)
def test_translation_pushes_negation_down_and_parses_in_the_executor(text, expected):
    translated = translate(parse(text), stages)
    assert translated == expected
    executor_condition.parse(translated)  # the executor's grammar accepts it


def test_truth_table_of_a_nested_condition():
    translated = translate(parse("$(!(self.b && !self.c))"), stages)
    node = executor_condition.parse(translated)
    for b in ("done", "failed"):
        for c in ("done", "failed"):
            expected = not (b == "done" and c != "done")
            assert executor_condition.evaluate(node, {"b": b, "c": c}) is expected


@pytest.mark.parametrize(
    ("text", "offset", "words"),
    [
        ("$(self.a &&)", 11, "expected self.NAME"),
        ("$(self.a", 8, "closing '$('"),
        ("self.a", 0, "$(self.NAME"),
        ("$(self.a == 1)", 9, "not values"),
        ("$(self.a[x])", 9, "index"),
        ("$((self.a)", 10, "expected ')'"),
        ("$(self.a) x", 10, "unexpected 'x'"),
    ],
)
def test_syntax_errors_name_the_offset(text, offset, words):
    with pytest.raises(ConditionSyntaxError) as info:
        parse(text)
    assert info.value.offset == offset
    assert words in str(info.value)


# Property: for any condition and any way the parents ended, the translated condition holds exactly when
# PanDA's reading does (self.X: every stage of X's parent is done).
PARENTS = {"a": ["a1", "a2"], "b": ["b"], "c": ["c1", "c2", "c3"]}


def _trees():
    leaves = st.sampled_from(sorted(PARENTS)).map(lambda name: ("ref", name))
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(lambda t: ("not", t)),
            st.tuples(st.sampled_from(["&&", "||"]), st.lists(inner, min_size=2, max_size=3)),
        ),
        max_leaves=8,
    )


def _text(tree):
    if tree[0] == "ref":
        return f"self.{tree[1]}"
    if tree[0] == "not":
        return f"!({_text(tree[1])})"
    return "(" + f" {tree[0]} ".join(_text(t) for t in tree[1]) + ")"


def _panda(tree, states):
    if tree[0] == "ref":
        return all(states[s] == "done" for s in PARENTS[tree[1]])
    if tree[0] == "not":
        return not _panda(tree[1], states)
    values = [_panda(t, states) for t in tree[1]]
    return all(values) if tree[0] == "&&" else any(values)


@given(
    _trees(),
    st.fixed_dictionaries(
        {s: st.sampled_from(["done", "failed", "skipped"]) for stages in PARENTS.values() for s in stages}
    ),
)
def test_translation_agrees_with_pandas_reading(tree, states):
    translated = translate(parse(f"$({_text(tree)})"), lambda ref: PARENTS[ref.name])
    assert executor_condition.evaluate(executor_condition.parse(translated), states) is _panda(tree, states)
