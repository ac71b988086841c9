"""Load PanDA-style CWL documents with ruamel.yaml (cwl-utils cannot load `run: prun`) into the IR.

Every mistake found while reading is collected as a Diagnostic with its file:line:col; a document that
cannot be read at all gives None and the reason.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from ruamel.yaml.error import MarkedYAMLError

from cwlpilot.compiler import fastyaml
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.panda.detect import kind_of_run
from cwlpilot.compiler.panda.ir import WORKFLOW, Source, Step, StepIn, WfInput, WfOutput, Workflow
from cwlpilot.compiler.sourcefile import SourceError, read_text
from cwlpilot.compiler.yamlsrc import display_path, yaml_diagnostic


class Reader:
    """Reads documents once each (by absolute path) and collects every diagnostic."""

    def __init__(self, cwd: str | None = None) -> None:
        self.cwd = cwd
        self.diags: list[Diagnostic] = []
        self._docs: dict[str, tuple[Any, list[str]] | None] = {}
        self.order: list[str] = []  # the documents read as workflows, in the order PanDA's server parses them

    def shown(self, path: str) -> str:
        return display_path(path, self.cwd)

    def document(self, path: str) -> tuple[Any, list[str]] | None:
        """The parsed tree and the text's lines, or None after recording why it cannot be read."""
        path = os.path.abspath(path)
        if path not in self._docs:
            self._docs[path] = self._load(path)
        return self._docs[path]

    def _load(self, path: str) -> tuple[Any, list[str]] | None:
        try:
            text = read_text(path, self.shown(path))
        except SourceError as exc:
            self.diags.append(exc.diagnostic)
            return None
        try:
            return fastyaml.load(text, "rt"), text.splitlines()
        except MarkedYAMLError as exc:
            self.diags.append(yaml_diagnostic(exc, self.shown(path)))
            return None

    def error(self, pos: Pos, message: str, step: str | None = None) -> None:
        """A document the server cannot read as a workflow (its structure, not its values)."""
        self.diags.append(Diagnostic(pos, message, step, rule="panda-document"))


class _Doc:
    """Positions inside one document."""

    def __init__(self, file: str, lines: list[str]) -> None:
        self.file, self.lines = file, lines

    def at(self, node: Any, key: Any = None, value: bool = False) -> Pos:
        lc = getattr(node, "lc", None)
        if lc is None:
            return Pos(self.file, 1, 1)
        try:
            if key is None:
                line, col = lc.line, lc.col
            elif isinstance(node, Mapping):
                line, col = lc.value(key) if value else lc.key(key)
            else:
                line, col = lc.item(key)
        except (KeyError, IndexError, TypeError):
            line, col = lc.line, lc.col
        return Pos(self.file, line + 1, col + 1)

    def text_at(self, node: Any, key: Any) -> Pos:
        """Where the text of a scalar value starts (after an opening quote)."""
        pos = self.at(node, key, value=True)
        line = self.lines[pos.line - 1] if 0 < pos.line <= len(self.lines) else ""
        quoted = pos.col - 1 < len(line) and line[pos.col - 1] in "'\""
        return Pos(pos.file, pos.line, pos.col + 1) if quoted else pos


def load_workflow(path: str, reader: Reader, stack: tuple[str, ...] = ()) -> Workflow | None:
    """The workflow in `path` with its sub-workflows, or None when it cannot be read as one."""
    loaded = reader.document(path)
    if loaded is None:
        return None
    tree, lines = loaded
    doc = _Doc(reader.shown(path), lines)
    reader.order.append(os.path.abspath(path))
    if not isinstance(tree, Mapping) or tree.get("class") != "Workflow":
        what = tree.get("class") if isinstance(tree, Mapping) else type(tree).__name__
        message = f"a PanDA workflow document has `class: Workflow` (found {what!r})"
        if stack:  # pcwl_utils.parse_workflow_file reads every other .cwl as a sub-workflow
            message += (
                ": PanDA's server reads every `run:` file other than prun.cwl and phpo.cwl as a sub-workflow, "
                "and fails on this one (e.g. 'CommandOutputParameter' object has no attribute 'outputSource')"
            )
        reader.error(doc.at(tree), message)
        return None
    return _workflow(tree, doc, os.path.abspath(path), reader, (*stack, os.path.abspath(path)))


