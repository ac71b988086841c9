"""The first thing PanDA's server does with a workflow: load each document with cwl-utils.

panda-server's `pcwl_utils.parse_workflow_file` touches empty files named `prun`, `phpo`, `junction`,
`reana` and `gitlab` beside every document it parses (so that `run: prun` names an existing file), then
calls `cwl_utils.parser.load_document_by_uri` on it. Whatever cwl-utils refuses (a missing `steps`,
`when` in a v1.0 document, a `run:` file that does not exist, a field the schema does not have, a
duplicate YAML key) makes the server refuse the workflow. This module asks cwl-utils the same question,
with the same stand-ins, but without writing anything: a fetcher answers for the stand-in files.
The checks are cwl-utils' own (the reference), so they are not written again here.

Unlike the server, the fetcher reads every local file within the compiler's limits (compiler.sourcefile,
and compiler.limits on its YAML, at most limits.MAX_CWL_VALUES values as for CWL documents): left to
itself schema-salad reads a file whole (`$import: /dev/zero` never ends) and ruamel.yaml has no bounds.
A file beyond them is an error at its own position, as `compiler.loader` reports it.
"""

from __future__ import annotations

import os
import re
import urllib.parse
import urllib.request
from typing import Any

from cwlpilot.compiler import limits
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.panda.detect import KINDS
from cwlpilot.compiler.sourcefile import SourceError, read_text
from cwlpilot.compiler.yamlsrc import yaml_diagnostic

RULE = "panda-server-load"


class _Refused(Exception):
    """A file beyond the compiler's limits; `diagnostic` says where and why."""

    def __init__(self, diagnostic: Diagnostic) -> None:
        super().__init__(str(diagnostic))
        self.diagnostic = diagnostic


def bounded_text(path: str, shown: str) -> str:
    """The text of a document cwl-utils is to read, within the compiler's limits; raises _Refused."""
    try:
        text = read_text(path, shown)
        limits.scan(text, limits.MAX_CWL_VALUES)
    except SourceError as exc:
        raise _Refused(exc.diagnostic) from None
    except limits.LimitError as exc:
        raise _Refused(yaml_diagnostic(exc, shown)) from None
    return text


def _fetcher_class() -> Any:
    from schema_salad.fetcher import DefaultFetcher

    class StandInFetcher(DefaultFetcher):  # type: ignore[misc]
        """Files named like a PanDA step kind exist (empty) in the folders the server touched them in."""

        def __init__(self, folders: set[str], shown: Any) -> None:
            super().__init__({}, None)  # no session: nothing is fetched over the network
            self.folders = folders
            self.shown = shown

        def _stand_in(self, url: str) -> bool:
            split = urllib.parse.urlsplit(url)
            if split.scheme != "file":
                return False
            path = urllib.request.url2pathname(split.path)
            # folders by their real path: cwl-utils may name a document through its resolved path
            return os.path.basename(path) in KINDS and os.path.realpath(os.path.dirname(path)) in self.folders

        def check_exists(self, url: str) -> bool:
            return self._stand_in(url) or bool(super().check_exists(url))

        def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
            split = urllib.parse.urlsplit(url)
            path = urllib.request.url2pathname(split.path)
            if self._stand_in(url) and not os.path.exists(path):
                return ""
            if split.scheme != "file":
                return str(super().fetch_text(url, content_types))
            return bounded_text(path, self.shown(path))

    return StandInFetcher


def server_load(path: str, folders: set[str], shown: Any) -> list[Diagnostic]:
    """What cwl-utils finds wrong in the document `path`, as PanDA's server loads it.

    `folders` holds the folders (real paths) the server has touched its stand-ins in so far (this
    document's is added); `shown(path)` gives a file's name as messages show it.
    """
    from cwl_utils.parser import load_document_by_uri
    from cwl_utils.parser.cwl_v1_2 import LoadingOptions
    from ruamel.yaml.error import MarkedYAMLError
    from schema_salad.exceptions import ValidationException

    path = os.path.abspath(path)
    folders.add(os.path.realpath(os.path.dirname(path)))
    try:
        load_document_by_uri(path, LoadingOptions(fetcher=_fetcher_class()(folders, shown)))
    except _Refused as exc:
        return [exc.diagnostic]
    except ValidationException as exc:
        return _diagnostics(exc, path, shown)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        text = f"{exc.problem or exc}".strip()
        return [_diag(Pos(shown(path), line, col), f"PanDA's parser cannot read the YAML: {text}", None)]
    except Exception as exc:  # noqa: BLE001 - cwl-utils failing any other way fails the server too
        return [_diag(Pos(shown(path), 1, 1), f"PanDA's parser (cwl-utils) fails on the document: {exc}", None)]
    return []


def _diag(pos: Pos, message: str, step: str | None) -> Diagnostic:
    return Diagnostic(pos, message, step, "error", RULE)


def _diagnostics(exc: Any, path: str, shown: Any) -> list[Diagnostic]:
    """One diagnostic per innermost reason cwl-utils gives, at its position, with its step."""
    out: list[Diagnostic] = []

    def walk(node: Any, step: str | None, field: str | None) -> None:
        found = re.search(r"checking object `[^`#]*#([^`/]+)` using `WorkflowStep`", node.message or "")
        step = found.group(1) if found else step
        named = re.search(r"the `([^`]+)` field is not valid", node.message or "")
        field = named.group(1) if named else field
        if not node.children:
            if node.message:
                file = os.path.abspath(node.file) if node.file else path  # schema-salad's relname: from the cwd
                line, col = node.start if node.start else (1, 1)
                out.append(_diag(Pos(shown(file), line, col), _plain(node.message, field), step))
            return
        for child in node.children:
            walk(child, step, field)

    walk(exc, None, None)
    return out or [_diag(Pos(shown(path), 1, 1), f"PanDA's parser (cwl-utils) refuses the document: {exc}", None)]


def _plain(message: str, field: str | None) -> str:
    """cwl-utils' reason, shortened and with the file names as the user wrote them; `field` is the
    field it is about."""
    text = re.sub(r"`file://[^`]*?/([^/`]+)`", r"'\1'", message.strip())
    invalid = re.match(r"invalid field `([^`]+)`, expected one of", text)
    if invalid and invalid.group(1) == "when":
        return "PanDA's parser (cwl-utils) refuses `when` here: conditions need cwlVersion v1.2"
    if invalid:
        return (
            f"PanDA's parser (cwl-utils) refuses the field `{invalid.group(1)}`: the CWL schema has no such field here"
        )
    ref = re.match(r"contains undefined reference to '([^']+)'", text)
    if ref and field != "run":
        return f"PanDA's parser (cwl-utils) refuses `{field}`: '{ref.group(1)}' is no value it knows"
    if ref:
        name = ref.group(1)
        why = f"run: no such file '{name}': PanDA's parser (cwl-utils) refuses the document"
        if name.endswith(".cwl") and name[:-4] in KINDS:
            why += f" (the server makes stand-ins only for {', '.join(KINDS)}: write `run: {name[:-4]}`)"
        return why
    return f"PanDA's parser (cwl-utils) refuses the document: {text}"
