"""cwltool's `cwltool:Loop` requirement read into `ir.Loop`, with cwltool's rules on where it may appear.

The extension is defined in cwltool's `extensions-v1.2.yml` (cwl-utils' v1.2 parser has its classes) and
rewritten by cwltool's `update.v1_2to1_3dev1.rewrite_loop_requirements` into CWL v1.3's step `loop`:
loopWhen is the step's `when`, each `loop` entry's `loopSource` an output of the step, `outputMethod`
`last` or `all`. The rules enforced here are cwltool's: only in a v1.2 step's `requirements` (not in its
`hints`, not in a process's own requirements), `loopWhen` required, never with `when` or `scatter`
(those two are checked in `compiler.validate`, where the step is known whole).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.yamlsrc import Node, entry

CLASS = "cwltool:Loop"
IRI = "http://commonwl.org/cwltool#Loop"
_METHODS = {"last": "last", "all": "all"}


def is_loop(obj: Any) -> bool:
    """Is this requirement (a cwl-utils object or a plain mapping) cwltool's Loop?"""
    if type(obj).__name__ == "Loop":
        return True
    cls = obj.get("class") if isinstance(obj, Mapping) else getattr(obj, "class_", None)
    return isinstance(cls, str) and (cls in (CLASS, IRI) or cls.endswith("#Loop"))


def read_loop(req: Any, node: Node, version: str, found: list[Diagnostic], step: str) -> ir.Loop | None:
    """The step's loop from its requirement `req` (node: the requirement's YAML); None after an error."""
    pos = node.pos()
    if version != "v1.2":
        shown = version or "unversioned"
        found.append(Diagnostic(pos, f"{CLASS} needs cwlVersion v1.2 (this document is {shown})", step,
            rule="cwl-version"))
        return None
    when = _field(req, "loopWhen")
    if not isinstance(when, str):
        found.append(Diagnostic(pos, "missing required field 'loopWhen'", step, rule="cwl-loop"))
        return None
    method = _field(req, "outputMethod") or "last"
    method = str(method).rsplit("/", 1)[-1]
    if method not in _METHODS:
        found.append(Diagnostic(pos, f"outputMethod must be `last` or `all`, not '{method}'", step, rule="cwl-loop"))
        return None
    entries = _entries(_field(req, "loop"))
    loop_node = node.get("loop")
    inputs = tuple(_input(e, entry(node, "loop", _last(e.get("id"))) if loop_node else node) for e in entries)
    return ir.Loop(when, inputs, _METHODS[method], pos)


def _field(req: Any, name: str) -> Any:
    return req.get(name) if isinstance(req, Mapping) else getattr(req, name, None)


def _entries(raw: Any) -> list[dict[str, Any]]:
    """`loop` in list form, or map form (`i1: o1` is `{id: i1, loopSource: o1}`), as plain mappings."""
    if isinstance(raw, Mapping):
        return [{"id": k, **(dict(v) if isinstance(v, Mapping) else {"loopSource": v})} for k, v in raw.items()]
    out = []
    for item in raw or ():
        if isinstance(item, Mapping):
            out.append(dict(item))
        else:
            out.append({k: getattr(item, k, None) for k in ("id", "loopSource", "linkMerge", "pickValue", "default",
                                                               "valueFrom")})
    return out


def _input(e: Mapping[str, Any], node: Node) -> ir.LoopInput:
    source = e.get("loopSource")
    sources = [source] if isinstance(source, str) else list(source or ())
    default: Any = e.get("default")
    if hasattr(default, "save"):
        default = default.save(top=False, relative_uris=True)
    return ir.LoopInput(
        id=_last(e.get("id")),
        pos=node.pos() if node.value is not None or node.file else Pos(""),
        sources=tuple(_last(s) for s in sources),
        link_merge=_enum(e.get("linkMerge")),
        pick_value=_enum(e.get("pickValue")),
        default=ir.freeze(default),
        has_default=default is not None,
        value_from=e.get("valueFrom"),
    )


def _enum(value: Any) -> str | None:
    return None if value is None else str(value).rsplit("/", 1)[-1]


def _last(raw: Any) -> str:
    text = str(raw or "")
    return text.split("#")[-1].split("/")[-1]


def raw_problems(doc: Node, version: str) -> list[Diagnostic]:
    """What cwl-utils' schema check reports obscurely about a Loop, said plainly: from the YAML tree of a
    document (its steps, and those of inline sub-workflows), a Loop in a document older than v1.2 or one
    without `loopWhen`."""
    found: list[Diagnostic] = []
    steps = doc.get("steps")
    if steps is None:
        return found
    ids = list(steps.value) if isinstance(steps.value, Mapping) else [
        s.get("id") for s in steps.value or () if isinstance(s, Mapping)]
    for step_id in ids:
        step = entry(doc, "steps", _last(step_id))
        req = _loop_node(step)
        if req is not None:
            if version != "v1.2":
                found.append(Diagnostic(req.pos(), f"{CLASS} needs cwlVersion v1.2 (this document is {version})",
                                        _last(step_id), rule="cwl-version"))
            elif not (isinstance(req.value, Mapping) and "loopWhen" in req.value):
                found.append(Diagnostic(req.pos(), "missing required field 'loopWhen'", _last(step_id),
                                        rule="cwl-loop"))
        run = step.get("run")
        if run is not None and isinstance(run.value, Mapping):
            found.extend(raw_problems(run, version))
    return found


def _loop_node(step: Node) -> Node | None:
    reqs = step.get("requirements")
    if reqs is None:
        return None
    for name in (CLASS, IRI):
        found = entry(step, "requirements", name, id_key="class")
        if found.value is not None:
            return found
    return None
