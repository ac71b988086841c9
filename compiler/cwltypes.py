"""CWL type arithmetic for checks: what type a connection carries and whether a port accepts it.

Deliberately lenient where CWL runners differ (numbers convert, enums pass as strings, records are
not compared field by field): a mismatch is reported only when no value could pass.
"""

from __future__ import annotations

from cwlpilot.compiler import ir

NUMBERS = frozenset({"int", "long", "float", "double"})


def normalize(t: ir.CwlType) -> ir.CwlType:
    """`stdout`/`stderr` outputs are Files; a one-option union is its option."""
    if t in ("stdout", "stderr"):
        return "File"
    if t == "stdin":
        return "File"
    if isinstance(t, ir.UnionType):
        flat: list[ir.CwlType] = []
        for option in (normalize(o) for o in t.options):
            flat.extend(option.options if isinstance(option, ir.UnionType) else (option,))
        options = tuple(dict.fromkeys(flat))
        return options[0] if len(options) == 1 else ir.UnionType(options)
    if isinstance(t, ir.ArrayType):
        return ir.ArrayType(normalize(t.items))
    return t


def optional(t: ir.CwlType) -> ir.CwlType:
    """`t` or null."""
    if accepts_null(t):
        return t
    options = t.options if isinstance(t, ir.UnionType) else (t,)
    return ir.UnionType(("null", *options))


def non_null(t: ir.CwlType) -> ir.CwlType:
    t = normalize(t)
    if isinstance(t, ir.UnionType):
        rest = tuple(o for o in t.options if o != "null")
        return rest[0] if len(rest) == 1 else ir.UnionType(rest) if rest else "null"
    return t


def accepts_null(t: ir.CwlType) -> bool:
    if t in ("null", "Any"):
        return t == "null"
    return isinstance(t, ir.UnionType) and any(accepts_null(o) for o in t.options)


def is_array(t: ir.CwlType) -> bool:
    """Could a value of type `t` be an array (what scatter needs)?"""
    t = normalize(t)
    if t == "Any" or isinstance(t, ir.ArrayType):
        return True
    return isinstance(t, ir.UnionType) and any(is_array(o) for o in t.options if o != "null")


def items(t: ir.CwlType) -> ir.CwlType:
    """The element type of an array type (Any when unknown)."""
    t = normalize(t)
    if isinstance(t, ir.ArrayType):
        return t.items
    if isinstance(t, ir.UnionType):
        arrays = [o for o in t.options if isinstance(o, ir.ArrayType)]
        return arrays[0].items if len(arrays) == 1 else "Any"
    return "Any"


def compatible(source: ir.CwlType, sink: ir.CwlType) -> bool:
    """True when some value of type `source` is acceptable to a port of type `sink`."""
    source, sink = normalize(source), normalize(sink)
    if source == "Any" or sink == "Any":
        return True
    if isinstance(sink, ir.UnionType):
        return any(compatible(source, option) for option in sink.options)
    if isinstance(source, ir.UnionType):
        return any(compatible(option, sink) for option in source.options if option != "null") or (
            all(o == "null" for o in source.options)
        )
    if isinstance(source, ir.ArrayType) or isinstance(sink, ir.ArrayType):
        both = isinstance(source, ir.ArrayType) and isinstance(sink, ir.ArrayType)
        return both and compatible(source.items, sink.items)  # type: ignore[union-attr]
    return _scalar_compatible(source, sink)


def _scalar_compatible(source: ir.CwlType, sink: ir.CwlType) -> bool:
    if source == sink:
        return True
    if source in NUMBERS and sink in NUMBERS:
        return True
    textual = ("string",)
    if isinstance(source, ir.EnumType) and (sink in textual or isinstance(sink, ir.EnumType)):
        return True
    if isinstance(sink, ir.EnumType) and source in textual:
        return True
    return isinstance(source, ir.RecordType) and isinstance(sink, ir.RecordType)


