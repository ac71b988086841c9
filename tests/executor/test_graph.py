"""executor.graph: cycles as data, scheduling ranks, closures."""

from cwlpilot.executor.graph import downstream, find_cycles, ranks, topological_order, upstream
from cwlpilot.executor.plan import Stage


def st(name, needs=(), tf=-1, index=0):
    return Stage(name=name, cmd="true", needs=tuple(needs), timeframe=tf, index=index)


def test_find_cycles_returns_each_cycle_once_in_a_stable_rotation():
    needs = {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"], "e": ["a"]}
    assert find_cycles(needs) == [["a", "b", "c"], ["d"]]
    assert find_cycles({"x": ["y"], "y": []}) == []


def test_find_cycles_handles_a_very_long_chain_without_recursion():
    n = 50_000
    needs = {f"s{i}": [f"s{i + 1}"] for i in range(n)}
    needs[f"s{n}"] = ["s0"]
    (cycle,) = find_cycles(needs)
    assert len(cycle) == n + 1


def test_topological_order_respects_needs():
    stages = [st("c", ["b"]), st("a"), st("b", ["a"])]
    order = topological_order(stages)
    assert order.index("a") < order.index("b") < order.index("c")


def test_ranks_prefer_the_longest_chain_then_the_earliest_timeframe():
    stages = [st("side2", tf=2, index=0), st("side1", tf=1, index=1), st("head", tf=3, index=2),
              st("mid", ["head"], tf=3, index=3), st("tail", ["mid"], tf=3, index=4)]
    r = ranks(stages)
    assert sorted(r, key=r.get) == ["head", "mid", "side1", "side2", "tail"]


def test_ranks_break_ties_by_number_of_descendants():
    stages = [st("few", index=0), st("many", index=1), st("x", ["many"], index=2), st("y", ["many"], index=3),
              st("z", ["few"], index=4)]
    r = ranks(stages)
    assert r["many"] < r["few"]


def test_upstream_and_downstream_closures():
    stages = [st("a"), st("b", ["a"]), st("c", ["b"]), st("d", ["a"]), st("e")]
    assert upstream(stages, ["c"]) == {"a", "b", "c"}
    assert downstream(stages, ["b"]) == {"b", "c"}
    assert downstream(stages, ["a"]) == {"a", "b", "c", "d"}
