"""Tests for compiler.cwltypes: what a connection carries and what a port accepts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cwlpilot.compiler import cwltypes as T
from cwlpilot.compiler import ir

A = ir.ArrayType
U = ir.UnionType

scalars = st.sampled_from(
    ["null", "boolean", "int", "long", "float", "double", "string", "File", "Directory"]
)
types = st.recursive(
    scalars, lambda inner: st.one_of(st.builds(A, inner), st.builds(lambda *o: U(o), inner, inner))
)


def test_compatible_basics() -> None:
    assert T.compatible("int", "long")
    assert T.compatible("stdout", "File")
    assert T.compatible(A("File"), A("File"))
    assert T.compatible(U(("null", "string")), "string")
    assert T.compatible("string", ir.EnumType("e", ("a",)))
    assert not T.compatible("File", "string")
    assert not T.compatible(A("File"), "File")
    assert not T.compatible("File", A("File"))
    assert not T.compatible("null", "string")


@given(types)
def test_every_type_is_compatible_with_itself_and_any(t: ir.CwlType) -> None:
    assert T.compatible(t, t)
    assert T.compatible(t, "Any") and T.compatible("Any", t)


@given(types)
def test_optional_accepts_null_and_normalize_is_idempotent(t: ir.CwlType) -> None:
    assert T.accepts_null(T.optional(t))
    assert T.normalize(T.normalize(t)) == T.normalize(t)


def test_merged_sources() -> None:
    assert T.merged(["File"], None, None) == "File"
    assert T.merged(["File", "File"], None, None) == A("File")
    assert T.merged([A("File"), "File"], "merge_flattened", None) == A("File")
    assert T.merged([U(("null", "string")), "string"], None, "all_non_null") == A("string")
    assert T.merged([U(("null", "int")), U(("null", "int"))], None, "first_non_null") == "int"


def test_scatter_helpers() -> None:
    assert T.is_array(A("int")) and T.is_array("Any") and T.is_array(U(("null", A("int"))))
    assert not T.is_array("string")
    assert T.items(A(A("File"))) == A("File")


E = ir.EnumType("mode", ("fast", "slow"))


def test_cwltool_checks_enum_and_number_links_strictly() -> None:
    # cwltool 3.3 (checker.check_types): these fail validation, unlike `compatible` above
    assert T.check_link(E, U(("null", "string")), None, None) == "exception"
    assert T.check_link(E, "string", None, None) == "exception"
    assert T.check_link("string", E, None, None) == "exception"
    assert T.check_link("int", "long", None, None) == "exception"
    assert T.check_link("int", U(("null", "string")), None, None) == "exception"
    assert T.check_link(E, ir.EnumType("other", ("a",)), None, None) == "pass"  # any enum into any enum


def test_some_but_not_all_types_fitting_is_a_warning() -> None:
    assert T.check_link(U(("null", "int")), "int", None, None) == "warning"
    assert T.check_link("int", U(("null", "int")), None, None) == "pass"
    assert T.check_link("Any", "File", None, None) == "pass"


def test_link_merge_and_pick_value_change_what_is_compared() -> None:
    assert T.check_link("File", A("File"), "merge_nested", None) == "pass"
    assert T.check_link(A("File"), A("File"), "merge_flattened", None) == "pass"
    assert T.check_link(A(U(("null", "int"))), "int", None, "first_non_null") == "pass"
    assert T.check_link(A(U(("null", "int"))), A("int"), None, "all_non_null") == "pass"
    # a scattered conditional step's output is a union, not an array: pickValue changes nothing (cwltool)
    assert T.check_link(U(("null", A("int"))), "int", None, "first_non_null") == "exception"


def test_records_compare_fields_by_name() -> None:
    src = ir.RecordType("r", (ir.RecordField("a", "File"), ir.RecordField("b", "int")))
    assert T.check_link(src, ir.RecordType("s", (ir.RecordField("a", "File"),)), None, None) == "pass"
    assert T.check_link(src, ir.RecordType("s", (ir.RecordField("c", "File"),)), None, None) == "exception"
