"""Scatter expansion: one job per element (dotproduct) or per combination (crossproducts).

Pure: given the step's input values and the scattered ports, return the index of every instance
and its values, plus how to gather their outputs back into (nested) arrays.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.params import NotStatic
from cwlpilot.semantics.cwl.values import is_pending


class ScatterError(CwlError):
    """Scatter over values that are not arrays, or arrays of different lengths."""


def instances(
    values: Mapping[str, Any], ports: Sequence[str], method: str | None, limit: int | None = None
) -> list[tuple[tuple[int, ...], dict[str, Any]]]:
    """(index, values) for every instance, in order; an index has one entry per nesting level.

    With `limit`, more instances than that are a ScatterError, raised before any is made: a cross
    product of three 1,000-element arrays would be 10^9 of them.
    """
    arrays = {}
    for port in ports:
        value = values.get(port)
        if isinstance(value, dict) and is_pending(value):
            raise NotStatic(port)  # produced upstream: the instances are known at run time only
        if not isinstance(value, list):
            raise ScatterError(f"scatter over '{port}' needs an array")
        arrays[port] = value
    method = method or "dotproduct"
    if limit is not None:
        sizes = [len(a) for a in arrays.values()]
        count = max(sizes, default=0) if method == "dotproduct" else math.prod(sizes)
        if count > limit:
            raise ScatterError(f"the scatter makes {count} instances, more than the {limit} allowed")
    if method == "dotproduct":
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) > 1:
            shown = ", ".join(f"'{p}' has {len(a)}" for p, a in arrays.items())
            raise ScatterError(f"dotproduct scatter needs arrays of one length: {shown}")
        count = lengths.pop() if lengths else 0
        return [((i,), {**values, **{p: arrays[p][i] for p in ports}}) for i in range(count)]
    combos = itertools.product(*(range(len(arrays[p])) for p in ports))
    result = []
    for combo in combos:
        chosen = {p: arrays[p][i] for p, i in zip(ports, combo, strict=True)}
        result.append((tuple(combo), {**values, **chosen}))
    if method == "flat_crossproduct":
        return [((n,), v) for n, (_, v) in enumerate(result)]
    return result


def gather(indexed: Sequence[tuple[tuple[int, ...], Any]], shape: Sequence[int]) -> Any:
    """Per-instance values put back into arrays: flat for one level, nested for nested_crossproduct."""
    if len(shape) <= 1:
        return [value for _, value in indexed]
    by_first: dict[int, list[tuple[tuple[int, ...], Any]]] = {i: [] for i in range(shape[0])}
    for index, value in indexed:
        by_first[index[0]].append((index[1:], value))
    return [gather(by_first[i], shape[1:]) for i in range(shape[0])]


def shape(values: Mapping[str, Any], ports: Sequence[str], method: str | None) -> list[int]:
    """Array lengths per nesting level of the gathered outputs."""
    lengths = [len(values[p]) for p in ports]
    if method == "nested_crossproduct":
        return lengths
    if method == "flat_crossproduct":
        total = 1
        for n in lengths:
            total *= n
        return [total]
    return [lengths[0] if lengths else 0]


def instance_name(name: str, index: tuple[int, ...]) -> str:
    return name + "".join(f"[{i}]" for i in index)
