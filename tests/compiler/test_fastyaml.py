"""compiler.fastyaml gives exactly what ruamel.yaml gives: values, types, and every line/column position."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import YAMLError
from schema_salad.utils import yaml_no_ts

from cwlpilot.compiler import fastyaml

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared"
FUZZ_CORPUS = REPO / "tests" / "fuzz" / "corpus"  # inputs beyond compiler.limits on purpose: not ruamel's
CORPUS = sorted(
    p
    for root in (SHARED / "cwl-conformance", SHARED / "seed-workflows", REPO / "examples", REPO / "tests")
    for pattern in ("*.cwl", "*.yml", "*.yaml")
    for p in root.rglob(pattern)
    if FUZZ_CORPUS not in p.parents
)


def reference(text: str, flavour: str) -> Any:
    return (yaml_no_ts() if flavour == "salad" else YAML(typ=flavour)).load(text)


def difference(ours: Any, theirs: Any, where: str = "") -> str | None:
    """Where `ours` and `theirs` differ in value, container type or position; None when they do not."""
    if isinstance(theirs, (CommentedMap, CommentedSeq)):
        if type(ours) is not type(theirs):
            return f"{where}: {type(ours).__name__} instead of {type(theirs).__name__}"
        if (ours.lc.line, ours.lc.col) != (theirs.lc.line, theirs.lc.col):
            return f"{where}: at {ours.lc.line}:{ours.lc.col} instead of {theirs.lc.line}:{theirs.lc.col}"
        if dict(ours.lc.data or {}) != dict(theirs.lc.data or {}):
            return f"{where}: positions {dict(ours.lc.data)} instead of {dict(theirs.lc.data)}"
    if isinstance(theirs, dict):
        if not isinstance(ours, dict) or list(ours) != list(theirs):
            return f"{where}: keys {ours!r} instead of {list(theirs)}"
        return next((d for k in theirs if (d := difference(ours[k], theirs[k], f"{where}/{k}"))), None)
    if isinstance(theirs, list):
        if not isinstance(ours, list) or len(ours) != len(theirs):
            return f"{where}: {ours!r} instead of a list of {len(theirs)}"
        return next((d for i, t in enumerate(theirs) if (d := difference(ours[i], t, f"{where}/{i}"))), None)
    if isinstance(theirs, TaggedScalar):  # compares by identity
        return None if repr(ours) == repr(theirs) else f"{where}: {ours!r} instead of {theirs!r}"
    if isinstance(theirs, float) and math.isnan(theirs):
        return None if isinstance(ours, float) and math.isnan(ours) else f"{where}: {ours!r} instead of nan"
    same_kind = isinstance(ours, bool) == isinstance(theirs, bool) and isinstance(ours, str) == isinstance(
        theirs, str
    )
    return None if same_kind and ours == theirs else f"{where}: {ours!r} instead of {theirs!r}"


@pytest.mark.skipif(not (SHARED / "cwl-conformance").is_dir(), reason="../shared/cwl-conformance is missing")
@pytest.mark.parametrize("flavour", ["rt", "salad", "safe"])
def test_same_as_ruamel_on_every_file_of_the_conformance_suite(flavour: str) -> None:
    compared = 0
    for path in CORPUS:
        text = path.read_text(encoding="utf-8")
        try:
            expected = reference(text, flavour)
        except YAMLError:
            with pytest.raises(YAMLError):
                fastyaml.load(text, flavour)
            continue
        found = difference(fastyaml._fast(text, flavour), expected)  # the libyaml path, never the fallback
        assert found is None, f"{path}: {found}"
        compared += 1
    assert compared > 400


def test_fast_path_is_taken_for_plain_documents() -> None:
    """The conformance comparison means something only if the libyaml path is the one that ran."""
    assert fastyaml._CParser is not None, "PyYAML was built without libyaml"
    tree = fastyaml._fast("a: [1, 2.5, true, null, ~, 'x', \"y\", -3, .inf]\nb: {c: d}\n", "rt")
    assert tree == {"a": [1, 2.5, True, None, None, "x", "y", -3, math.inf], "b": {"c": "d"}}
    assert tree["b"].lc.line == 1 and tree.lc.key("b") == (1, 0)


@pytest.mark.parametrize(
    "text",
    [
        "a: 0o17\n",  # octal: ruamel's own reading
        "a: 0x1F\n",
        "a: 1_000\n",
        "a: 2024-01-02\n",  # a timestamp in "rt", a string in "salad"
        "a: !!str 12\n",
        "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n",
        "a: 1\na: 2\n",  # duplicate key: ruamel's error
        "a: [1\n",  # syntax error: ruamel's message
        "--- 1\n--- 2\n",
        "? [a, b]\n: c\n",
        "a: 'x'\nb: 中文\nc: {d: é}\n",
    ],
)
@pytest.mark.parametrize("flavour", ["rt", "salad", "safe"])
def test_unusual_yaml_reads_as_ruamel_reads_it(text: str, flavour: str) -> None:
    try:
        expected = reference(text, flavour)
    except YAMLError as exc:
        with pytest.raises(type(exc)) as raised:
            fastyaml.load(text, flavour)
        assert str(raised.value) == str(exc)
        return
    assert difference(fastyaml.load(text, flavour), expected) is None


def test_checking_a_workflow_never_needs_ruamels_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every document of an ordinary workflow (the workflow, its tools, the inputs) is read through
    libyaml: ruamel.yaml's pure-Python parser, 30x slower, is only for what libyaml cannot give."""
    from ruamel.yaml.main import YAML as RuamelYAML

    from cwlpilot.compiler.check import check

    def refuse(self: object, stream: object) -> None:
        raise AssertionError("ruamel.yaml parsed a document")

    monkeypatch.setattr(RuamelYAML, "load", refuse)
    result = check(str(REPO / "examples" / "cwl" / "cross.cwl"), str(REPO / "examples" / "cwl" / "cross-job.yml"))
    assert result.ok, result.diagnostics
    assert result.process is not None and result.process.steps
