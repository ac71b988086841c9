"""What cwltool's `--make-template`, `--print-dot` and `--print-targets` show, made from the IR.

Followed, cwltool 3.3: `main.generate_example_input`, `generate_input_template` and `make_template` (the
template: each input with an example value and a comment, dumped by ruamel.yaml with 4-space indents);
`cwlrdf.printdot` with `cwlviewer.CWLViewer` and its SPARQL queries (the graph: step-to-step edges with
both steps declared, then the inputs cluster and the input-to-step edges, then the outputs cluster and
the step-to-output edges, one line per connection); `main.print_targets` (the names `--target` takes).

cwltool names types and enum symbols by their full URIs in these views (`"file:///.../wf.cwl#mode/fast"`);
here they are named as the document spells them (`fast`), the names a job file uses. cwltool's
schema-salad turns map-form `inputs` into a list sorted by name, and the template inserts each input at
the top: so a map-form document's inputs come in reverse alphabetical order, a list-form one's in
reverse document order, here as there.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.representer import RoundTripRepresenter

from cwlpilot.compiler import fastyaml, ir
from cwlpilot.compiler.sourcefile import SourceError, read_text
from cwlpilot.compiler.yamlsrc import uri_to_path

_EXAMPLES: dict[str, Any] = {"null": "null", "Any": "null", "boolean": False, "int": 0, "long": 0, "float": 0.1,
                             "double": 0.1, "string": "a_string"}


def make_template(process: ir.Process) -> str:
    """cwltool's `--make-template`: a YAML inputs object for `process`, each value an example."""
    template = CommentedMap()
    for param in _cwltool_order(process):
        value, comment = _example(param.type, ir.thaw(param.default) if param.has_default else None)
        template.insert(0, param.id, value, comment or None)
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.indent = 4
    yaml.block_seq_indent = 2
    yaml.representer.add_representer(type(None), _null)
    text = io.StringIO()
    yaml.dump(template, text)
    return text.getvalue()


