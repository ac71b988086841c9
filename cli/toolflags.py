"""The job of a `cwl-runner` run when it is not an inputs file: read from standard input (`-`), or made from
the tool's inputs given as command-line flags after the document (`cwl-runner tool.cwl --message hi`).

Followed, cwltool 3.3: `main.load_job_order` (one argument `-` is YAML on standard input, whose relative
paths are relative to the working directory) and `argparser.generate_parser` / `add_argument` (the flags):
an input named with one letter is `-x`, others `--name`; `string` and enums take a string, `int`/`long`
an integer, `float`/`double` a number, `boolean` is a flag (required when it has no default, so it can
only be true), `File`/`Directory` a path, arrays of those or of scalars repeat the flag (a value given
replaces the default list), a record one flag per field (`--rec.a`), `T?` is `T` and not required; other
types (other unions, `Any`, arrays of records) get no flag. An input with no default and a non-optional
type is required. A job file may come first (`tool.cwl job.yml --message hi`): as in cwltool's
`init_job_order`, every input that has a flag then takes the flag's value, or its default, or null,
whatever the file gave it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from cwlpilot.argparsing import RaisingParser, UsageError
from cwlpilot.compiler import ir
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.jobcheck import check_job_node
from cwlpilot.compiler.limits import MAX_BYTES
from cwlpilot.compiler.yamlsrc import Node
from cwlpilot.semantics.cwl import files

STDIN_NAME = "<stdin>"  # how the job read from standard input is named in messages
FLAGS_NAME = "<command line>"  # ... and the job made from flags


def read_stdin(stdin: TextIO | None = None) -> str:
    """The job text on standard input, bounded as every document is (compiler.limits.MAX_BYTES); raises
    ValueError beyond it or when it is not UTF-8 text."""
    stream = stdin or sys.stdin
    buffer = getattr(stream, "buffer", None)
    data = buffer.read(MAX_BYTES + 1) if buffer is not None else stream.read(MAX_BYTES + 1).encode()
    if len(data) > MAX_BYTES:
        raise ValueError(f"the job on standard input is larger than {MAX_BYTES // 2**20} MB")
    if b"\0" in data:
        raise ValueError("the job on standard input holds a NUL byte: it is not a YAML or JSON document")
    return data.decode("utf-8")


class _Path(argparse.Action):
    """A File or Directory flag: the object with an absolute `location` (cwltool: `FSAction`)."""

    def __init__(self, *args: Any, cls: str = "File", many: bool = False, **kwargs: Any) -> None:
        self.cls, self.many, self.given = cls, many, False
        super().__init__(*args, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        obj = {"class": self.cls, "location": Path(os.path.abspath(str(values))).as_uri()}
        _store(self, namespace, obj)


class _Append(argparse.Action):
    """A repeated flag of an array input: the first value given replaces the default (cwltool: `AppendAction`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.many, self.given = True, False
        super().__init__(*args, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        _store(self, namespace, values)


def _store(action: Any, namespace: argparse.Namespace, value: Any) -> None:
    if not action.many:
        setattr(namespace, action.dest, value)
        return
    items = list(getattr(namespace, action.dest, None) or []) if action.given else []
    action.given = True
    setattr(namespace, action.dest, [*items, value])


_SCALAR = {"string": str, "int": int, "long": int, "float": float, "double": float}


class Flagged(NamedTuple):
    """An input that has flags: its own, or one per field of a record (`fields`)."""

    name: str
    has_default: bool
    default: Any
    fields: tuple[str, ...] | None = None


def tool_parser(process: ir.Process, prog: str) -> tuple[argparse.ArgumentParser, list[Flagged]]:
    """The parser of `process`'s inputs as flags (a flag not given is not in what it parses), and the inputs
    that have flags."""
    parser = RaisingParser(prog=prog, description=process.label or None)
    parser.add_argument("job_order", nargs="?", help="Job input json file")
    flagged: list[Flagged] = []
    for param in process.inputs:
        default = ir.thaw(param.default) if param.has_default else None
        added = _add(parser, param.id, param.type, default, True)
        if added is not False:
            fields = added if isinstance(added, tuple) else None
            flagged.append(Flagged(param.id, param.has_default, default, fields))
    return parser, flagged


def _add(parser: argparse.ArgumentParser, name: str, t: ir.CwlType, default: Any,
         input_required: bool) -> tuple[str, ...] | bool:
    """Add the flag(s) of input `name`: False when its type has none, a record's field names, else True."""
    required = default is None and input_required
    if isinstance(t, ir.UnionType):
        rest = [o for o in t.options if o != "null"]
        if len(t.options) == 1:
            t = t.options[0]
        elif len(t.options) == 2 and len(rest) == 1:
            required, t = False, rest[0]
        else:
            return False
    flag = ("-" if len(name) == 1 else "--") + name
    kwargs: dict[str, Any] = {"dest": name, "required": required, "default": argparse.SUPPRESS}
    if isinstance(t, ir.RecordType) and "." not in name:  # (cwltool's flags for a record in a record clash)
        fields = [f for f in t.fields if _add(parser, f"{name}.{f.name}", f.type,
                                             default.get(f.name) if isinstance(default, Mapping) else None,
                                             required) is True]
        return tuple(f.name for f in fields) or False
    if t in ("File", "Directory"):
        parser.add_argument(flag, action=_Path, cls=t, **kwargs)
    elif isinstance(t, ir.ArrayType) and t.items in ("File", "Directory"):
        parser.add_argument(flag, action=_Path, cls=t.items, many=True, **kwargs)
    elif isinstance(t, ir.ArrayType) and isinstance(t.items, str):
        parser.add_argument(flag, action=_Append, type=_SCALAR.get(t.items, str), **kwargs)
    elif isinstance(t, ir.EnumType) or t in _SCALAR:
        parser.add_argument(flag, type=_SCALAR.get(t, str) if isinstance(t, str) else str, **kwargs)
    elif t == "boolean":
        parser.add_argument(flag, action="store_true", **kwargs)
    else:
        return False
    return True


def job_from_flags(process: ir.Process, flags: Sequence[str], prog: str,
                   read_file: Any = None) -> dict[str, Any]:
    """The job object the flags give (raises cli.argparsing.UsageError, as cwltool exits 2). A job file among
    them is read with `read_file(path) -> dict` (its paths made absolute) and the flags put over it: an input
    that has flags takes their value, else its default (left to the compiler, which knows where the
    default's files are), else null, as cwltool's `init_job_order` puts every flag's value over the file."""
    parser, flagged = tool_parser(process, prog)
    given = vars(parser.parse_args(list(flags)))
    job_file = given.pop("job_order", None)
    job: dict[str, Any] = dict(read_file(job_file)) if job_file is not None and read_file is not None else {}
    for f in flagged:
        if f.fields is None:
            values, missing = given.get(f.name), f.name not in given
        else:
            present = {k: given[f"{f.name}.{k}"] for k in f.fields if f"{f.name}.{k}" in given}
            base = f.default if isinstance(f.default, Mapping) else {}
            values, missing = {k: present.get(k, base.get(k)) for k in f.fields}, not present
        if missing and f.has_default:
            job.pop(f.name, None)
        else:
            job[f.name] = values  # null when no flag was given
    return job


def stdin_job(process: ir.Process, stdin: TextIO | None = None) -> tuple[dict[str, Any], list[str]]:
    """The job on standard input and its problems (named `<stdin>`, relative paths relative to the working
    directory, as cwltool's `load_job_order` reads `-`)."""
    from ruamel.yaml.error import MarkedYAMLError

    from cwlpilot.compiler import fastyaml
    from cwlpilot.compiler.yamlsrc import yaml_diagnostic

    try:
        text = read_stdin(stdin)
        tree = fastyaml.load(text, "rt")
    except MarkedYAMLError as exc:
        return {}, [str(yaml_diagnostic(exc, STDIN_NAME))]
    except ValueError as exc:
        return {}, [str(Diagnostic(Pos(STDIN_NAME, 1, 1), str(exc)))]
    problems = [str(d) for d in check_job_node(process, Node(tree, STDIN_NAME), os.getcwd())]
    job = fastyaml.load(text, "safe") if not problems else {}
    return (job if isinstance(job, dict) else {}), problems


def flags_job(process: ir.Process, flags: Sequence[str], prog: str) -> tuple[dict[str, Any], list[str]]:
    """The job the flags give and its problems, each `PROG: message` (raises UsageError for flags that do not
    parse): a job made of flags has no lines and columns to point at."""
    job = job_from_flags(process, flags, prog, _job_file)
    return job, [f"{prog}: {d.message}" for d in check_job_node(process, Node(job, FLAGS_NAME), os.getcwd())]


def _job_file(path: str) -> dict[str, Any]:
    """A job file named among the flags, its paths made absolute (relative to its folder); a UsageError when it
    cannot be read."""
    from cwlpilot.compiler import fastyaml
    from cwlpilot.compiler.sourcefile import SourceError, read_text

    try:
        job = fastyaml.load(read_text(path), "safe")
    except (SourceError, ValueError) as exc:
        raise UsageError(f"{path}: cannot read this inputs file: {exc}") from None
    if not isinstance(job, dict):
        raise UsageError(f"{path}: an inputs file maps input names to values")
    resolved = files.resolved(job, os.path.dirname(os.path.abspath(path)))
    return resolved if isinstance(resolved, dict) else {}
