"""The loader's second half: reading cwl-utils objects field by field into `compiler.ir`.

Only `compiler.loader` calls this. It reads cwl-utils objects by attribute (never importing
cwl-utils, so the three CWL versions' classes are handled alike) and pairs each with its ruamel.yaml
node for positions. Identifiers are shortened from URIs (`file:///wf.cwl#s1/out`) to local ids
(`s1/out`) relative to the process that declares them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urljoin

from cwlpilot.compiler import ir, loops
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.yamlsrc import Node, YamlCache, entry

RunLoader = Callable[[str, Pos], "ir.Process | None"]

_PROCESS_CLASSES = {"CommandLineTool", "ExpressionTool", "Workflow"}


def fragment(uri: str) -> str:
    return uri.split("#", 1)[1] if "#" in uri else ""


def last(uri: str) -> str:
    """The last path segment of an id's fragment: `wf.cwl#s1/out` → `out`."""
    return fragment(uri).rsplit("/", 1)[-1] if "#" in uri else uri.rsplit("/", 1)[-1]


def scope(child_uri: str) -> str:
    """The id prefix shared by a process's children, from one child's id."""
    head, _, frag = child_uri.partition("#")
    return f"{head}#{frag.rsplit('/', 1)[0]}/" if "/" in frag else f"{head}#"


def relative(uri: str, prefix: str) -> str:
    """A reference (`wf.cwl#s1/out`) made local to the scope `prefix` (`s1/out`)."""
    if prefix and uri.startswith(prefix):
        return uri[len(prefix) :]
    return fragment(uri) or uri