def merged(types: list[ir.CwlType], link_merge: str | None, pick_value: str | None) -> ir.CwlType:
    """The type delivered by several sources after `linkMerge` and `pickValue`."""
    if len(types) == 1 and link_merge is None:
        result = types[0]
    elif link_merge == "merge_flattened":
        flat = [items(t) if is_array(t) and normalize(t) != "Any" else t for t in types]
        result = ir.ArrayType(_union(flat))
    else:  # merge_nested is the default for several sources
        result = ir.ArrayType(_union(types))
    if pick_value in ("first_non_null", "the_only_non_null"):
        inner = items(result) if len(types) > 1 or link_merge else result
        return non_null(inner)
    if pick_value == "all_non_null":
        return ir.ArrayType(non_null(items(result)))
    return result


def _union(types: list[ir.CwlType]) -> ir.CwlType:
    unique = tuple(dict.fromkeys(normalize(t) for t in types))
    return unique[0] if len(unique) == 1 else ir.UnionType(unique)


# -- cwltool's static check of a connection (checker.py: check_types, can_assign_src_to_sink) ---------------
# Stricter than `compatible` above and the rule `check` applies: cwltool 3.3 rejects a workflow whose
# connection cannot pass even leniently (an enum into a string, an int into a long), and only warns when
# some, not all, of the source's types fit.


def check_link(src: ir.CwlType, sink: ir.CwlType, link_merge: str | None, pick_value: str | None) -> str:
    """"pass", "warning" or "exception", as cwltool's `check_types` on one source of a sink (a sink with
    `valueFrom` is not checked at all: the caller skips it)."""
    src, sink = normalize(src), normalize(sink)
    if pick_value is not None and isinstance(src, ir.ArrayType):
        items_ = src.items
        if isinstance(items_, ir.UnionType) and "null" in items_.options:
            rest = tuple(o for o in items_.options if o != "null")
            if pick_value == "all_non_null":
                src = ir.ArrayType(rest[0] if len(rest) == 1 else ir.UnionType(rest))
            else:
                src = rest[0] if len(rest) == 1 else ir.UnionType(rest)
    if link_merge == "merge_nested":
        return check_link(ir.ArrayType(src), sink, None, None)
    if link_merge == "merge_flattened":
        return check_link(_flatten_type(src), sink, None, None)
    if can_assign(src, sink, strict=True):
        return "pass"
    return "warning" if can_assign(src, sink, strict=False) else "exception"


def _flatten_type(t: ir.CwlType) -> ir.CwlType:
    if isinstance(t, ir.UnionType):
        return ir.UnionType(tuple(_flatten_type(o) for o in t.options))
    return t if isinstance(t, ir.ArrayType) else ir.ArrayType(t)


def can_assign(src: ir.CwlType, sink: ir.CwlType, strict: bool = False) -> bool:
    """cwltool's `can_assign_src_to_sink`: strict, every type of the source fits; otherwise some type
    other than null does. Arrays compare items, records their fields by name, any enum fits any enum."""
    if src == "Any" or sink == "Any":
        return True
    if isinstance(src, ir.UnionType):
        if strict:
            return all(can_assign(o, sink) for o in src.options)
        return any(o != "null" and can_assign(o, sink) for o in src.options)
    if isinstance(sink, ir.UnionType):
        return any(can_assign(src, o) for o in sink.options)
    if isinstance(src, ir.ArrayType) and isinstance(sink, ir.ArrayType):
        return can_assign(src.items, sink.items, strict)
    if isinstance(src, ir.RecordType) and isinstance(sink, ir.RecordType):
        fields = {f.name: f.type for f in src.fields}
        return all(can_assign(fields.get(f.name, "null"), f.type, strict) for f in sink.fields)
    if isinstance(src, ir.EnumType) and isinstance(sink, ir.EnumType):
        return True
    return isinstance(src, str) and src == sink
