"""Reading a plan's JSON text, whatever the file holds: every failure is a PlanError naming file, line, column.

Limits (README "Plans"): a plan file of at most MAX_BYTES; UTF-8 text without NUL; JSON nested at most
MAX_DEPTH levels in its free-form values (`data`, `outputs`, `loop`, `meta`; the fixed keys are shallow by
the schema); numbers finite and integers of at most Python's 4,300 digits; no key given twice in an object.
They keep a hostile or broken file from costing more than a fraction of a second and a few times its size
in memory, far above what any generator writes (a 10,000-stage plan is about 3 MB, nested 6 levels).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from cwlpilot.executor.errors import PlanError

MAX_BYTES = 256 * 2**20
MAX_DEPTH = 64
_BIG_INT = re.compile(r"-?[0-9]{4300,}")


class _Duplicate(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return out


def _not_finite(name: str) -> float:
    raise ValueError(f"{name} is not a number a plan may hold")


def position(text: str, offset: int) -> tuple[int, int]:
    """(line, column), 1-based, of a character offset."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def read_text(path: Path) -> str:
    """The file's text, or a PlanError saying why it is not a text file a plan can be."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_BYTES + 1)
    except IsADirectoryError:
        raise PlanError([f"{path}: is a folder, not a plan file"]) from None
    except OSError as exc:
        raise PlanError([f"{path}: cannot read the plan: {exc.strerror or exc}"]) from None
    if len(data) > MAX_BYTES:
        raise PlanError([f"{path}: larger than {MAX_BYTES // 2**20} MB; not a plan cwlpilot reads"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = position(data[: exc.start].decode("utf-8", "replace"), exc.start)
        raise PlanError([f"{path}:{line}:{col}: not UTF-8 text (byte 0x{data[exc.start]:02x}); "
                         "a plan is a JSON file"]) from None
    nul = text.find("\0")
    if nul >= 0:
        line, col = position(text, nul)
        raise PlanError([f"{path}:{line}:{col}: a NUL byte: this is not a text file"])
    return text


def parse_json(text: str, source: str) -> Any:
    """The JSON document in `text`, refusing duplicate keys, NaN/Infinity and over-long integers."""
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_not_finite)
    except json.JSONDecodeError as exc:
        raise PlanError([f"{source}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"]) from None
    except _Duplicate as dup:
        raise PlanError(duplicate_messages(text, source, dup.key)) from None
    except RecursionError:
        line, col = _deepest(text, MAX_DEPTH)
        raise PlanError([f"{source}:{line}:{col}: nested too deeply (more than {MAX_DEPTH} levels)"]) from None
    except ValueError as exc:  # an integer of thousands of digits, or NaN / Infinity
        big = _BIG_INT.search(text)
        if big is not None:
            line, col = position(text, big.start())
            raise PlanError([f"{source}:{line}:{col}: a number of {len(big.group().lstrip('-'))} digits; "
                             "not a number a plan may hold"]) from None
        raise PlanError([f"{source}: {exc}"]) from None


def duplicate_messages(text: str, source: str, key: str) -> list[str]:
    """One message per object that repeats a key, naming the lines of both (error path only: a slow scan)."""
    out = []
    for first, second in _repeated_keys(text):
        (l1, _), (l2, c2) = position(text, first[1]), position(text, second[1])
        out.append(f"{source}:{l2}:{c2}: key '{second[0]}' given twice in the same object (lines {l1} and {l2}); "
                   "JSON readers disagree on which one counts")
    return out or [f"{source}: key '{key}' given twice in the same object"]


def _repeated_keys(text: str) -> list[tuple[tuple[str, int], tuple[str, int]]]:
    """For every object with a repeated key: (key, offset) of its first and second occurrence."""
    found = []
    stack: list[dict[str, int] | None] = []  # per open container: keys seen (objects) or None (arrays)
    i, n = 0, len(text)
    expect_key = False
    while i < n:
        ch = text[i]
        if ch == '"':
            end = _string_end(text, i)
            if stack and stack[-1] is not None and expect_key:
                key = json.loads(text[i:end])
                seen = stack[-1]
                if key in seen:
                    found.append(((key, seen[key]), (key, i)))
                else:
                    seen[key] = i
                expect_key = False
            i = end
            continue
        if ch == "{":
            stack.append({})
            expect_key = True
        elif ch == "[":
            stack.append(None)
        elif ch in "]}":
            if stack:
                stack.pop()
        elif ch == "," and stack and stack[-1] is not None:
            expect_key = True
        i += 1
    return found


def _string_end(text: str, start: int) -> int:
    i = start + 1
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == '"':
            return i + 1
        else:
            i += 1
    return len(text)


def _deepest(text: str, limit: int) -> tuple[int, int]:
    """Where the nesting first passes `limit` levels (outside strings)."""
    depth, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = _string_end(text, i)
            continue
        if ch in "[{":
            depth += 1
            if depth > limit:
                return position(text, i)
        elif ch in "]}":
            depth -= 1
        i += 1
    return 1, 1


def check_depth(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when `value` nests at most `limit` levels (iterative: a deep value cannot overflow the stack)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return True