class Converter:
    """Converts one document's process (and, through `run_loader`, the documents it runs)."""

    def __init__(self, yaml: YamlCache, diagnostics: list[Diagnostic], run_loader: RunLoader, version: str):
        self.yaml = yaml
        self.diagnostics = diagnostics
        self.run_loader = run_loader
        self.version = version
        self.named: dict[str, ir.CwlType] = {}

    # -- processes -------------------------------------------------------------------------------

    def process(self, obj: Any, node: Node) -> ir.Process | None:
        node = self.yaml.follow(node)
        cls = type(obj).__name__
        if cls not in _PROCESS_CLASSES:
            self.diagnostics.append(Diagnostic(node.pos(), f"unsupported process class '{cls}'", rule="cwl-schema"))
            return None
        version = str(getattr(obj, "cwlVersion", None) or self.version)
        self._collect_schema_defs(obj)
        self._process_loop(obj, node)
        common = {
            "uri": _stable_uri(obj),
            "pos": node.pos(),
            "cwl_version": version,
            "inputs": tuple(self.input_param(p, node, cls == "CommandLineTool") for p in obj.inputs or ()),
            "outputs": tuple(self.output_param(p, node) for p in obj.outputs or ()),
            "requirements": self.requirements(obj.requirements, node, "requirements"),
            "hints": self.requirements(obj.hints, node, "hints"),
            "label": obj.label,
            "namespaces": ir.freeze(dict(getattr(getattr(obj, "loadingOptions", None), "namespaces", None) or {})),
            "schemas": _schemas(obj),
        }
        if cls == "Workflow":
            prefix = self._workflow_scope(obj)
            steps = tuple(self.step(s, node, prefix, version) for s in obj.steps or ())
            outputs = tuple(
                self._with_sources(o, p, prefix)
                for o, p in zip(common["outputs"], obj.outputs or (), strict=True)
            )
            return ir.Workflow(**{**common, "outputs": outputs}, steps=steps)
        if cls == "ExpressionTool":
            return ir.ExpressionTool(**common, expression=str(obj.expression))
        return self.tool(obj, node, common)

    def tool(self, obj: Any, node: Node, common: dict[str, Any]) -> ir.CommandLineTool:
        base = obj.baseCommand
        base_command = (base,) if isinstance(base, str) else tuple(base or ())
        args = node.get("arguments")
        arguments = tuple(
            ir.Argument(self.binding(a), args.pos(i) if args else node.pos())
            for i, a in enumerate(obj.arguments or ())
        )
        return ir.CommandLineTool(
            **common,
            base_command=tuple(str(b) for b in base_command),
            arguments=arguments,
            stdin=obj.stdin,
            stdout=obj.stdout,
            stderr=obj.stderr,
            success_codes=tuple(obj.successCodes or ()),
            temporary_fail_codes=tuple(obj.temporaryFailCodes or ()),
            permanent_fail_codes=tuple(obj.permanentFailCodes or ()),
        )

    def _workflow_scope(self, obj: Any) -> str:
        for group in (obj.inputs, obj.outputs, obj.steps):
            for child in group or ():
                return scope(str(child.id))
        return f"{obj.id}#"

    def _collect_schema_defs(self, obj: Any) -> None:
        for req in obj.requirements or ():
            if type(req).__name__ == "SchemaDefRequirement":
                for named in req.types or ():
                    self.named[str(named.name)] = self.cwl_type(named, Pos(""))

    # -- steps ----------------------------------------------------------------------------------

    def step(self, obj: Any, wf_node: Node, prefix: str, version: str) -> ir.Step:
        step_id = last(str(obj.id))
        node = entry(wf_node, "steps", step_id)
        run = self._run(obj.run, node)
        scatter = obj.scatter
        scatter = [scatter] if isinstance(scatter, str) else list(scatter or ())
        return ir.Step(
            loop=self._loop(obj, node, step_id, version),
            id=step_id,
            pos=node.pos(),
            run=run,
            inputs=tuple(self.step_input(i, node, prefix) for i in obj.in_ or ()),
            outputs=tuple(self.step_output(o, node) for o in obj.out or ()),
            scatter=tuple(last(str(s)) for s in scatter),
            scatter_method=obj.scatterMethod,
            when=getattr(obj, "when", None),
            requirements=self.requirements(obj.requirements, node, "requirements"),
            hints=self.requirements(obj.hints, node, "hints"),
        )

    def _loop(self, obj: Any, node: Node, step_id: str, version: str) -> ir.Loop | None:
        """The step's `cwltool:Loop`; misplaced ones (in `hints`) are reported."""
        for hint in obj.hints or ():
            if loops.is_loop(hint):
                at = entry(node, "hints", loops.CLASS, id_key="class").pos()
                self.diagnostics.append(Diagnostic(at, f"{loops.CLASS} is valid only under requirements", step_id,
                    rule="cwl-loop"))
        for req in obj.requirements or ():
            if loops.is_loop(req):
                req_node = entry(node, "requirements", loops.CLASS, id_key="class")
                if req_node.value is None:
                    req_node = entry(node, "requirements", loops.IRI, id_key="class")
                return loops.read_loop(req, req_node, version, self.diagnostics, step_id)
        return None

    def _process_loop(self, obj: Any, node: Node) -> None:
        """cwltool's `Process.checkRequirements`: a Loop on a process itself is an unsupported requirement."""
        for req in obj.requirements or ():
            if loops.is_loop(req):
                at = entry(node, "requirements", loops.CLASS, id_key="class").pos()
                self.diagnostics.append(Diagnostic(at, f"Unsupported requirement {loops.IRI}.", rule="cwl-loop"))

    def _run(self, run: Any, step_node: Node) -> ir.Process | None:
        run_node = step_node.get("run")
        at = step_node.pos("run") if run_node is not None else step_node.pos()
        if isinstance(run, str):
            return self.run_loader(run, at)
        inline = self.yaml.follow(run_node) if run_node is not None else Node(None, step_node.file)
        return self.process(run, inline)

    def step_input(self, obj: Any, step_node: Node, prefix: str) -> ir.StepInput:
        name = last(str(obj.id))
        node = entry(step_node, "in", name)
        source = obj.source
        sources = [source] if isinstance(source, str) else list(source or ())
        default = getattr(obj, "default", None)
        return ir.StepInput(
            id=name,
            pos=node.pos(),
            sources=tuple(relative(str(s), prefix) for s in sources),
            link_merge=obj.linkMerge,
            pick_value=getattr(obj, "pickValue", None),
            default=ir.freeze(_plain(default)),
            has_default=default is not None,
            value_from=obj.valueFrom,
            load_contents=bool(getattr(obj, "loadContents", False)),
            absolute_default=written_absolute_path(node),
        )

    def step_output(self, obj: Any, step_node: Node) -> ir.StepOutput:
        name = last(obj if isinstance(obj, str) else str(obj.id))
        return ir.StepOutput(id=name, pos=entry(step_node, "out", name).pos())

    # -- parameters ------------------------------------------------------------------------------

    def input_param(self, obj: Any, proc_node: Node, command_line: bool = True) -> ir.InputParam:
        name = last(str(obj.id))
        pos = entry(proc_node, "inputs", name).pos()
        default = obj.default
        binding = getattr(obj, "inputBinding", None)
        if binding is not None and not command_line:
            # cwltool's `update.v1_0to1_1.fix_inputBinding`: an ExpressionTool's or Workflow's input binding
            # keeps only `loadContents` (v1.1 and later have no other field there; v1.0's are ignored)
            binding = ir.InputBinding(load_contents=bool(getattr(binding, "loadContents", False)))
        elif binding is not None:
            binding = self.binding(binding)
        return ir.InputParam(
            id=name,
            type=self.cwl_type(obj.type_, pos),
            pos=pos,
            default=ir.freeze(_plain(default)),
            has_default=default is not None,
            binding=binding,
            load_contents=bool(getattr(obj, "loadContents", False))
            or (not command_line and binding is not None and binding.load_contents),
            secondary_files=ir.freeze(_plain(obj.secondaryFiles) or []),
            format=ir.freeze(_plain(obj.format)),
            load_listing=getattr(obj, "loadListing", None),
            absolute_default=written_absolute_path(entry(proc_node, "inputs", name)),
        )

    def output_param(self, obj: Any, proc_node: Node) -> ir.OutputParam:
        name = last(str(obj.id))
        pos = entry(proc_node, "outputs", name).pos()
        ob = getattr(obj, "outputBinding", None)
        binding = None
        if ob is not None:
            glob = ob.glob
            globs = (glob,) if isinstance(glob, str) else tuple(glob or ())
            binding = ir.OutputBinding(
                globs, ob.outputEval, bool(getattr(ob, "loadContents", False)), getattr(ob, "loadListing", None)
            )
        return ir.OutputParam(
            id=name,
            type=self.cwl_type(obj.type_, pos),
            pos=pos,
            binding=binding,
            secondary_files=ir.freeze(_plain(obj.secondaryFiles) or []),
            format=ir.freeze(_plain(obj.format)),
        )

    def _with_sources(self, param: ir.OutputParam, obj: Any, prefix: str) -> ir.OutputParam:
        source = obj.outputSource
        sources = [source] if isinstance(source, str) else list(source or ())
        return replace(
            param,
            sources=tuple(relative(str(s), prefix) for s in sources),
            link_merge=obj.linkMerge,
            pick_value=getattr(obj, "pickValue", None),
        )

    def binding(self, obj: Any) -> ir.InputBinding:
        """A `CommandLineBinding`, or the `InputBinding` of v1.1+ (only `loadContents`): fields read by
        getattr, since cwl-utils' classes for the three versions have different attributes."""
        if isinstance(obj, str):  # a plain `arguments` entry
            return ir.InputBinding(value_from=obj)
        separate = getattr(obj, "separate", None)
        quote = getattr(obj, "shellQuote", None)
        return ir.InputBinding(
            position=getattr(obj, "position", None),
            prefix=getattr(obj, "prefix", None),
            separate=True if separate is None else bool(separate),
            item_separator=getattr(obj, "itemSeparator", None),
            value_from=getattr(obj, "valueFrom", None),
            shell_quote=True if quote is None else bool(quote),
            load_contents=bool(getattr(obj, "loadContents", False)),
        )

    # -- types and requirements ------------------------------------------------------------------

    def cwl_type(self, t: Any, pos: Pos) -> ir.CwlType:
        if isinstance(t, list):
            return ir.UnionType(tuple(self.cwl_type(o, pos) for o in t))
        if isinstance(t, str):
            return self._named_type(t, pos)
        kind = getattr(t, "type_", None)
        if kind == "array":
            binding = getattr(t, "inputBinding", None)
            return ir.ArrayType(self.cwl_type(t.items, pos), self.binding(binding) if binding is not None else None)
        if kind == "enum":
            return ir.EnumType(_type_name(t.name), tuple(last(str(s)) for s in t.symbols))
        if kind == "record":
            fields = tuple(
                ir.RecordField(last(str(f.name)), self.cwl_type(f.type_, pos), self._field_bindings(f))
                for f in t.fields or ()
            )
            return ir.RecordType(_type_name(t.name), fields)
        self.diagnostics.append(Diagnostic(pos, f"unsupported type {t!r}", rule="cwl-type"))
        return "Any"

    def _field_bindings(self, f: Any) -> ir.FieldBindings | None:
        binding = getattr(f, "inputBinding", None)
        output = getattr(f, "outputBinding", None)
        secondary = _plain(getattr(f, "secondaryFiles", None)) or []
        fmt = _plain(getattr(f, "format", None))
        if binding is None and output is None and not secondary and fmt is None:
            return None
        out_binding = None
        if output is not None:
            glob = output.glob
            globs = (glob,) if isinstance(glob, str) else tuple(glob or ())
            out_binding = ir.OutputBinding(globs, output.outputEval, bool(getattr(output, "loadContents", False)))
        return ir.FieldBindings(
            self.binding(binding) if binding is not None else None, out_binding, ir.freeze(secondary), ir.freeze(fmt)
        )

    def _named_type(self, name: str, pos: Pos) -> ir.CwlType:
        if name in ir.PRIMITIVES or name in ("stdin", "stdout", "stderr"):
            return name
        if name in self.named:
            return self.named[name]
        self.diagnostics.append(Diagnostic(pos, f"unknown type '{last(name)}'", rule="cwl-type"))
        return "Any"

    def requirements(self, reqs: Any, node: Node, field_name: str) -> tuple[ir.Requirement, ...]:
        out = []
        for req in reqs or ():
            data = _plain(req)
            if not isinstance(data, Mapping) or "class" not in data:
                continue
            cls = str(data["class"]).split("#")[-1]
            fields = {k: v for k, v in data.items() if k != "class"}
            pos = entry(node, field_name, cls, id_key="class").pos()
            out.append(ir.Requirement(cls, ir.freeze(fields), pos))
        return tuple(out)


