"""The stage data of one CommandLineTool or ExpressionTool run: command, outputs, resources, environment.

`compiler.emit` decides which stages exist; this module fills in what one of them carries, following the
data contract described in `compiler.emit`. Pure.
"""

from __future__ import annotations

import math
import os
import shlex
from collections.abc import Mapping
from typing import Any

from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import CompilerError, UnsupportedError
from cwlpilot.semantics.cwl import files
from cwlpilot.semantics.cwl.cmdline import command_line
from cwlpilot.semantics.cwl.params import NotStatic

_DYNAMIC = {"$ref": "runtime"}  # runtime values known only once the stage runs
_RESOURCE_FIELDS = ("coresMin", "coresMax", "ramMin", "ramMax", "tmpdirMin", "outdirMin")


def requirement(run: ir.Process, chain: tuple[Any, ...], cls: str) -> ir.Requirement | None:
    """`cls` as CWL ranks them: requirements (the tool's, then the nearest enclosing step's or workflow's
    outwards) before hints (in the same order)."""
    holders = (run, *reversed(chain))
    for group in ("requirements", "hints"):
        for holder in holders:
            found = next((r for r in getattr(holder, group) if r.cls == cls), None)
            if found is not None:
                return found
    return None


def js_lib(run: ir.Process, chain: tuple[Any, ...]) -> list[str] | None:
    """The expressionLib when InlineJavascriptRequirement applies to `run`, else None."""
    req = requirement(run, chain, "InlineJavascriptRequirement")
    return None if req is None else [str(x) for x in ir.thaw(req.fields.get("expressionLib") or [])]


def tool_data(run: ir.Process, chain: tuple[Any, ...]) -> dict[str, Any]:
    """What every stage of `run` carries besides its inputs: JavaScript library, version, defaults."""
    data: dict[str, Any] = {"js": js_lib(run, chain), "version": run.cwl_version or "v1.2"}
    defaults = {p.id: files.resolved(ir.thaw(p.default), "") for p in run.inputs if p.has_default}
    if defaults:
        data["toolDefaults"] = defaults
    if isinstance(run, ir.ExpressionTool):
        data["expression"] = run.expression
        data["outputs"] = {o.id: {"type": port_type(o.type)} for o in run.outputs}
        data["params"] = {p.id: _param_spec(p) for p in run.inputs if p.load_contents or p.load_listing}
        data["listing"] = _listing(run, chain)
        return data
    assert isinstance(run, ir.CommandLineTool)
    data["outputs"] = _outputs(run)
    codes = {
        "success": run.success_codes,
        "temporaryFail": run.temporary_fail_codes,
        "permanentFail": run.permanent_fail_codes,
    }
    if any(codes.values()):
        data["codes"] = {k: list(v) for k, v in codes.items()}
    iwd = requirement(run, chain, "InitialWorkDirRequirement")
    if iwd is not None:
        data["initialWorkDir"] = files.resolved(ir.thaw(iwd.fields.get("listing")), "")
    env = requirement(run, chain, "EnvVarRequirement")
    if env is not None:
        data["env"] = _env(env)
    resources = requirement(run, chain, "ResourceRequirement")
    if resources is not None:
        data["resources"] = {k: ir.thaw(resources.fields[k]) for k in _RESOURCE_FIELDS if k in resources.fields}
    limit = requirement(run, chain, "ToolTimeLimit")
    if limit is not None:
        data["timelimit"] = ir.thaw(limit.fields.get("timelimit"))
        if isinstance(data["timelimit"], (int, float)) and data["timelimit"] < 0:
            raise CompilerError(f"{limit.pos}: ToolTimeLimit: timelimit must not be negative")
    for cls in ("LoadListingRequirement", "WorkReuse", "NetworkAccess", "InplaceUpdateRequirement"):
        req = requirement(run, chain, cls)
        if req is not None:
            data.setdefault("requirements", {})[cls] = ir.thaw(req.fields)
    data["command"] = tool_description(run)
    data["listing"] = _listing(run, chain)
    return data


def _param_spec(p: ir.InputParam) -> dict[str, Any]:
    spec: dict[str, Any] = {"loadListing": p.load_listing} if p.load_listing else {}
    if p.load_contents:
        spec["loadContents"] = True
    return spec


def _listing(run: ir.Process, chain: tuple[Any, ...]) -> str:
    """How deep Directory inputs are listed unless an input says otherwise (CWL v1.0 lists them fully)."""
    req = requirement(run, chain, "LoadListingRequirement")
    if req is not None and req.fields.get("loadListing"):
        return str(req.fields["loadListing"])
    return "deep_listing" if run.cwl_version == "v1.0" else "no_listing"