def _workflow(tree: Mapping[str, Any], doc: _Doc, path: str, reader: Reader, stack: tuple[str, ...]) -> Workflow:
    inputs = tuple(_inputs(tree, doc, reader))
    outputs = tuple(_outputs(tree, doc, reader))
    steps = tuple(
        s
        for s in (
            _step(sid, raw, pos, doc, path, reader, stack) for sid, raw, pos in _entries(tree, "steps", doc, reader)
        )
        if s is not None
    )
    return Workflow(doc.file, path, str(tree.get("cwlVersion") or ""), inputs, outputs, steps, doc.at(tree))


def _entries(tree: Mapping[str, Any], field: str, doc: _Doc, reader: Reader) -> list[tuple[str, Any, Pos]]:
    """(id, value, position) of an id-mapped field in map form or list form."""
    raw = tree.get(field)
    if raw is None:
        return []
    if isinstance(raw, Mapping):
        return [(str(k), v, doc.at(raw, k)) for k, v in raw.items()]
    if isinstance(raw, Sequence) and not isinstance(raw, str):
        out: list[tuple[str, Any, Pos]] = []
        for i, item in enumerate(raw):
            if isinstance(item, Mapping) and isinstance(item.get("id"), str):
                out.append((item["id"].split("#")[-1].split("/")[-1], item, doc.at(raw, i)))
            elif isinstance(item, str) and field == "out":
                out.append((item, None, doc.at(raw, i)))
            else:
                reader.error(doc.at(raw, i), f"each entry of `{field}` needs an `id`")
        return out
    reader.error(doc.at(tree, field), f"`{field}` must be a mapping or a list")
    return []


def _type_str(raw: Any) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping) and raw.get("type") == "array":
        return f"{_type_str(raw.get('items'))}[]"
    if isinstance(raw, Sequence):
        return "|".join(_type_str(r) for r in raw)
    return "Any"


def _inputs(tree: Mapping[str, Any], doc: _Doc, reader: Reader) -> list[WfInput]:
    out = []
    for iid, raw, pos in _entries(tree, "inputs", doc, reader):
        if isinstance(raw, Mapping):
            typ = _type_str(raw.get("type"))
            out.append(WfInput(iid, typ, _plain(raw.get("default")), "default" in raw, pos))
        else:
            out.append(WfInput(iid, _type_str(raw), None, False, pos))
    return out


def _outputs(tree: Mapping[str, Any], doc: _Doc, reader: Reader) -> list[WfOutput]:
    out = []
    for oid, raw, pos in _entries(tree, "outputs", doc, reader):
        src = raw.get("outputSource") if isinstance(raw, Mapping) else None
        listed = isinstance(src, Sequence) and not isinstance(src, str)
        if listed:
            src = src[0] if src else None
        spos = doc.at(raw, "outputSource", value=True) if isinstance(raw, Mapping) and "outputSource" in raw else pos
        out.append(WfOutput(oid, str(src) if src is not None else None, pos, spos, listed))
    return out


