"""Building a CommandLineTool's command line from plain data (the `data.command` of a plan stage).

It reads only plain JSON — the tool description `emit` writes into the plan and a CWL job object —
so the same function builds the command at compile time (values known) and in the executor's CWL
kinds at run time. It raises `params.NotStatic` when a value or expression is
not known yet.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from typing import Any

from cwlpilot.cwl.expr import PYTHON_ONLY, Evaluator
from cwlpilot.cwl.params import NotStatic


def command_line(
    tool: Mapping[str, Any], job: Mapping[str, Any], runtime: Mapping[str, Any], ev: Evaluator = PYTHON_ONLY
) -> str:
    """The shell command for `tool` run on the inputs `job` (a CWL job object with File paths)."""
    context = {"inputs": job, "runtime": runtime, "self": None, "ev": ev}
    keyed: list[tuple[tuple[int, int, Any], list[tuple[str, bool]]]] = []
    for index, arg in enumerate(tool.get("arguments", [])):
        words = _binding_words(arg, None, context)
        keyed.append(((_position(arg, context), 0, index), words))
    for name, spec in sorted(tool.get("inputs", {}).items()):
        binding = spec.get("inputBinding")
        if binding is None:
            continue
        value = job.get(name)
        if isinstance(value, Mapping) and "$ref" in value:
            raise NotStatic(name)
        keyed.append(((_position(binding, context), 1, name), _binding_words(binding, value, context)))
    words = [(w, True) for w in tool.get("baseCommand", [])]
    for _, group in sorted(keyed, key=lambda item: (item[0][0], item[0][1], str(item[0][2]))):
        words.extend(group)
    shell = bool(tool.get("shellCommand"))
    text = " ".join(shlex.quote(w) if quote or not shell else w for w, quote in words)
    for field, op in (("stdin", "<"), ("stdout", ">"), ("stderr", "2>")):
        target = tool.get(field)
        if target:
            text += f" {op} {shlex.quote(str(ev(target, context)))}"
    return text


def _position(binding: Mapping[str, Any], context: Mapping[str, Any]) -> int:
    position = binding.get("position", 0)
    if isinstance(position, str):
        position = context["ev"](position, context)
    return int(position or 0)


Words = list[tuple[str, bool]]


def _binding_words(binding: Mapping[str, Any], value: Any, context: Mapping[str, Any]) -> Words:
    """The words one binding adds, each with whether it must be shell-quoted."""
    if binding.get("valueFrom") is not None:
        value = context["ev"](str(binding["valueFrom"]), {**context, "self": value})
    quote = binding.get("shellQuote", True)
    prefix = binding.get("prefix")
    separate = binding.get("separate", True)
    if value is None or value is False:
        return []
    if value is True:
        return [(prefix, quote)] if prefix else []
    if isinstance(value, list):
        if not value:
            return []
        items = [_text(v) for v in value]
        sep = binding.get("itemSeparator")
        parts = [sep.join(items)] if sep is not None else items
    else:
        parts = [_text(value)]
    if not prefix:
        return [(p, quote) for p in parts]
    if separate:
        return [(prefix, quote)] + [(p, quote) for p in parts]
    return [(prefix + parts[0], quote)] + [(p, quote) for p in parts[1:]]


def _text(value: Any) -> str:
    if isinstance(value, Mapping):
        if value.get("class") in ("File", "Directory"):
            return str(value.get("path") or value.get("location", ""))
        raise NotStatic("record values on the command line")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
