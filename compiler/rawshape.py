"""A lenient reading of a workflow's YAML tree, used only when cwl-utils rejects the document.

cwl-utils stops at the first document with schema errors, which would hide every independent mistake
after it (a misspelled source, a cycle). This module reads what it can straight from the ruamel.yaml
tree — ids, sources, scatter, `when`, simple types — into the same IR, so `compiler.validate` can
still report those mistakes. Anything it does not understand becomes `Any` or is skipped: it must
never invent an error that cwl-utils would not confirm.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cwlpilot.compiler import ir
from cwlpilot.compiler.yamlsrc import Node, YamlCache, entry, uri_to_path

RunLoader = Callable[[str], "ir.Process | None"]


def lenient_process(
    node: Node, yaml: YamlCache, load_run: RunLoader, version: str = "", uri: str = ""
) -> ir.Process | None:
    """The process described by `node` (a mapping), or None when it is not recognisable."""
    node = yaml.follow(node)
    doc = node.value
    if not isinstance(doc, Mapping):
        return None
    version = str(doc.get("cwlVersion") or version)
    common: dict[str, Any] = {
        "uri": uri or Path(node.file).resolve().as_uri(),
        "pos": node.pos(),
        "cwl_version": version,
        "inputs": tuple(_input(node, i) for i in _ids(doc.get("inputs"))),
        "outputs": tuple(_output(node, o) for o in _ids(doc.get("outputs"))),
    }
    cls = doc.get("class")
    if cls == "Workflow":
        base_uri = (uri or Path(node.file).resolve().as_uri()).split("#")[0]
        steps = tuple(_step(node, s, yaml, load_run, version, base_uri) for s in _ids(doc.get("steps")))
        return ir.Workflow(**common, steps=steps)
    if cls == "ExpressionTool":
        return ir.ExpressionTool(**common)
    if cls == "CommandLineTool":
        return ir.CommandLineTool(**common)
    return None


def _ids(container: Any) -> list[str]:
    """The ids of an id-mapped field in either map or list form."""
    if isinstance(container, Mapping):
        return [str(k) for k in container]
    if isinstance(container, Sequence) and not isinstance(container, str):
        ids = [
            item if isinstance(item, str) else item.get("id")
            for item in container
            if isinstance(item, (str, Mapping))
        ]
        return [_short(i) for i in ids if isinstance(i, str)]
    return []


def _strings(value: Any) -> list[str]:
    """A string, or the strings of a list, as written; anything else (a number, a mapping) is no string."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _short(ref: str) -> str:
    return ref.lstrip("#").split("/")[-1]


def _local(ref: str) -> str:
    """A source as written (`#main/s1/out`, `#s1/out`, `s1/out`) made local (`s1/out`)."""
    ref = ref.split("#", 1)[-1]
    parts = ref.split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else ref


def _field(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, Mapping) else None


def _input(proc: Node, name: str) -> ir.InputParam:
    node = entry(proc, "inputs", name)
    value = node.value
    type_ = value if not isinstance(value, Mapping) else value.get("type")
    has_default = isinstance(value, Mapping) and "default" in value
    return ir.InputParam(name, parse_type(type_), node.pos(), has_default=has_default)


def _output(proc: Node, name: str) -> ir.OutputParam:
    node = entry(proc, "outputs", name)
    value = node.value
    type_ = value if not isinstance(value, Mapping) else value.get("type")
    source = _field(value, "outputSource")
    sources = [source] if isinstance(source, str) else list(source or []) if isinstance(source, list) else []
    return ir.OutputParam(
        name,
        parse_type(type_),
        node.pos(),
        sources=tuple(_local(str(s)) for s in sources),
        link_merge=_field(value, "linkMerge"),
        pick_value=_field(value, "pickValue"),
    )


def _step(wf: Node, name: str, yaml: YamlCache, load_run: RunLoader, version: str, base_uri: str) -> ir.Step:
    node = entry(wf, "steps", name)
    value = node.value if isinstance(node.value, Mapping) else {}
    scatter = _strings(value.get("scatter"))
    return ir.Step(
        id=name,
        pos=node.pos(),
        run=_run(node, yaml, load_run, version, f"{base_uri}#{name}/run"),
        inputs=tuple(_step_input(node, i) for i in _ids(value.get("in"))),
        outputs=tuple(ir.StepOutput(o, entry(node, "out", o).pos()) for o in _ids(value.get("out"))),
        scatter=tuple(_short(s) for s in scatter),
        scatter_method=value.get("scatterMethod"),
        when=value.get("when") if isinstance(value.get("when"), str) else None,
    )


def _run(step: Node, yaml: YamlCache, load_run: RunLoader, version: str, uri: str) -> ir.Process | None:
    run = step.get("run")
    if run is None:
        return None
    if isinstance(run.value, str):
        base = os.path.dirname(os.path.abspath(step.file))
        target = run.value
        if target.startswith("#"):  # a `$graph` entry of this same file
            return load_run(f"{os.path.abspath(step.file)}{target}")
        path = os.path.join(base, uri_to_path(target))
        return load_run(path) if os.path.exists(path) else None
    return lenient_process(run, yaml, load_run, version, uri)


def _step_input(step: Node, name: str) -> ir.StepInput:
    node = entry(step, "in", name)
    value = node.value
    if isinstance(value, Mapping):
        source = value.get("source")
    else:
        source, value = value, {}
    sources = _strings(source)
    return ir.StepInput(
        id=name,
        pos=node.pos(),
        sources=tuple(_local(s) for s in sources),
        link_merge=value.get("linkMerge"),
        pick_value=value.get("pickValue"),
        has_default="default" in value,
        value_from=value.get("valueFrom") if isinstance(value.get("valueFrom"), str) else None,
    )


def parse_type(raw: Any) -> ir.CwlType:
    """A type as written in YAML (`File[]`, `int?`, a list, an array/enum/record mapping)."""
    if isinstance(raw, str):
        if raw.endswith("?"):
            return ir.UnionType(("null", parse_type(raw[:-1])))
        if raw.endswith("[]"):
            return ir.ArrayType(parse_type(raw[:-2]))
        return raw if raw in ir.PRIMITIVES or raw in ("stdout", "stderr", "stdin") else "Any"
    if isinstance(raw, Sequence):
        return ir.UnionType(tuple(parse_type(r) for r in raw))
    if isinstance(raw, Mapping):
        kind = raw.get("type")
        if kind == "array":
            return ir.ArrayType(parse_type(raw.get("items")))
        if kind == "enum":
            symbols = raw.get("symbols")
            listed = symbols if isinstance(symbols, list) else []
            return ir.EnumType(str(raw.get("name") or ""), tuple(str(s) for s in listed))
        if kind == "record":
            return ir.RecordType(str(raw.get("name") or ""), ())
    return "Any"
