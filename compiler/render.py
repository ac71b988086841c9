"""Rendering converted graphs: plain text, JSON data, Graphviz DOT (check reports: compiler.report).

Pure functions from data to strings; the CLI prints them. JSON uses sorted keys so output is stable.
"""

from __future__ import annotations

from typing import Any

from cwlpilot.compiler.graph import Graph, GraphNode


def graph_text(graph: Graph) -> str:
    lines = [f"workflow {graph.name} ({graph.cwl_version})", "inputs:"]
    lines += [f"  {p.id}: {p.type}" for p in graph.inputs] or ["  (none)"]
    lines.append("outputs:")
    lines += [f"  {p.id}: {p.type} <- {', '.join(p.sources) or '(nothing)'}" for p in graph.outputs] or [
        "  (none)"
    ]
    lines.append("steps:")
    for node in graph.nodes:
        lines += _node_text(node)
    return "\n".join(lines) + "\n"


def _node_text(node: GraphNode) -> list[str]:
    lines = [
        f"  {node.name}: {node.run} ({node.process_class})",
        f"    needs: {', '.join(node.needs) or '-'}",
    ]
    for inp in node.inputs:
        sources = ", ".join(inp.sources) or ("(default)" if inp.has_default else "-")
        extra = f" valueFrom {inp.value_from}" if inp.value_from else ""
        lines.append(f"    in: {inp.port} <- {sources}{extra}")
    lines.append(f"    out: {', '.join(node.outputs) or '-'}")
    if node.scatter:
        lines.append(f"    scatter: {', '.join(node.scatter)} ({node.scatter_method or 'dotproduct'})")
    lines += [f"    when: {c}" for c in node.conditions]
    lines += [f"    loop: {c}" for c in node.loops]
    return lines


def graph_data(graph: Graph) -> dict[str, Any]:
    return {
        "workflow": graph.name,
        "cwlVersion": graph.cwl_version,
        "inputs": {p.id: {"type": p.type} for p in graph.inputs},
        "outputs": {p.id: {"type": p.type, "sources": list(p.sources)} for p in graph.outputs},
        "steps": [_node_data(n) for n in graph.nodes],
    }


def _node_data(node: GraphNode) -> dict[str, Any]:
    return {
        "name": node.name,
        "class": node.process_class,
        "run": node.run,
        "line": node.pos.line,
        "needs": list(node.needs),
        "in": {i.port: {"sources": list(i.sources), "valueFrom": i.value_from} for i in node.inputs},
        "out": list(node.outputs),
        "scatter": list(node.scatter),
        "scatterMethod": node.scatter_method,
        "when": list(node.conditions),
        "loops": list(node.loops),
    }


def graph_dot(graph: Graph) -> str:
    """Graphviz DOT: steps as boxes, workflow inputs/outputs as ellipses, sub-workflows as clusters."""
    lines = [f"digraph {_quote(graph.name)} {{", "  rankdir=LR;", "  node [shape=box];"]
    for port in graph.inputs:
        lines.append(f"  {_quote('in:' + port.id)} [label={_quote(port.id)}, shape=ellipse];")
    lines += _clustered_nodes(graph.nodes)
    for port in graph.outputs:
        lines.append(f"  {_quote('out:' + port.id)} [label={_quote(port.id)}, shape=ellipse];")
    edges: dict[str, None] = {}
    for node in graph.nodes:
        for inp in node.inputs:
            for ref in inp.sources:
                edges[f"  {_quote(_ref_node(ref))} -> {_quote(node.name)};"] = None
    for port in graph.outputs:
        for ref in port.sources:
            edges[f"  {_quote(_ref_node(ref))} -> {_quote('out:' + port.id)};"] = None
    return "\n".join([*lines, *edges, "}"]) + "\n"


def _clustered_nodes(nodes: tuple[GraphNode, ...]) -> list[str]:
    lines: list[str] = []
    open_path: list[str] = []
    for node in nodes:
        path = node.name.split(".")[:-1]
        while open_path and open_path != path[: len(open_path)]:
            open_path.pop()
            lines.append("  " * (len(open_path) + 1) + "}")
        while len(open_path) < len(path):
            open_path.append(path[len(open_path)])
            cluster = ".".join(open_path)
            indent = "  " * len(open_path)
            lines.append(f"{indent}subgraph {_quote('cluster_' + cluster)} {{ label={_quote(cluster)};")
        label = node.name.split(".")[-1]
        if node.scatter:
            label += "\nscatter: " + ", ".join(node.scatter)
        if node.conditions:
            label += "\nwhen: " + " && ".join(node.conditions)
        attrs = f"label={_quote(label)}" + (", style=dashed" if node.conditions else "")
        lines.append("  " * (len(open_path) + 1) + f"{_quote(node.name)} [{attrs}];")
    while open_path:
        open_path.pop()
        lines.append("  " * (len(open_path) + 1) + "}")
    return lines


def _ref_node(ref: str) -> str:
    return ref.split("/")[0] if "/" in ref else "in:" + ref


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def plan_dot(plan: dict[str, Any]) -> str:
    """DOT of a stages plan (name and needs only), so `graph` also works on compiled plans."""
    lines = ["digraph plan {", "  rankdir=LR;", "  node [shape=box];"]
    for stage in plan.get("stages", []):
        lines.append(f"  {_quote(str(stage.get('name')))};")
        for need in stage.get("needs", []) or []:
            lines.append(f"  {_quote(str(need))} -> {_quote(str(stage.get('name')))};")
    return "\n".join(lines) + "\n}\n"
