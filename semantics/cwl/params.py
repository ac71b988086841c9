"""CWL parameter references (`$(inputs.x.path)`, `$(self[0])`, `$(runtime.cores)`) evaluated in Python.

Pure and small on purpose: anything beyond the parameter-reference grammar (JavaScript, `${...}`
bodies) raises `NotStatic`, and the caller leaves that expression for run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from cwlpilot.semantics.cwl.errors import CwlError

_SEGMENT = re.compile(r"""\.(\w+)|\['([^']*)'\]|\["([^"]*)"\]|\[(\d+)\]""")
_SYMBOL = re.compile(r"(inputs|self|runtime)")


class NotStatic(Exception):
    """The text needs JavaScript or a value only known at run time."""


class UnknownInput(CwlError):
    """`inputs.X` names an input the process does not have."""


def has_expression(text: str) -> bool:
    return "$(" in text or "${" in text


def evaluate(text: str, context: Mapping[str, Any]) -> Any:
    """The value of `text`: one whole `$(...)` gives the value itself, otherwise the interpolated string."""
    if "${" in text.replace("\\${", ""):
        raise NotStatic(text)
    parts = _split(text)
    if len(parts) == 1 and isinstance(parts[0], tuple):
        return _resolve(parts[0][0], context)
    return "".join(p if isinstance(p, str) else _to_text(_resolve(p[0], context)) for p in parts)


def _split(text: str) -> list[str | tuple[str]]:
    """Literal pieces and `(reference,)` tuples, honouring `\\$(` escapes."""
    parts: list[str | tuple[str]] = []
    i, literal = 0, []
    while i < len(text):
        if text.startswith("\\$(", i):
            literal.append("$(")
            i += 3
        elif text.startswith("$(", i):
            end = _closing(text, i + 1)
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append((text[i + 2 : end],))
            i = end + 1
        else:
            literal.append(text[i])
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def _closing(text: str, open_at: int) -> int:
    depth = 0
    for j in range(open_at, len(text)):
        depth += {"(": 1, ")": -1}.get(text[j], 0)
        if depth == 0:
            return j
    raise NotStatic(text)


def _resolve(ref: str, context: Mapping[str, Any]) -> Any:
    ref = ref.strip()
    head = _SYMBOL.match(ref)
    if head is None:
        raise NotStatic(ref)
    segments = []
    pos = head.end()
    while pos < len(ref):  # the whole text must be a plain reference before anything is looked up
        seg = _SEGMENT.match(ref, pos)
        if seg is None:
            raise NotStatic(ref)  # not a plain reference: JavaScript
        segments.append((next(g for g in seg.groups() if g is not None), seg.group(4) is not None))
        pos = seg.end()
    value: Any = context.get(head.group(1))
    for n, (key, is_index) in enumerate(segments):
        if n == 0 and head.group(1) == "inputs" and isinstance(value, Mapping) and key not in value:
            raise UnknownInput(f"`{ref}`: there is no input '{key}'")
        value = _step_into(value, key, is_index, ref)
    if isinstance(value, Mapping) and ("$ref" in value or "$merge" in value):
        raise NotStatic(ref)  # produced upstream
    return value


def _step_into(value: Any, key: str, is_index: bool, ref: str) -> Any:
    if isinstance(value, Mapping) and ("$ref" in value or "$merge" in value):
        raise NotStatic(ref)
    if is_index and isinstance(value, list):
        return value[int(key)] if int(key) < len(value) else None
    if key == "length" and isinstance(value, (list, str)):
        return len(value)
    if key == "length" and not (isinstance(value, Mapping) and "length" in value):
        raise UnknownInput(f"`{ref}`: `length` of a value that is not an array")
    if isinstance(value, Mapping):
        return value.get(key)
    return None


def _to_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value, sort_keys=True)  # as cwl-utils writes a value inside a longer string