def _null(representer: RoundTripRepresenter, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def _cwltool_order(process: ir.Process, field: str = "inputs") -> list[Any]:
    """The `field` entries (inputs, outputs, steps) in the order cwltool holds them: sorted by name when the
    document maps them, as schema-salad's resolver sorts an id map."""
    entries: list[Any] = list(getattr(process, field, ()))
    doc = _document(process)
    if isinstance(doc, Mapping) and isinstance(doc.get(field), Mapping):
        return sorted(entries, key=lambda p: str(p.id))
    return entries


def _document(process: ir.Process) -> Any:
    """The YAML tree of `process` as written (its `$graph` entry), or None when it cannot be read again."""
    path, fragment = uri_to_path(process.uri), process.uri.partition("#")[2]
    try:
        doc = fastyaml.load(read_text(path), "safe")
    except (SourceError, ValueError, OSError):
        return None
    if isinstance(doc, Mapping) and isinstance(doc.get("$graph"), list):
        wanted = fragment or "main"
        return next((e for e in doc["$graph"] if isinstance(e, Mapping) and
                     str(e.get("id", "")).lstrip("#") == wanted), None)
    return doc if not fragment else None


def _example(t: ir.CwlType, default: Any) -> tuple[Any, str]:
    """cwltool's `generate_example_input`: an example value of type `t` and the comment that describes it."""
    if isinstance(t, ir.UnionType):
        return _union_example(t, default)
    if isinstance(t, ir.ArrayType):
        return _array_example(t, default)
    if isinstance(t, ir.EnumType):
        if default is not None:
            example = default
        elif len(t.symbols) == 1:
            example = t.symbols[0]
        else:
            example = f"{t.name or 'valid'}_enum_value"
        return example, 'enum; valid values: "{}"'.format('", "'.join(t.symbols))
    if isinstance(t, ir.RecordType):
        record = CommentedMap()
        for f in t.fields:
            value, comment = _example(f.type, None)
            record.insert(0, f.name, value, comment or None)
        return record, f'"{t.name}" record type.' if t.name else "Anonymous record type."
    if not default:  # as cwltool: a default of 0, false or "" reads as none
        return _primitive(t), f"type {t!r}"
    return default, f"default value of type {t!r}."


def _primitive(t: str) -> Any:
    if t in ("File", "Directory"):
        return CommentedMap([("class", t), ("path", f"a/{t.lower()}/path" if t == "Directory" else "a/file/path")])
    return _EXAMPLES.get(t, t)


def _union_example(t: ir.UnionType, default: Any) -> tuple[Any, str]:
    options = [o for o in t.options if o != "null"]
    optional = len(options) < len(t.options)
    if not options:
        return _example("null", default)
    example, comment = _example(options[0], default)
    if len(options) > 1:
        comment = "one of " + ", ".join(c for c in (_example(o, default)[1] for o in options) if c)
    if optional:
        comment = f"{comment} (optional)" if comment else "optional"
    return example, comment


def _array_example(t: ir.ArrayType, default: Any) -> tuple[Any, str]:
    if isinstance(t.items, ir.EnumType):
        example: Any = list(t.items.symbols)
        comment = f'array of type "{t.items.name}".' if t.items.name else ""
    else:
        value, comment = _example(t.items, None)
        example, comment = [value], f"array of {comment}"
    return (default if default is not None else example), comment


# Graphviz IDs that need no quotes (pydot's `id_needs_quotes`, which cwltool's viewer writes through)
_PLAIN_ID = re.compile(r"^([a-zA-Z\u0080-\u00ff_][a-zA-Z0-9\u0080-\u00ff_]*|-?(\.[0-9]+|[0-9]+(\.[0-9]*)?))$")
_DOT_KEYWORDS = frozenset({"graph", "subgraph", "digraph", "node", "edge", "strict"})


def print_dot(process: ir.Process) -> str:
    """cwltool's `--print-dot` of a workflow (raises ValueError for a tool, as cwltool refuses it)."""
    if not isinstance(process, ir.Workflow):
        raise ValueError("Cannot identify root workflow! Notice that only Workflows can be visualized")
    lines = ["digraph G {", 'bgcolor="#eeeeee";', "clusterrank=local;", "labelloc=bottom;", "labeljust=right;"]
    for step in process.steps:
        for port in step.inputs:
            for source in port.sources:
                upstream = process.step(source.split("/", 1)[0]) if "/" in source else None
                if upstream is not None:
                    lines += [_step_node(upstream), _step_node(step), f"{_name(upstream.id)} -> {_name(step.id)};"]
    inputs = {p.id for p in process.inputs}
    into = [(s, step.id) for step in process.steps for port in step.inputs for s in port.sources if s in inputs]
    lines += ["subgraph cluster_inputs {", "rank=same;", "style=dashed;", 'label="Workflow Inputs";']
    lines += [_port_node(name) for name, _ in into] + ["}"] + [f"{_name(n)} -> {_name(s)};" for n, s in into]
    out = [(s.split("/", 1)[0], p.id) for p in process.outputs for s in p.sources
           if "/" in s and process.step(s.split("/", 1)[0]) is not None]
    lines += ["subgraph cluster_outputs {", "rank=same;", "style=dashed;", 'label="Workflow Outputs";', "labelloc=b;"]
    lines += [_port_node(name) for _, name in out] + ["}"] + [f"{_name(s)} -> {_name(n)};" for s, n in out]
    return "\n".join([*lines, "}"]) + "\n"


def _step_node(step: ir.Step) -> str:
    run = step.run
    label = run.label if run is not None and run.label else step.id
    color = '"#F3CEA1"' if isinstance(run, ir.Workflow) else "lightgoldenrodyellow"
    return f"{_name(step.id)} [fillcolor={color}, style=filled, label={_id(label)}, shape=record];"


def _port_node(name: str) -> str:
    return f'{_name(name)} [fillcolor="#94DDF4", style=filled, label={_id(name)}, shape=record];'


def _name(text: str) -> str:
    """A node's name: always quoted, as cwltool's are (URIs, whose prefix it strips afterwards)."""
    return '"' + text.replace('"', '\\"') + '"'


def _id(text: str) -> str:
    if _PLAIN_ID.match(text) and text.lower() not in _DOT_KEYWORDS:
        return text
    return _name(text)


def print_targets(process: ir.Process, prefix: str = "") -> list[tuple[bool, str]]:
    """cwltool's `--print-targets`, as (is a heading, text) lines: the outputs, the inputs and the steps, each
    step followed by the targets inside what it runs, named `step/...` (cwltool logs the headings)."""
    lines: list[tuple[bool, str]] = []
    for heading, field in (("Output", "outputs"), ("Input", "inputs")):
        params = _cwltool_order(process, field)
        if params:
            lines.append((True, f"{prefix[:-1]} {heading} targets:"))
            lines += [(False, f"  {prefix}{p.id}") for p in params]
    if isinstance(process, ir.Workflow):
        lines.append((True, f"{prefix[:-1]} steps targets:"))
        for step in _cwltool_order(process, "steps"):
            lines.append((False, f"  {prefix}{step.id}"))
            if step.run is not None:
                lines += print_targets(step.run, f"{prefix}{step.id}/")
    return lines
