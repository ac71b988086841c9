"""File formats: the format spec of each input (see `cwlpilot.semantics.cwl.formats`) and the ontology.

cwltool checks an input File's `format` against the allowed ones and, through the RDF graph of the
documents' `$schemas`, their subclasses (`cwl_utils.file_formats.formatSubclassOf`). The graph is read
here, with schema-salad's loader (`Loader.add_schemas`, what cwltool's loader does), once per compile
and only when some input declares a format; the stages get, for each format they allow, the list of
formats that count as it, so the executor checks without reading any ontology.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cwlpilot.compiler import ir
from cwlpilot.compiler.emit_tool import expand
from cwlpilot.compiler.sourcefile import SourceError, read_text
from cwlpilot.compiler.yamlsrc import uri_to_path


def format_spec(t: ir.CwlType, fmt: Any, namespaces: Mapping[str, str]) -> dict[str, Any] | None:
    """The spec of a parameter of type `t` with `format` `fmt`; None when no format applies anywhere."""
    spec = _spec(t, _expanded(fmt, namespaces), namespaces)
    return spec if _has_format(spec) else None


def _expanded(fmt: Any, namespaces: Mapping[str, str]) -> Any:
    fmt = ir.thaw(fmt)
    if isinstance(fmt, list):
        return [expand(f, namespaces) for f in fmt]
    return expand(fmt, namespaces) if fmt is not None else None


def _spec(t: ir.CwlType, fmt: Any, namespaces: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any]
    if isinstance(t, ir.UnionType):
        out = {"type": "union", "options": [_spec(o, None, namespaces) for o in t.options]}
    elif isinstance(t, ir.ArrayType):
        out = {"type": "array", "items": _spec(t.items, None, namespaces)}
    elif isinstance(t, ir.RecordType):
        fields = {}
        for f in t.fields:
            own = f.bindings.format if f.bindings else None
            fields[f.name] = _spec(f.type, _expanded(own, namespaces), namespaces)
        out = {"type": "record", "fields": fields}
    else:
        out = {"type": t if isinstance(t, str) else "enum"}
    if fmt is not None and not isinstance(t, ir.RecordType):  # a record's own format is never applied
        out["format"] = fmt
    return out


def _has_format(spec: Mapping[str, Any]) -> bool:
    return "format" in spec or any(_has_format(s) for s in _children(spec))


def _children(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield from spec.get("options") or ()
    if "items" in spec:
        yield spec["items"]
    yield from (spec.get("fields") or {}).values()


def allowed_formats(spec: Mapping[str, Any]) -> set[str]:
    """The literal formats a spec allows somewhere (expressions are left out: known at run time only)."""
    fmt = spec.get("format")
    found = {f for f in (fmt if isinstance(fmt, list) else [fmt]) if isinstance(f, str) and "$" not in f}
    for child in _children(spec):
        found |= allowed_formats(child)
    return found


def input_formats(process: ir.Process) -> dict[str, dict[str, Any]]:
    """Each input of `process` that declares formats, with its spec."""
    found = {}
    for p in process.inputs:
        spec = format_spec(p.type, p.format, process.namespaces)
        if spec is not None:
            found[p.id] = spec
    return found


@dataclass
class Ontology:
    """The subclass relation of the `$schemas` of the documents of one compile, read on first use."""

    schemas: tuple[str, ...]
    _below: dict[str, set[str]] | None = field(default=None, repr=False)

    def closure(self, formats: set[str]) -> dict[str, list[str]]:
        """For each format, the others that count as it (only those that have any)."""
        if not formats or not self.schemas:
            return {}
        below = self._graph()
        out = {}
        for fmt in sorted(formats):
            found: set[str] = set()
            todo = [fmt]
            while todo:
                for sub in below.get(todo.pop(), ()):
                    if sub not in found and sub != fmt:
                        found.add(sub)
                        todo.append(sub)
            if found:
                out[fmt] = sorted(found)
        return out

    def _graph(self) -> dict[str, set[str]]:
        if self._below is None:
            self._below = _read(self.schemas)
        return self._below


def _read(schemas: tuple[str, ...]) -> dict[str, set[str]]:
    """format -> the formats directly below it: `rdfs:subClassOf` reversed, `owl:equivalentClass` both ways."""
    from rdflib import OWL, RDFS
    from schema_salad.ref_resolver import Loader

    loader = Loader({}, fetcher_constructor=_bounded_fetcher())
    loader.add_schemas(list(schemas), schemas[0])  # each URI is absolute already
    below: dict[str, set[str]] = {}
    for sub, sup in loader.graph.subject_objects(RDFS.subClassOf):
        below.setdefault(str(sup), set()).add(str(sub))
    for one, other in loader.graph.subject_objects(OWL.equivalentClass):
        below.setdefault(str(one), set()).add(str(other))
        below.setdefault(str(other), set()).add(str(one))
    return below


def _bounded_fetcher() -> Any:
    """schema-salad's fetcher, reading local `$schemas` through compiler.sourcefile: left to itself it reads a
    file whole (`$schemas: [/dev/zero]` never ended). A file it cannot read is skipped with a warning, as
    `Loader.add_schemas` (and so cwltool) skips a schema it cannot load."""
    from schema_salad.exceptions import ValidationException
    from schema_salad.fetcher import DefaultFetcher

    class Bounded(DefaultFetcher):  # type: ignore[misc]
        def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
            if not url.startswith("file:"):
                return str(super().fetch_text(url, content_types))
            try:
                return read_text(uri_to_path(url))
            except SourceError as exc:
                raise ValidationException(exc.diagnostic.located) from None

    return Bounded


def all_schemas(process: ir.Process) -> tuple[str, ...]:
    """The `$schemas` of `process` and of every process it runs (cwltool has one graph for them all)."""
    found: dict[str, None] = {}
    seen: set[int] = set()
    todo: list[ir.Process] = [process]
    while todo:
        proc = todo.pop()
        if id(proc) in seen:
            continue
        seen.add(id(proc))
        found.update(dict.fromkeys(proc.schemas))
        if isinstance(proc, ir.Workflow):
            todo.extend(s.run for s in proc.steps if s.run is not None)
    return tuple(found)
