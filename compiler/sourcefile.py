"""Reading a document's text, bounded: at most limits.MAX_BYTES, UTF-8 only, no NUL bytes; or why not.

Every file the compiler reads (workflows, the files their steps run, `$import`s, inputs files, dataset maps)
comes through `read_text`, so that any file given (a binary, /dev/zero, a directory, a file of another
encoding) gives a message at its line and column, never a traceback and never an unbounded read.
"""

from __future__ import annotations

from cwlpilot.compiler.errors import CompilerError, Diagnostic, Pos
from cwlpilot.compiler.limits import MAX_BYTES


class SourceError(CompilerError):
    """A file that cannot be read as a document; `diagnostic` says where and why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        self.diagnostic = diagnostic
        super().__init__(str(diagnostic))


def read_text(path: str, shown: str | None = None, limit: int = MAX_BYTES) -> str:
    """The text of the file at `path` (`shown` is its name in messages); raises SourceError.

    UTF-8 is the one encoding, as in schema-salad's fetcher (`DefaultFetcher.fetch_text`, which cwltool
    reads documents with); a byte-order mark is kept for the YAML parser, which skips it.
    """
    shown = shown or path
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise SourceError(Diagnostic(Pos(shown, 1, 1), f"cannot read file: {exc.strerror or exc}",
            rule="cwl-read")) from None
    if len(data) > limit:
        message = f"the file is larger than {limit // 2**20} MB, the most a document may be"
        raise SourceError(Diagnostic(Pos(shown, 1, 1), message, rule="cwl-read"))
    nul = data.find(b"\0")
    if nul >= 0:
        line, col = _line_col(data, nul)
        message = "a NUL byte: this is a binary file, not a document"
        raise SourceError(Diagnostic(Pos(shown, line, col), message, rule="cwl-read"))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, col = _line_col(data, exc.start)
        byte = data[exc.start]
        message = f"not UTF-8 text: byte 0x{byte:02x} {exc.reason} (documents are read as UTF-8)"
        raise SourceError(Diagnostic(Pos(shown, line, col), message, rule="cwl-read")) from None


def _line_col(data: bytes, offset: int) -> tuple[int, int]:
    """Line and column (from 1, in characters) of byte `offset`, all bytes before it being valid UTF-8."""
    start = data.rfind(b"\n", 0, offset) + 1
    column = len(data[start:offset].decode("utf-8", "replace"))
    return data.count(b"\n", 0, offset) + 1, column + 1
