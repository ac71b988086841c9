"""A workflow step applied to its input values: defaults, scatter, valueFrom and `when`, per instance.

The compiler calls this with values that may still hold `$ref`s and a Python-only evaluator (it raises
`NotStatic` when run-time values are needed, and the step is then left to the executor); the executor's
CWL kinds call it with resolved values and JavaScript enabled. Both read the same plain data, the
`data.step` object of a plan stage:

    {"defaults": {port: value}, "valueFrom": {port: expr}, "scatter": [port, ...],
     "scatterMethod": M, "when": expr, "declared": [tool input, ...]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl import scatter as sc
from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import Evaluator
from cwlpilot.semantics.cwl.params import NotStatic
from cwlpilot.semantics.cwl.values import is_pending, with_default


class WhenError(CwlError):
    """A `when` expression gave something other than true or false."""


@dataclass(frozen=True)
class Instance:
    index: tuple[int, ...]  # () for a step without scatter
    values: dict[str, Any]  # the step's input values after valueFrom
    runs: bool  # False: its `when` is false, the instance is skipped and its outputs are null


def instances(
    spec: Mapping[str, Any], values: Mapping[str, Any], ev: Evaluator, limit: int | None = None
) -> tuple[list[Instance], list[int]]:
    """Every instance of the step, in order, and the gathered outputs' shape (empty without scatter);
    more than `limit` instances are a ScatterError (see scatter.instances)."""
    values = with_defaults(values, spec.get("defaults") or {})
    for port in spec.get("loadContents") or []:
        values[port] = with_contents(values.get(port))
    ports = list(spec.get("scatter") or [])
    method = spec.get("scatterMethod")
    if ports:
        indexed = sc.instances(values, ports, method, limit)
        shape = sc.shape(values, ports, method)
    else:
        indexed, shape = [((), dict(values))], []
    out = []
    for index, inst in indexed:
        inst = value_from(inst, spec.get("valueFrom") or {}, ev)
        out.append(Instance(index, inst, guard(spec.get("when"), inst, ev)))
    return out, shape


def with_defaults(values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Step defaults where a value is null; on a value still pending, decided when it is known."""
    out = dict(values)
    for port, default in defaults.items():
        out[port] = with_default(out.get(port), default)
    return out


def with_contents(value: Any) -> Any:
    """Files with their first 64 KiB in `contents` (CWL's loadContents), read now."""
    if is_pending(value):
        raise NotStatic("loadContents")
    return files.with_contents(value)


def value_from(values: dict[str, Any], exprs: Mapping[str, str], ev: Evaluator) -> dict[str, Any]:
    """Each port's `valueFrom` evaluated with `inputs` the values before any valueFrom (CWL's rule)."""
    if not exprs:
        return values
    out = dict(values)
    for port, expr in exprs.items():
        out[port] = ev(expr, {"inputs": values, "self": values.get(port)})
    return out


def guard(expr: str | None, values: Mapping[str, Any], ev: Evaluator) -> bool:
    if expr is None:
        return True
    result = ev(expr, {"inputs": values, "self": None})
    if not isinstance(result, bool):
        raise WhenError(f"`when` must give true or false, not {result!r}")
    return result


def tool_job(spec: Mapping[str, Any], values: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """The tool's job object: only the inputs it declares, its own defaults where a value is null."""
    job = {}
    for name in spec.get("declared") or []:
        value = values.get(name)
        job[name] = with_default(value, defaults[name]) if name in defaults else value
    return job