def _schemas(obj: Any) -> tuple[str, ...]:
    """The document's `$schemas`, resolved against the document (as schema-salad's `add_schemas` does)."""
    options = getattr(obj, "loadingOptions", None)
    found = getattr(options, "schemas", None) or []
    base = str(getattr(options, "fileuri", None) or obj.id or "")
    return tuple(urljoin(base, str(s)) for s in (found if isinstance(found, list) else [found]))


def _stable_uri(obj: Any) -> str:
    """The process's id; an inline process's random `_:` id is replaced by `wf.cwl#step/run`."""
    uri = str(obj.id or "")
    if not uri.startswith("_:"):
        return uri
    for group in (obj.inputs, obj.outputs, getattr(obj, "steps", None)):
        for child in group or ():
            return scope(str(child.id)).rstrip("/")
    return "_:inline"


def _type_name(name: Any) -> str:
    text = str(name or "")
    return "" if text.startswith("_:") else last(text)


def _plain(value: Any) -> Any:
    """cwl-utils objects and ruamel containers as plain JSON data."""
    if hasattr(value, "save"):
        value = value.save(top=False, relative_uris=True)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def written_absolute_path(param: Node) -> tuple[str, ir.Pos] | None:
    """The first absolute `location` or `path` of a File or Directory in the default of the parameter
    `param` as written in its document, and the position of `default`; None when there is none."""
    default = param.get("default")
    if default is None:
        return None
    todo = [default.value]
    while todo:
        item = todo.pop()
        if isinstance(item, Mapping):
            if item.get("class") in ("File", "Directory"):
                for key in ("location", "path"):
                    where = item.get(key)
                    if isinstance(where, str) and where.startswith(("/", "file:///")):
                        return where, param.pos("default")
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
    return None
