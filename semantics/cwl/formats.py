"""File `format` checks on a process's inputs, as cwltool makes them when it starts a process's job.

cwltool (`Builder.bind_input`, builder.py) walks each input value along its declared type: a `format`
on a parameter or a record field applies to the File there, and to every item when the type is an
array; a record's own `format` is never applied to its fields. Each File must then have a `format`
equal to one of the allowed ones or a subclass of one (`cwl_utils.file_formats.check_format`:
`rdfs:subClassOf` upwards, `owl:equivalentClass` both ways, in the ontology of the documents'
`$schemas`). The compiler knows the ontology, the executor does not: the compiler hands over, for each
allowed format, every format the ontology makes a subclass of it (`closure`), and both sides check here.

A format spec is plain data, the parameter's type with the formats in it:
`{"type": "File", "format": F}`, `{"type": "array", "items": SPEC, "format": F}` (F applies to the
items), `{"type": "record", "fields": {name: SPEC}}`, `{"type": "union", "options": [SPEC, ...],
"format": F}` (F applies to the option the value fits), or `{"type": T}` for anything else.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from cwlpilot.semantics.cwl.errors import CwlError

Evaluate = Callable[[Any], Any]  # evaluates a `format` expression of the process (inputs known)


class FormatError(CwlError):
    """An input File lacks the `format` its parameter requires, or has an incompatible one."""


def check(
    name: str, value: Any, spec: Any, closure: Mapping[str, Any], evaluate: Evaluate | None = None
) -> None:
    """Raise FormatError when `value` (of input `name`) breaks the formats `spec` declares."""
    _walk(name, value, spec, None, closure, evaluate)


def _walk(name: str, value: Any, spec: Any, inherited: Any, closure: Mapping[str, Any], ev: Evaluate | None) -> None:
    if value is None or not isinstance(spec, Mapping):
        return
    fmt = spec.get("format", inherited)
    kind = spec.get("type")
    if kind == "union":  # the first option the value fits is the one bound (bind_input)
        option = next((o for o in spec.get("options") or () if _fits(value, o)), None)
        _walk(name, value, option, fmt, closure, ev)
    elif kind == "array" and isinstance(value, list):
        for item in value:
            _walk(name, item, spec.get("items"), fmt, closure, ev)
    elif kind == "record" and isinstance(value, Mapping):
        for field, field_spec in (spec.get("fields") or {}).items():
            _walk(field, value.get(field), field_spec, None, closure, ev)
    elif kind == "File" and fmt is not None and isinstance(value, Mapping):
        allowed = ev(fmt) if ev is not None and _is_expression(fmt) else fmt
        if not _is_expression(allowed):
            check_file(name, value, allowed, closure)


def _fits(value: Any, spec: Any) -> bool:
    kind = spec.get("type") if isinstance(spec, Mapping) else None
    if kind == "null":
        return value is None
    if kind in ("File", "Directory"):
        return isinstance(value, Mapping) and value.get("class") == kind
    if kind == "array":
        return isinstance(value, list)
    if kind == "record":
        return isinstance(value, Mapping) and "class" not in value
    return kind == "Any" or (value is not None and not isinstance(value, Mapping | list))


def _is_expression(fmt: Any) -> bool:
    return isinstance(fmt, str) and ("$(" in fmt or "${" in fmt)


def check_file(name: str, obj: Mapping[str, Any], allowed: Any, closure: Mapping[str, Any]) -> None:
    """cwl-utils' `check_format` for one File, with the ontology given as `closure`."""
    options = allowed if isinstance(allowed, list) else [allowed]
    if not all(isinstance(o, str) for o in options):
        raise FormatError(f"input '{name}': a `format` expression must give a string or a list of strings")
    shown = options[0] if len(options) == 1 else options
    if "format" not in obj:
        raise FormatError(f"Expected value of '{name}' to have format {shown!r} but File has no 'format' defined: "
                          f"{_file_json(obj)}")
    actual = obj["format"]
    if any(actual == o or actual in (closure.get(o) or ()) for o in options):
        return
    raise FormatError(f"Expected value of '{name}' to have format {shown!r} but File has an incompatible format: "
                      f"{_file_json(obj)}")


def _file_json(obj: Mapping[str, Any]) -> str:
    keep = {k: obj[k] for k in ("class", "location", "path", "basename", "format") if k in obj}
    return json.dumps(keep, sort_keys=True)
