"""Tests for compiler.formats: the format spec of an input and the ontology of `$schemas`."""

from __future__ import annotations

from pathlib import Path

from cwlpilot.compiler import ir
from cwlpilot.compiler.formats import Ontology, allowed_formats, format_spec

EDAM = {"edam": "http://edamontology.org/"}
TTL = """\
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix edam: <http://edamontology.org/> .
edam:format_1929 rdfs:subClassOf edam:format_2330 .
edam:format_5000 rdfs:subClassOf edam:format_1929 .
edam:format_9999 owl:equivalentClass edam:format_2330 .
edam:format_7777 owl:equivalentClass edam:format_1964 .
"""


def test_no_format_no_spec() -> None:
    assert format_spec("File", None, EDAM) is None
    assert format_spec(ir.ArrayType("File"), None, EDAM) is None


def test_a_format_reaches_the_items_and_prefixes_are_expanded() -> None:
    spec = format_spec(ir.UnionType(("null", ir.ArrayType("File"))), "edam:format_2330", EDAM)
    assert spec == {"type": "union", "format": "http://edamontology.org/format_2330",
                    "options": [{"type": "null"}, {"type": "array", "items": {"type": "File"}}]}
    assert allowed_formats(spec) == {"http://edamontology.org/format_2330"}


def test_record_fields_keep_their_own_format_and_the_record_has_none() -> None:
    rec = ir.RecordType("", (
        ir.RecordField("a", "File", ir.FieldBindings(format="edam:format_1929")),
        ir.RecordField("b", "int"),
    ))
    spec = format_spec(rec, "edam:format_2330", EDAM)
    assert spec == {"type": "record", "fields": {
        "a": {"type": "File", "format": "http://edamontology.org/format_1929"}, "b": {"type": "int"}}}


def test_expressions_are_not_literal_formats() -> None:
    assert allowed_formats({"type": "File", "format": ["$(inputs.f)", "http://x/f"]}) == {"http://x/f"}


def test_the_ontology_gives_subclasses_and_equivalent_classes(tmp_path: Path) -> None:
    onto = tmp_path / "onto.ttl"
    onto.write_text(TTL)
    closure = Ontology((onto.as_uri(),)).closure({"http://edamontology.org/format_2330",
                                                  "http://edamontology.org/format_1964",
                                                  "http://edamontology.org/format_0001"})
    assert closure == {
        "http://edamontology.org/format_2330": ["http://edamontology.org/format_1929",
                                                "http://edamontology.org/format_5000",
                                                "http://edamontology.org/format_9999"],
        "http://edamontology.org/format_1964": ["http://edamontology.org/format_7777"],
    }


def test_no_schemas_no_ontology_read() -> None:
    assert Ontology(()).closure({"http://x/f"}) == {}


def test_a_schema_file_beyond_the_limits_is_skipped_not_read_whole(tmp_path: Path) -> None:
    # regression: `$schemas: [/dev/zero]` was read by schema-salad's fetcher until memory ran out
    (tmp_path / "zero.owl").symlink_to("/dev/zero")
    onto = tmp_path / "o.ttl"
    onto.write_text("@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
                    "<http://x/sub> rdfs:subClassOf <http://x/top> .\n")
    schemas = ((tmp_path / "zero.owl").as_uri(), onto.as_uri())
    assert Ontology(schemas).closure({"http://x/top"}) == {"http://x/top": ["http://x/sub"]}
