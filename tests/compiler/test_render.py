"""Tests for compiler.render: escaping rules of GitHub annotations and DOT."""

from __future__ import annotations

from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.render import github_annotation, plan_dot


def test_github_annotation_escapes_data_and_properties() -> None:
    diag = Diagnostic(Pos("dir,x/a:b.cwl", 3, 4), "50% done\nnext line", "s,1")
    assert github_annotation(diag) == (
        "::error file=dir%2Cx/a%3Ab.cwl,line=3,col=4,title=step s%2C1::step 's,1': 50%25 done%0Anext line"
    )


def test_dot_quotes_names() -> None:
    assert plan_dot({"stages": [{"name": 'we"ird', "cmd": "x"}]}) == (
        'digraph plan {\n  rankdir=LR;\n  node [shape=box];\n  "we\\"ird";\n}\n'
    )
