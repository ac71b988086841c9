"""The converted workflow as text, in the spirit of `pchain --check` (ID, Name, Type, Parent, Input, Output),
with the stages each step became, conditions, loops and their dictionaries; and the same as JSON data."""

from __future__ import annotations

from typing import Any

from cwlpilot.compiler.panda.values import Emitted, Node
from cwlpilot.semantics.panda.loops import FIRST, MARK


def _it(text: str) -> str:
    return text.replace(MARK, str(FIRST))


def dump_text(emitted: Emitted) -> str:
    lines = ["internally converted as follows", ""]
    for node in sorted(emitted.nodes, key=lambda n: n.id):
        lines.append(f"ID:{node.id} Name:{node.name} Type:{node.type}")
        lines.append(f"  Parent:{','.join(str(p) for p in node.parents)}")
        lines.append("  Input:")
        lines += [f"     {k}: {_it(str(v))}" for k, v in node.inputs]
        lines.append("  Output:")
        lines += [f"     {_it(o)}" for o in node.outputs]
        if node.stages:
            lines.append(f"  Stages: {_stages(node)}")
        if node.condition:
            lines.append(f"  Condition: {node.condition}  ->  {_it(node.translated or '?')}")
        if node.loop:
            lines.append(f"  Loop: {node.loop} (iteration {FIRST} shown)")
        lines.append("")
    for loop in emitted.loops:
        lines.append(f"Loop:{loop.gate} Name:{loop.step} Body:{loop.body}")
        lines.append(f"  Junction: {loop.junction or 'none (the body runs once)'}")
        lines.append("  Dictionary:")
        lines += [f"     {k}: {v}" for k, v in loop.params]
        lines.append(f"  Max iterations: {loop.max_iterations}")
        lines.append("")
    return "\n".join(lines) + "\n"


def _stages(node: Node) -> str:
    names = [_it(s) for s in node.stages]
    if node.split is None:
        return " ".join(names)
    split, gather = names
    files = "1 input file" if node.split == 1 else f"{node.split} input files"
    return f"{split} {gather}.job0 {gather}.job1 ... {gather}  ({split} adds one job stage per {files} when it runs)"


def notes_text(emitted: Emitted) -> list[str]:
    return [f"note: {text}: {', '.join(sorted(steps))}" for text, steps in sorted(emitted.notes.items())]


def dump_data(emitted: Emitted) -> dict[str, Any]:
    nodes = [
        {
            "id": n.id,
            "name": n.name,
            "type": n.type,
            "parents": list(n.parents),
            "inputs": {k: _it(v) if isinstance(v, str) else v for k, v in n.inputs},
            "outputs": [_it(o) for o in n.outputs],
            "stages": [_it(s) for s in n.stages],
            "condition": n.condition,
            "translated": _it(n.translated) if n.translated else None,
            "loop": n.loop,
            "files_per_job": n.split,  # set for a split at run time: stages are then [splitter, gather]
            "server": n.server,  # opt_exec/opt_args as PanDA's server shows them, and the command it submits
        }
        for n in sorted(emitted.nodes, key=lambda n: n.id)
    ]
    loops = [
        {
            "gate": lp.gate,
            "step": lp.step,
            "body": lp.body,
            "junction": lp.junction,
            "dictionary": dict(lp.params),
            "max_iterations": lp.max_iterations,
        }
        for lp in emitted.loops
    ]
    return {"nodes": nodes, "loops": loops, "notes": notes_text(emitted)}
