"""Checking an inputs file (the CWL job) against a process's inputs: missing, mistyped, absent files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from cwlpilot.compiler import cwltypes as T
from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.yamlsrc import Node, YamlCache
from cwlpilot.semantics.cwl import files


def check_job(process: ir.Process, job_path: str, yaml: YamlCache) -> list[Diagnostic]:
    """Every problem with the inputs file at `job_path` for `process` (empty when it is fine)."""
    node = yaml.node(job_path)
    if node is None:
        return [yaml.errors[os.path.abspath(job_path)]]
    return check_job_node(process, node, os.path.dirname(os.path.abspath(job_path)))


def check_job_node(process: ir.Process, node: Node, base: str) -> list[Diagnostic]:
    """Every problem with the job object in `node` (an inputs file's, or one read from standard input or
    made from command-line flags), whose relative paths are relative to `base`."""
    job = node.value if node.value is not None else {}
    if not isinstance(job, Mapping):
        return [Diagnostic(node.pos(), "the inputs file must map input names to values", rule="cwl-inputs")]
    found = []
    for param in process.inputs:
        if param.id not in job:
            if not param.has_default and not T.accepts_null(param.type):
                shown = f"'{param.id}' ({ir.type_str(param.type)})"
                message = f"required input {shown} is missing (declared at {param.pos})"
                found.append(Diagnostic(Pos(node.file, 1, 1), message, rule="cwl-inputs"))
            continue
        if job[param.id] is None and param.has_default:
            continue  # an explicit null takes the default, as an absent value does
        problem = value_problem(job[param.id], param.type, base)
        if problem:
            found.append(Diagnostic(node.pos(param.id), f"input '{param.id}': {problem}", rule="cwl-inputs"))
    return found


def value_problem(value: Any, t: ir.CwlType, base: str) -> str | None:
    """Why `value` cannot be of type `t`, or None when it can."""
    t = T.normalize(t)
    if t == "Any":
        return None if value is not None else "expected a value, got null"
    if isinstance(t, ir.UnionType):
        problems = [value_problem(value, o, base) for o in t.options]
        if any(p is None for p in problems):
            return None
        return f"expected {ir.type_str(t)}, got {_describe(value)}"
    if isinstance(t, ir.ArrayType):
        if not isinstance(value, list):
            return f"expected {ir.type_str(t)}, got {_describe(value)}"
        for index, item in enumerate(value):
            problem = value_problem(item, t.items, base)
            if problem:
                return f"item {index}: {problem}"
        return None
    if isinstance(t, ir.EnumType):
        if value in t.symbols:
            return None
        return f"expected one of {', '.join(t.symbols)}, got {value!r}"
    if isinstance(t, ir.RecordType):
        return _record_problem(value, t, base)
    return _scalar_problem(value, str(t), base)


def _record_problem(value: Any, t: ir.RecordType, base: str) -> str | None:
    if not isinstance(value, Mapping):
        return f"expected a record, got {_describe(value)}"
    for f in t.fields:
        problem = value_problem(value.get(f.name), f.type, base)
        if problem:
            return f"field '{f.name}': {problem}"
    return None


_SCALARS = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "long": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "float": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "double": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
}


def _scalar_problem(value: Any, t: str, base: str) -> str | None:
    if t in ("File", "Directory"):
        return _file_problem(value, t, base)
    ok = _SCALARS.get(t)
    if ok is None or ok(value):
        return None
    return f"expected {t}, got {_describe(value)}"


def _file_problem(value: Any, t: str, base: str) -> str | None:
    if not isinstance(value, Mapping) or value.get("class") != t:
        return f"expected {t} (a mapping with `class: {t}`), got {_describe(value)}"
    if "contents" in value or "listing" in value:
        return None
    where = value.get("path") or value.get("location")
    if not isinstance(where, str):
        return f"a {t} needs `path` or `location`"
    if "://" in where and not where.startswith("file://"):
        return None  # remote: cannot be checked here
    path = files.path_of(value, base) or base
    exists = os.path.isfile(path) if t == "File" else os.path.isdir(path)
    return None if exists else f"{t.lower()} '{where}' does not exist"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping) and value.get("class") in ("File", "Directory"):
        return f"a {value['class']}"
    return "a mapping"
