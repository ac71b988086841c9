"""Evaluating CWL expressions: parameter references in Python, JavaScript through cwl-utils' sandbox.

The compiler evaluates with `Evaluator(js=None)` (Python only: anything else raises `NotStatic` and is
left for run time); the executor's CWL kinds pass the tool's InlineJavascriptRequirement and get the
full language. cwl-utils is imported on the first JavaScript expression only, and its node process is
kept for the life of the executor, so no interpreter is started per stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cwlpilot.semantics.cwl.errors import CwlError
from cwlpilot.semantics.cwl.params import NotStatic, has_expression
from cwlpilot.semantics.cwl.params import evaluate as evaluate_refs

# CWL versions whose escaping rules differ (cwl-utils' escaping_behavior 1)
_OLD_ESCAPES = ("v1.0", "v1.1.0-dev1", "v1.1")


class ExpressionError(CwlError):
    """A JavaScript expression failed; the message is the engine's."""


@dataclass(frozen=True)
class Evaluator:
    """Evaluates expressions of one process. `js` is None when JavaScript may not be run (compile time)."""

    js: tuple[str, ...] | None = None  # the expressionLib, when InlineJavascriptRequirement applies
    version: str = "v1.2"
    allow_js: bool = False

    def __call__(self, text: Any, context: Mapping[str, Any], strip: bool = True) -> Any:
        """The value of `text` (returned unchanged when it is not a string with an expression).

        Surrounding whitespace is dropped first (so `"$(x)\n"` is x itself) unless `strip` is False, as
        for InitialWorkDir file contents, where it is kept."""
        if not isinstance(text, str) or not has_expression(text):
            return text
        try:
            if "\\" in text:  # CWL's backslash escapes: exactly as cwl-utils reads them
                raise NotStatic(text)
            return evaluate_refs(text.strip() if strip else text, context)
        except NotStatic:
            if not self.allow_js or _has_ref(context):
                raise
        return self._javascript(text, context, strip)

    def _javascript(self, text: str, context: Mapping[str, Any], strip: bool) -> Any:
        from cwl_utils.expression import interpolate, jshead

        rootvars: Any = {
            "inputs": context.get("inputs"),
            "self": context.get("self"),
            "runtime": context.get("runtime") or {},
        }
        full = self.js is not None
        try:
            return interpolate(
                text,
                rootvars,
                fullJS=full,
                jslib=jshead(list(self.js or ()), rootvars) if full else "",
                escaping_behavior=1 if self.version in _OLD_ESCAPES else 2,
                strip_whitespace=strip,
            )
        except Exception as exc:  # noqa: BLE001 - the engine reports JavaScript errors in many ways
            raise ExpressionError(" ".join(str(exc).split())[:2000]) from None


def _has_ref(value: Any) -> bool:
    if isinstance(value, Mapping):
        return "$ref" in value or "$merge" in value or any(_has_ref(v) for v in value.values())
    if isinstance(value, Sequence) and not isinstance(value, str):
        return any(_has_ref(v) for v in value)
    return False


PYTHON_ONLY = Evaluator()