def _plain(value: Any) -> Any:
    """ruamel's round-trip containers as plain lists and dicts (the IR holds plain data)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return value
    return str(value)


def _step(sid: str, raw: Any, pos: Pos, doc: _Doc, path: str, reader: Reader, stack: tuple[str, ...]) -> Step | None:
    if not isinstance(raw, Mapping):
        reader.error(pos, "a step is a mapping with `run`, `in` and `out`", sid)
        return None
    run = raw.get("run")
    run_pos = doc.at(raw, "run", value=True) if "run" in raw else pos
    body, kind = None, None
    if isinstance(run, str):
        kind = kind_of_run(run)
        if kind is None and not run.endswith(".cwl"):
            reader.error(
                run_pos,
                f"run: PanDA's server does not know '{run}' (Unknown workflow): a step runs prun, junction, "
                "phpo, reana, gitlab, or a sub-workflow X.cwl",
                sid,
            )
            return None
        if kind is None:
            kind = WORKFLOW
            body = _sub_workflow(run, run_pos, sid, path, reader, stack)
    elif isinstance(run, Mapping):
        reader.error(
            run_pos,
            "run: PanDA's server needs the name of a file here; it fails on a process written inline "
            f"(expected str, bytes or os.PathLike object, not {run.get('class') or 'a mapping'})",
            sid,
        )
        return None
    else:
        reader.error(run_pos if "run" in raw else pos, "the step has no `run`", sid)
        return None
    scatter = raw.get("scatter")
    scatter_t = (scatter,) if isinstance(scatter, str) else tuple(str(s) for s in scatter or ())
    when = raw.get("when")
    return Step(
        id=sid,
        kind=kind,
        run=run if isinstance(run, str) else "<inline>",
        body=body,
        inputs=tuple(_step_inputs(raw, doc, reader, sid)),
        out=tuple(o for o, _, _ in _entries(raw, "out", doc, reader)),
        scatter=scatter_t,
        scatter_method=str(raw["scatterMethod"]) if raw.get("scatterMethod") else None,
        when=str(when) if when is not None else None,
        when_pos=doc.text_at(raw, "when") if "when" in raw else pos,
        loop=_is_loop(raw.get("hints")),
        pos=pos,
        run_pos=run_pos,
        loop_ignored=_ignored_loop(raw),
        scatter_text=isinstance(scatter, str),
    )


def _sub_workflow(run: str, run_pos: Pos, sid: str, path: str, reader: Reader, stack: tuple[str, ...]) -> Any:
    target = os.path.abspath(os.path.join(os.path.dirname(path), run))
    if target in stack:
        reader.error(run_pos, f"'{run}' runs itself (recursive sub-workflows never end)", sid)
        return None
    if not os.path.exists(target):
        reader.error(
            run_pos, f"run: no such file '{run}' (PanDA step kinds are prun, junction, phpo, reana, gitlab)", sid
        )
        return None
    return load_workflow(target, reader, stack)


def _is_loop(hints: Any) -> bool:
    """As pcwl_utils.parse_workflow_file tests it: `"loop" in step.hints`, so only the plain word `loop`
    in the list of hints (`hints: [loop]`) makes a loop."""
    if isinstance(hints, str):
        return "loop" in hints
    return isinstance(hints, Sequence) and "loop" in list(hints)


def _ignored_loop(raw: Mapping[str, Any]) -> str | None:
    """How a loop was asked for in a form PanDA's server does not read as one, if it was."""
    for field in ("hints", "requirements"):
        value = raw.get(field)
        if isinstance(value, Mapping) and "loop" in value:
            return f"{field}: {{loop: ...}}"
        if isinstance(value, Sequence) and not isinstance(value, str):
            if any(isinstance(h, Mapping) and h.get("class") == "loop" for h in value):
                return f"{field}: [{{class: loop}}]"
            if field == "requirements" and "loop" in list(value):
                return "requirements: [loop]"
    return None


def _step_inputs(raw: Mapping[str, Any], doc: _Doc, reader: Reader, sid: str) -> list[StepIn]:
    ins = raw.get("in")
    out: list[StepIn] = []
    if ins is None:
        return out
    if isinstance(ins, Sequence) and not isinstance(ins, str):  # list form: [{id, source, default}]
        items = [(str(i.get("id")), i, doc.at(ins, n)) for n, i in enumerate(ins) if isinstance(i, Mapping)]
        return [_step_input(name, {k: v for k, v in i.items() if k != "id"}, i, pos, doc) for name, i, pos in items]
    if not isinstance(ins, Mapping):
        reader.error(doc.at(raw, "in"), "`in` must be a mapping", sid)
        return out
    for name, value in ins.items():
        out.append(_step_input(str(name), value, ins, doc.at(ins, name), doc))
    return out


def _step_input(name: str, value: Any, parent: Any, pos: Pos, doc: _Doc) -> StepIn:
    if isinstance(value, Mapping):
        src = value.get("source")
        sources, listed = _sources(src, value, "source", doc)
        has_default = "default" in value
        vpos = doc.text_at(value, "default") if has_default else pos
        return StepIn(name, sources, listed, _plain(value.get("default")), has_default, pos, vpos)
    sources, listed = _sources(value, parent, name, doc)
    return StepIn(name, sources, listed, None, False, pos, pos)


def _sources(src: Any, parent: Any, key: Any, doc: _Doc) -> tuple[tuple[Source, ...], bool]:
    if src is None:
        return (), False
    if isinstance(src, str):
        return (Source(src, doc.at(parent, key, value=True)),), False
    if isinstance(src, Sequence):
        return tuple(Source(str(s), doc.at(src, i)) for i, s in enumerate(src)), True
    return (), False
