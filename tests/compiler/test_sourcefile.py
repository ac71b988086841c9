"""compiler.sourcefile: any file is read as text within the size limit, or refused at its line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from cwlpilot.compiler.sourcefile import SourceError, read_text


def refused(path: Path | str, **kw: int) -> str:
    with pytest.raises(SourceError) as info:
        read_text(str(path), "doc.cwl", **kw)
    return str(info.value.diagnostic)


def test_utf8_text_is_read_as_it_is(tmp_path: Path) -> None:
    path = tmp_path / "doc.cwl"
    path.write_bytes("\ufeffdoc: caf\u00e9 \u2713\n".encode())
    assert read_text(str(path)) == "\ufeffdoc: caf\u00e9 \u2713\n"


def test_invalid_utf8_names_line_and_column_of_the_byte(tmp_path: Path) -> None:
    # regression: a byte 0xff in a document was a UnicodeDecodeError traceback from yamlsrc._read
    path = tmp_path / "doc.cwl"
    path.write_bytes("a: 1\nb: \u00e9t\u00e9 \xff\n".encode("utf-8").replace(b"\xc3\xbf", b"\xff"))
    assert refused(path) == "doc.cwl:2:8: not UTF-8 text: byte 0xff invalid start byte (documents are read as UTF-8)"


def test_a_truncated_character_at_the_end(tmp_path: Path) -> None:
    path = tmp_path / "doc.cwl"
    path.write_bytes(b"a: \xe2\x82")
    assert refused(path).startswith("doc.cwl:1:4: not UTF-8 text: byte 0xe2 ")


def test_nul_byte_is_a_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "doc.cwl"
    path.write_bytes(b"cwlVersion: v1.2\nclass: \0Workflow\n")
    assert refused(path) == "doc.cwl:2:8: a NUL byte: this is a binary file, not a document"


def test_larger_than_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "doc.cwl"
    path.write_bytes(b"x" * (2**20 + 1))
    assert refused(path, limit=2**20) == "doc.cwl:1:1: the file is larger than 1 MB, the most a document may be"
    assert len(read_text(str(path), limit=2**20 + 1)) == 2**20 + 1


def test_dev_zero_is_refused_without_reading_it_all() -> None:
    # regression: `check /dev/zero` read until the memory was gone
    assert "larger than" in refused("/dev/zero")


def test_a_directory_or_a_missing_file(tmp_path: Path) -> None:
    assert refused(tmp_path) == "doc.cwl:1:1: cannot read file: Is a directory"
    assert refused(tmp_path / "missing.cwl") == "doc.cwl:1:1: cannot read file: No such file or directory"
