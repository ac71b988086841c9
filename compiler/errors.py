"""Diagnostics and the compiler's exception root.

Every workflow mistake is a `Diagnostic` naming its origin (`file:line:col: step 'id': message`);
checks collect them all and raise once, so a user sees every mistake in one run.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Pos:
    """A position in a source file; line and column start at 1 (0 means unknown)."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


SEVERITIES = ("error", "warning", "note")


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding in a workflow, with where it is and which step it belongs to (if any).

    `severity` is `error` (the workflow is refused), `warning` (accepted, but very likely a mistake) or
    `note`; `rule` is a stable id naming the check (`cwl-source`, `panda-secondary-ds-placeholder`; the
    registry is `compiler.rules`), for tools that select or ignore findings and for SARIF. Errors print
    as `file:line:col: step 'id': message` (what `compile` and `run` say), the others as `file:line:col:
    warning: step 'id': message [rule]`; `gnu` is the form `check` reports every finding in.
    """

    pos: Pos
    message: str
    step: str | None = None
    severity: str = "error"
    rule: str | None = None

    def __str__(self) -> str:
        if self.severity == "error":
            return self.located
        return self.gnu

    @property
    def gnu(self) -> str:
        """GNU style, as compilers print: `file:line:col: severity: step 'id': message [rule]`."""
        where = f"step '{self.step}': " if self.step else ""
        rule = f" [{self.rule}]" if self.rule else ""
        return f"{self.pos}: {self.severity}: {where}{self.message}{rule}"

    @property
    def located(self) -> str:
        """`file:line:col: step 'id': message`, for quoting the finding inside another message."""
        where = f"step '{self.step}': " if self.step else ""
        return f"{self.pos}: {where}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class CompilerError(Exception):
    """Root of every exception the compiler raises on purpose."""


class WorkflowError(CompilerError):
    """The workflow (or its inputs) has mistakes; `diagnostics` lists all of them, sorted."""

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(sorted(set(diagnostics)))
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class UnsupportedError(CompilerError):
    """The workflow is valid CWL but uses a feature the compiler does not support (yet)."""
