"""Building a CommandLineTool's command line from plain data (the `data.command` of a plan stage).

It reads only plain JSON — the tool description the compiler writes into the plan and a CWL job
object — so the same function builds the command at compile time (values known) and in the executor's
CWL kinds at run time. It raises `params.NotStatic` when a value or expression is not known yet.

Bindings are sorted as CWL says: by position, then arguments before inputs, then by name; a record's
fields and an array's items with their own binding are sorted within their parameter's place.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.expr import PYTHON_ONLY, Evaluator
from cwlpilot.semantics.cwl.params import NotStatic

Words = list[tuple[str, bool]]  # each word with whether it must be shell-quoted
Key = tuple[tuple[int, int, str], ...]


def command_line(
    tool: Mapping[str, Any], job: Mapping[str, Any], runtime: Mapping[str, Any], ev: Evaluator = PYTHON_ONLY
) -> str:
    """The shell command for `tool` run on the inputs `job` (a CWL job object with File paths)."""
    context = {"inputs": job, "runtime": runtime, "self": None, "ev": ev}
    keyed: list[tuple[Key, Words]] = []
    for index, arg in enumerate(tool.get("arguments", [])):
        keyed.append((((_position(arg, context), 0, f"{index:08d}"),), _binding_words(arg, None, context, None)))
    for name, spec in sorted(tool.get("inputs", {}).items()):
        value = job.get(name)
        if isinstance(value, Mapping) and ("$ref" in value or "$merge" in value):
            raise NotStatic(name)
        binding = spec.get("inputBinding")
        key: Key = ((_position(binding, {**context, "self": value}), 1, name),) if binding is not None else ()
        keyed.extend(_bind(binding, spec.get("schema"), value, key, name, context))
    words = [(w, True) for w in tool.get("baseCommand", [])]
    for _, group in sorted(keyed, key=lambda item: item[0]):
        words.extend(group)
    shell = bool(tool.get("shellCommand"))
    text = " ".join(shlex.quote(w) if quote or not shell else w for w, quote in words)
    redirects = ""
    for field, op in (("stdin", "<"), ("stdout", ">"), ("stderr", "2>")):
        target = tool.get(field)
        if target:
            redirects += f" {op} {shlex.quote(str(ev(target, context)))}"
    if redirects and shell:
        # the streams of the whole shell command, `a && b` included; a newline ends it whatever its last word
        return f"{{ {text}\n}}{redirects}"
    return text + redirects


def _bind(
    binding: Mapping[str, Any] | None, schema: Any, value: Any, key: Key, name: str, context: Mapping[str, Any]
) -> list[tuple[Key, Words]]:
    """The keyed words of one parameter, walking into records and item bindings of its schema."""
    schema = _matching(schema, value)
    nested = _nested(schema, value)
    out: list[tuple[Key, Words]] = []
    if value is None:
        return out  # a null input adds nothing, whatever its valueFrom says
    if binding is not None:
        out.append((key, _binding_words(binding, value, context, schema if nested else None)))
    if not nested or value is None:
        return out
    assert isinstance(schema, Mapping)
    if schema["type"] == "record" and isinstance(value, Mapping):
        for field in schema.get("fields", []):
            fb = field.get("inputBinding")
            fvalue = value.get(field["name"])
            fkey = (*key, (_position(fb, {**context, "self": fvalue}) if fb else 0, 1, field["name"]))
            out.extend(_bind(fb, field.get("type"), value.get(field["name"]), fkey, field["name"], context))
    elif schema["type"] == "array" and isinstance(value, list):
        ib = schema.get("inputBinding") or {}  # records as items: each one's fields, in item order
        for n, item in enumerate(value):
            ikey = (*key, (_position(ib, {**context, "self": item}), 1, f"{n:08d}"))
            out.extend(_bind(ib, schema.get("items"), item, ikey, name, context))
    return out


def _nested(schema: Any, value: Any) -> bool:
    """Does the value's schema hold bindings of its own: a record, or an array with item bindings or
    records as items?"""
    if not isinstance(schema, Mapping):
        return False
    if schema.get("type") == "record":
        return True
    if schema.get("type") != "array":
        return False
    if "inputBinding" in schema:
        return True
    items = value if isinstance(value, list) else []
    return any(_nested(_matching(schema.get("items"), item), item) for item in items)


def _matching(schema: Any, value: Any) -> Any:
    """The option of a union schema that `value` has (records and arrays only matter here)."""
    if isinstance(schema, Mapping) or not isinstance(schema, list):
        return schema
    for option in schema:
        if isinstance(option, Mapping):
            if option.get("type") == "array" and isinstance(value, list):
                return option
            if option.get("type") == "record" and _record_fits(option, value):
                return option
    return None


def _record_fits(schema: Mapping[str, Any], value: Any) -> bool:
    """Could `value` be this record: a plain mapping whose enum fields hold one of their symbols?"""
    if not isinstance(value, Mapping) or "class" in value:
        return False
    names = {f["name"] for f in schema.get("fields", [])}
    if set(value) - names:
        return False
    for field in schema.get("fields", []):
        t = field.get("type")
        if isinstance(t, Mapping) and t.get("type") == "enum" and value.get(field["name"]) not in t["symbols"]:
            return False
    return True


def _position(binding: Mapping[str, Any] | None, context: Mapping[str, Any]) -> int:
    position = (binding or {}).get("position", 0)
    if type(position) is int:  # nearly always: once per binding of every stage
        return position
    if isinstance(position, str):
        position = context["ev"](position, context)
    if position is None:
        return 0
    if isinstance(position, bool) or not isinstance(position, (int, float)) or not math.isfinite(position):
        raise CwlError(f"a binding's `position` must be a number, not {str(position)[:60]!r}")
    return int(position)


def _binding_words(binding: Mapping[str, Any], value: Any, context: Mapping[str, Any], nested: Any) -> Words:
    """The words one binding adds; for a record or an item-bound array only its prefix (the rest is nested)."""
    if binding.get("valueFrom") is not None:
        value = context["ev"](str(binding["valueFrom"]), {**context, "self": value})
        nested = None  # the computed value stands for the whole parameter
    quote = binding.get("shellQuote", True)
    prefix = binding.get("prefix")
    separate = binding.get("separate", True)
    if value is None or value is False:
        return []
    if value is True or nested is not None:
        return [(prefix, quote)] if prefix else []
    if isinstance(value, list):
        if not value:
            return []
        items = [_text(v) for v in _flat(value)]
        sep = binding.get("itemSeparator")
        parts = [sep.join(items)] if sep is not None else items
    else:
        parts = [_text(value)]
    if not prefix:
        return [(p, quote) for p in parts]
    if separate:
        return [(prefix, quote)] + [(p, quote) for p in parts]
    return [(prefix + parts[0], quote)] + [(p, quote) for p in parts[1:]]


def _flat(value: list[Any]) -> list[Any]:
    return [x for v in value for x in (_flat(v) if isinstance(v, list) else [v])]


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            if not (value.get("path") or value.get("location")):
                raise NotStatic("a File literal is written at run time")
            return str(value.get("path") or value.get("location", ""))
        raise NotStatic("record values on the command line")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        # decimals, never scientific notation, as CWL runners print numbers on command lines
        return str(int(value)) if value.is_integer() else format(Decimal(repr(value)), "f")
    return str(value)
