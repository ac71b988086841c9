"""Reading YAML documents with line/column positions, and finding CWL fields inside them.

cwl-utils objects carry no positions, so the loader walks the ruamel.yaml tree of the same document in
parallel and asks this module where each field is. Map form (`inputs: {x: File}`) and list form
(`inputs: [{id: x, type: File}]`) are both understood, and `$import` is followed into its file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from ruamel.yaml.error import MarkedYAMLError

from cwlpilot.compiler import fastyaml
from cwlpilot.compiler.errors import Diagnostic, Pos
from cwlpilot.compiler.limits import LimitError
from cwlpilot.compiler.sourcefile import SourceError, read_text


def display_path(path: str, cwd: str | None = None) -> str:
    """The path shown in messages: relative to the working directory when that is shorter."""
    cwd = cwd or os.getcwd()
    path = os.path.abspath(os.path.join(cwd, path))
    rel = os.path.relpath(path, cwd)
    return path if rel.startswith("../../") else rel


def uri_to_path(uri: str) -> str:
    """The local file path of a `file://` URI (fragment dropped); other strings pass through."""
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    return uri.split("#", 1)[0]


@dataclass(frozen=True)
class Node:
    """A YAML value together with the file it came from (for positions)."""

    value: Any
    file: str

    def pos(self, key: Any = None) -> Pos:
        """Where this node starts, or where `key` (a mapping key or a list index) is inside it."""
        lc = getattr(self.value, "lc", None)
        if lc is None:
            return Pos(self.file)
        try:
            if key is None:
                return Pos(self.file, lc.line + 1, lc.col + 1)
            line, col = lc.key(key) if isinstance(self.value, Mapping) else lc.item(key)
            return Pos(self.file, line + 1, col + 1)
        except (KeyError, IndexError, TypeError, AttributeError):
            return Pos(self.file, lc.line + 1, lc.col + 1)

    def get(self, key: str) -> Node | None:
        if isinstance(self.value, Mapping) and key in self.value:
            return Node(self.value[key], self.file)
        return None


_EMPTY = Node(None, "")


@dataclass
class YamlCache:
    """Parsed YAML files by absolute path, with their text; a syntax error is remembered as a diagnostic."""

    cwd: str | None = None
    trees: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    errors: dict[str, Diagnostic] = field(default_factory=dict)

    def node(self, path: str) -> Node | None:
        """The document at `path`, or None when it cannot be read or parsed (see `errors`)."""
        path = os.path.abspath(path)
        if path not in self.trees and path not in self.errors:
            self._read(path)
        if path in self.errors:
            return None
        return Node(self.trees[path], display_path(path, self.cwd))

    def _read(self, path: str) -> None:
        shown = display_path(path, self.cwd)
        try:
            text = read_text(path, shown)
        except SourceError as exc:
            self.errors[path] = exc.diagnostic
            return
        self.texts[path] = text
        try:
            self.trees[path] = fastyaml.load(text, "rt")
        except MarkedYAMLError as exc:
            self.errors[path] = yaml_diagnostic(exc, shown)

    def follow(self, node: Node) -> Node:
        """`node` itself, or the document its `$import` names."""
        if isinstance(node.value, Mapping) and isinstance(node.value.get("$import"), str):
            base = os.path.dirname(os.path.abspath(node.file))
            target = os.path.join(base, uri_to_path(node.value["$import"]))
            return self.node(target) or _EMPTY
        return node


def yaml_diagnostic(exc: MarkedYAMLError, shown: str) -> Diagnostic:
    """A ruamel.yaml parse error as one diagnostic at the place the parser gave up."""
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem and exc.context_mark is not None:
        problem += f" ({exc.context} at line {exc.context_mark.line + 1})"
    if isinstance(exc, LimitError):
        return Diagnostic(Pos(shown, line, col), f"YAML document beyond a limit: {problem}", rule="cwl-limit")
    return Diagnostic(Pos(shown, line, col), f"YAML syntax error: {problem}", rule="cwl-yaml")


def entry(node: Node | None, field_name: str, short_id: str, id_key: str = "id") -> Node:
    """The entry `short_id` of an id-mapped field (`inputs`, `steps`, `in`, ...), in either form.

    The returned node's position is that of the map key (map form) or of the list item (list form).
    """
    if node is None:
        return _EMPTY
    container = node.get(field_name)
    if container is None:
        return Node(None, node.file) if node.file else _EMPTY
    value = container.value
    if isinstance(value, Mapping) and short_id in value:
        return _KeyedNode(value[short_id], container.file, container.pos(short_id))
    if isinstance(value, Sequence) and not isinstance(value, str):
        for index, item in enumerate(value):
            if item == short_id or (isinstance(item, Mapping) and _short(item.get(id_key)) == short_id):
                return _KeyedNode(item, container.file, container.pos(index))
    return _KeyedNode(None, container.file, container.pos())


def _short(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    return raw.split("#")[-1].split("/")[-1]


@dataclass(frozen=True)
class _KeyedNode(Node):
    """A node whose own position is the key that introduced it (more useful in messages)."""

    at: Pos = Pos("")

    def pos(self, key: Any = None) -> Pos:
        if key is None:
            return self.at
        return Node.pos(self, key) if getattr(self.value, "lc", None) is not None else self.at