def static_command(data: dict[str, Any], job: Mapping[str, Any], stage: Mapping[str, Any]) -> str:
    """The command when it is known now (and `data.command` dropped); else a preview, command kept."""
    desc = data["command"]
    resources = stage.get("resources", {})
    wanted = data.get("resources") or {}
    exprs = {k for k, v in wanted.items() if isinstance(v, str)}
    runtime = {
        "cores": _DYNAMIC if exprs & {"coresMin", "coresMax"} else math.ceil(resources.get("cpu", 1)),
        "ram": _DYNAMIC if exprs & {"ramMin", "ramMax"} else math.ceil(resources.get("mem", 256)),
        "outdir": _DYNAMIC,
        "tmpdir": _DYNAMIC,
        "outdirSize": _DYNAMIC,
        "tmpdirSize": _DYNAMIC,
    }
    # staged inputs change paths on the command line; secondaryFiles and loadContents are found at run time
    needs_files = any(
        {"secondaryFiles", "loadContents", "loadListing", "schema"} & set(p) for p in desc["inputs"].values()
    )
    if "initialWorkDir" not in data and not needs_files and not _has_literal(job):
        try:
            cmd = command_line(desc, job, runtime)
        except NotStatic:
            pass
        else:
            del data["command"]
            return cmd
    return shlex.join(desc["baseCommand"]) + " ..."


def _has_literal(value: Any) -> bool:
    """A File or Directory that gets its path at run time: given by its contents only (written out then),
    or named differently from its path, or with secondary files not beside it (linked into place then)."""
    if isinstance(value, list):
        return any(_has_literal(v) for v in value)
    if not isinstance(value, Mapping):
        return False
    if value.get("class") in ("File", "Directory"):
        path = value.get("path") or value.get("location")
        if not path or value.get("basename", os.path.basename(str(path))) != os.path.basename(str(path)):
            return True
        home = os.path.dirname(str(path))
        for sec in value.get("secondaryFiles") or []:
            where = sec.get("path") or sec.get("location") if isinstance(sec, Mapping) else None
            if not where or os.path.join(home, str(sec.get("basename", os.path.basename(str(where))))) != where:
                return True
        return False
    return any(_has_literal(v) for v in value.values())


def tool_description(tool: ir.CommandLineTool) -> dict[str, Any]:
    """The plain data `cwlpilot.cwl.cmdline` builds a command line from."""
    return {
        "baseCommand": list(tool.base_command),
        "arguments": [_binding(a.binding) for a in tool.arguments],
        "inputs": {
            p.id: {
                "type": ir.type_str(p.type),
                "inputBinding": _binding(p.binding) if p.binding else None,
                **({"secondaryFiles": ir.thaw(p.secondary_files)} if p.secondary_files else {}),
                **({"schema": schema_json(p.type)} if _nested(p.type) else {}),
                **({"loadListing": p.load_listing} if p.load_listing else {}),
                **({"loadContents": True} if p.load_contents or (p.binding and p.binding.load_contents) else {}),
            }
            for p in tool.inputs
        },
        "stdin": tool.stdin,
        "stdout": tool.stdout or _stream_name(tool, "stdout"),
        "stderr": tool.stderr or _stream_name(tool, "stderr"),
        "shellCommand": tool.requirement("ShellCommandRequirement") is not None,
    }


def _stream_name(tool: ir.CommandLineTool, kind: str) -> str | None:
    # an output of type stdout/stderr without a file name gets a fixed one (CWL leaves it random)
    return f"{kind}.txt" if any(o.type == kind for o in tool.outputs) else None


def _binding(b: ir.InputBinding) -> dict[str, Any]:
    raw = {
        "position": b.position,
        "prefix": b.prefix,
        "separate": b.separate,
        "itemSeparator": b.item_separator,
        "valueFrom": b.value_from,
        "shellQuote": b.shell_quote,
    }
    return {k: v for k, v in raw.items() if v is not None}


def _outputs(tool: ir.CommandLineTool) -> dict[str, Any]:
    outs = {}
    for o in tool.outputs:
        glob = list(o.binding.glob) if o.binding else []
        if o.type in ("stdout", "stderr"):
            glob = [getattr(tool, o.type) or f"{o.type}.txt"]
        spec: dict[str, Any] = {
            "type": port_type(o.type),
            "glob": glob,
            "outputEval": o.binding.output_eval if o.binding else None,
            "loadContents": bool(o.binding and o.binding.load_contents),
        }
        if o.binding and o.binding.load_listing:
            spec["loadListing"] = o.binding.load_listing
        outs[o.id] = spec
        if o.secondary_files:
            spec["secondaryFiles"] = ir.thaw(o.secondary_files)
        record = _record(o.type)
        if record is not None and any(f.bindings and f.bindings.output for f in record.fields):
            spec["fields"] = {f.name: _field_output(f, tool.namespaces) for f in record.fields}
        if o.format is not None:
            spec["format"] = expand(ir.thaw(o.format), tool.namespaces)
    return outs


