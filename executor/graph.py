"""Pure graph algorithms over stage dependencies: cycles, scheduling ranks, upstream/downstream closures.

Graphs are given as {name: [names it needs]}. Nothing here touches files, processes or the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Protocol


class _StageLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def needs(self) -> tuple[str, ...]: ...
    @property
    def timeframe(self) -> int: ...
    @property
    def index(self) -> int: ...


def find_cycles(needs: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle per strongly connected component that has one, each as [a, b, …] where a needs b.

    Iterative Tarjan, so a 100,000-stage chain does not hit the recursion limit.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    for root in needs:
        if root in index:
            continue
        work = [(root, iter(needs.get(root, ())))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            child = next(it, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(needs.get(child, ()))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1 or node in needs.get(node, ()):
                    cycles.append(_cycle_in(component, needs))
    return sorted(cycles)


def _cycle_in(component: set[str], needs: Mapping[str, Sequence[str]]) -> list[str]:
    """Walk inside a strongly connected component until a stage repeats: that walk's tail is a cycle."""
    node = min(component)
    path: list[str] = []
    position: dict[str, int] = {}
    while node not in position:
        position[node] = len(path)
        path.append(node)
        node = min(n for n in needs[node] if n in component)
    cycle = path[position[node]:]
    start = cycle.index(min(cycle))  # a stable rotation, so messages do not depend on dict order
    return cycle[start:] + cycle[:start]


def topological_order(stages: Sequence[_StageLike]) -> list[str]:
    """Names in an order where every stage comes after its needs (ties kept in plan order). Needs naming no
    stage of the plan are left out (a stage not selected to run may have them: executor.plancheck)."""
    children = _children(stages)
    remaining = {s.name: sum(n in children for n in s.needs) for s in stages}
    ready = [s.name for s in stages if remaining[s.name] == 0]
    order: list[str] = []
    while ready:
        name = ready.pop()
        order.append(name)
        for child in reversed(children[name]):
            remaining[child] -= 1
            if remaining[child] == 0:
                ready.append(child)
    return order


def _children(stages: Iterable[_StageLike]) -> dict[str, list[str]]:
    children: dict[str, list[str]] = {s.name: [] for s in stages}
    for s in stages:
        for need in s.needs:
            if need in children:
                children[need].append(s.name)
    return children


def ranks(stages: Sequence[_StageLike]) -> dict[str, int]:
    """Scheduling rank per stage, 0 first: longest remaining chain first, then earliest timeframe, then
    the stage that unblocks the most others, then plan order.

    The longest chain to a final stage (in stages, since durations are not known beforehand) keeps the
    critical path moving so the makespan stays near its lower bound; among equal chains O2DPG's order
    (timeframe, then number of descendants) finishes timeframes one after another.
    """
    order = topological_order(stages)
    children = _children(stages)
    level: dict[str, int] = {}
    bit = {name: 1 << i for i, name in enumerate(order)}
    below: dict[str, int] = {}  # descendants as a bit set: exact, and fast enough for 100k stages
    for name in reversed(order):
        kids = children[name]
        level[name] = 1 + max((level[k] for k in kids), default=0)
        acc = 0
        for k in kids:
            acc |= bit[k] | below[k]
        below[name] = acc
    by_name = {s.name: s for s in stages}

    def key(name: str) -> tuple[int, int, int, int]:
        s = by_name[name]
        return (-level[name], s.timeframe, -below[name].bit_count(), s.index)

    return {name: r for r, name in enumerate(sorted(order, key=key))}


def upstream(stages: Sequence[_StageLike], targets: Iterable[str]) -> set[str]:
    """The targets and every stage they need, directly or not."""
    return _closure(targets, {s.name: list(s.needs) for s in stages})


def downstream(stages: Sequence[_StageLike], sources: Iterable[str]) -> set[str]:
    """The sources and every stage that needs them, directly or not."""
    return _closure(sources, _children(stages))


def _closure(start: Iterable[str], edges: Mapping[str, Sequence[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        name = todo.pop()
        if name not in seen and name in edges:
            seen.add(name)
            todo.extend(edges[name])
    return seen
