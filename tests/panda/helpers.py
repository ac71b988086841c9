"""Small PanDA-style workflows written for a test, and `check`/`compile` run on them in-process."""

import io
import json
from pathlib import Path

from cwlpilot.check_cmd import main
from cwlpilot.check_files import Target
from cwlpilot.check_one import Settings, check_target
from cwlpilot.compiler.report import Report, text_report


def prun(name: str, exec_: str, args: str | None = "", ins: str = "", kind: str = "prun", extra: str = "") -> str:
    """A step: `ins` is more `in:` lines (indented 6), `extra` more step lines (indented 4)."""
    lines = [f"  {name}:", f"    run: {kind}", "    in:"]
    lines += [ins.rstrip("\n")] if ins else []
    lines += [f"      opt_exec: {{default: {json.dumps(exec_)}}}"]
    lines += [f"      opt_args: {{default: {json.dumps(args)}}}"] if args is not None else []
    lines += ["    out: [outDS]"]
    return "\n".join(lines) + "\n" + extra


def workflow(
    folder: Path, name: str, steps: str, inputs: str = "[]", outputs: str = "[]", version: str = "v1.2"
) -> Path:
    path = folder / name
    head = f"cwlVersion: {version}\nclass: Workflow\ninputs: {inputs}\noutputs: {outputs}\nsteps:\n"
    path.write_text(head + steps)
    return path


def run_cli(command: str, *args: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([command, *map(str, args)], out, err)
    return code, out.getvalue(), err.getvalue()


def panda_check(path: Path) -> tuple[bool, str]:
    """`check` of a document read as a PanDA document, even one without a PanDA step to tell it by:
    (valid, the text report)."""
    result = check_target(Target(str(path), "panda"), Settings())
    report = Report((result,), (), result.found)
    return not report.failed, text_report(report)


def check_json(*args: object) -> dict:
    code, out, err = run_cli("check", *args, "--format", "json")
    data = json.loads(out)
    data["code"] = code
    return data


def node(data: dict, name: str) -> dict:
    return next(n for n in graph(data)["nodes"] if n["name"] == name)


def graph(data: dict) -> dict:
    """The converted graph of the one document a JSON report is of."""
    return data["files"][0]["graph"]


def found(data: dict, rule: str) -> list[dict]:
    return [d for d in data["diagnostics"] if d["rule"] == rule]