def _record(t: ir.CwlType) -> ir.RecordType | None:
    if isinstance(t, ir.UnionType):
        return next((r for r in map(_record, t.options) if r is not None), None)
    return t if isinstance(t, ir.RecordType) else None


def _field_output(f: ir.RecordField, namespaces: Mapping[str, str]) -> dict[str, Any]:
    out = f.bindings.output if f.bindings and f.bindings.output else ir.OutputBinding()
    spec: dict[str, Any] = {
        "type": port_type(f.type),
        "glob": list(out.glob),
        "outputEval": out.output_eval,
        "loadContents": out.load_contents,
    }
    if f.bindings and f.bindings.secondary_files:
        spec["secondaryFiles"] = ir.thaw(f.bindings.secondary_files)
    if f.bindings and f.bindings.format is not None:
        spec["format"] = expand(ir.thaw(f.bindings.format), namespaces)
    return spec


def _nested(t: ir.CwlType) -> bool:
    """Does `t` hold records or item bindings, which the command line must walk into?"""
    if isinstance(t, ir.UnionType):
        return any(_nested(o) for o in t.options)
    if isinstance(t, ir.ArrayType):
        return t.binding is not None or _nested(t.items)
    return isinstance(t, ir.RecordType)


def schema_json(t: ir.CwlType) -> Any:
    """`t` as CWL's JSON type, with the bindings nested in it (what `cwlpilot.cwl.cmdline` walks)."""
    if isinstance(t, str):
        return t
    if isinstance(t, ir.UnionType):
        return [schema_json(o) for o in t.options]
    if isinstance(t, ir.ArrayType):
        out: dict[str, Any] = {"type": "array", "items": schema_json(t.items)}
        if t.binding is not None:
            out["inputBinding"] = _binding(t.binding)
        return out
    if isinstance(t, ir.EnumType):
        return {"type": "enum", "symbols": list(t.symbols)}
    fields = []
    for f in t.fields:
        field: dict[str, Any] = {"name": f.name, "type": schema_json(f.type)}
        if f.bindings and f.bindings.binding is not None:
            field["inputBinding"] = _binding(f.bindings.binding)
        if f.bindings and f.bindings.secondary_files:
            field["secondaryFiles"] = ir.thaw(f.bindings.secondary_files)
        fields.append(field)
    return {"type": "record", "fields": fields}


def expand(name: Any, namespaces: Mapping[str, str]) -> Any:
    """`prefix:name` with a `$namespaces` prefix expanded to the full IRI."""
    if isinstance(name, str) and ":" in name and not name.startswith(("$(", "${")):
        prefix, _, rest = name.partition(":")
        if prefix in namespaces:
            return namespaces[prefix] + rest
    return name


def port_type(t: ir.CwlType) -> str:
    return "File" if t in ("stdout", "stderr") else ir.type_str(t)


def resources(run: ir.Process, chain: tuple[Any, ...]) -> dict[str, Any]:
    """The stage's `resources`, `timeout` and `env` keys, from what is known at compile time."""
    out: dict[str, Any] = {}
    req = requirement(run, chain, "ResourceRequirement")
    fields = req.fields if req else {}
    cpu = _static_number(fields.get("coresMin", fields.get("coresMax", 1)))
    mem = _static_number(fields.get("ramMin", fields.get("ramMax", 256)))
    out["resources"] = {"cpu": cpu if cpu > 0 else 1, "mem": mem}
    limit = requirement(run, chain, "ToolTimeLimit")
    seconds = _static_number(limit.fields.get("timelimit")) if limit else -1
    if seconds > 0:
        out["timeout"] = seconds
    return out


def _static_number(value: Any) -> float | int:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return -1  # an expression: unknown at compile time


def _env(req: ir.Requirement) -> dict[str, str]:
    defs = ir.thaw(req.fields.get("envDef", []))
    pairs = defs.items() if isinstance(defs, dict) else ((d.get("envName"), d.get("envValue")) for d in defs)
    return {str(key): str(value) for key, value in pairs}


def unsupported_if_docker(run: ir.Process, chain: tuple[Any, ...]) -> None:
    """DockerRequirement as a requirement needs a container engine this runner does not drive."""
    found = run.requirement("DockerRequirement")
    if found is not None and found in run.requirements:
        raise UnsupportedError(f"{found.pos}: DockerRequirement as a requirement needs a container engine")
    for holder in chain:
        if any(r.cls == "DockerRequirement" for r in holder.requirements):
            raise UnsupportedError(f"{holder.pos}: DockerRequirement as a requirement needs a container engine")
