"""The root of the errors the shared CWL code raises for a workflow's own mistakes (never for bugs)."""

from __future__ import annotations


class CwlError(ValueError):
    """A workflow, its inputs or its tools' results break a CWL rule; the message says which."""
