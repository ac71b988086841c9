"""Tests for compiler.render: escaping rules of DOT (GitHub annotations: test_report.py)."""

from __future__ import annotations

from cwlpilot.compiler.render import plan_dot


def test_dot_quotes_names() -> None:
    assert plan_dot({"stages": [{"name": 'we"ird', "cmd": "x"}]}) == (
        'digraph plan {\n  rankdir=LR;\n  node [shape=box];\n  "we\\"ird";\n}\n'
    )
