"""Loading CWL documents with cwl-utils and converting them at once into the compiler's IR.

This is the only module that imports `cwl_utils.parser`. Its objects are read here, turned into the
frozen dataclasses of `compiler.ir` (with positions taken from the ruamel.yaml tree of the same file,
see `compiler.yamlsrc`), and never handed further. Loading collects every error it can: schema errors
of every file reached, YAML syntax errors, unknown types, missing `run` documents.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from cwl_utils import parser as cwl
from cwl_utils.errors import GraphTargetMissingException
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import MarkedYAMLError
from schema_salad.exceptions import SchemaSaladException, ValidationException
from schema_salad.fetcher import DefaultFetcher, Fetcher
from schema_salad.sourceline import relname

from cwlpilot.compiler import fastyaml, ir, limits, loops
from cwlpilot.compiler.errors import Diagnostic, Pos, WorkflowError
from cwlpilot.compiler.loader_convert import Converter
from cwlpilot.compiler.sourcefile import SourceError, read_text
from cwlpilot.compiler.yamlsrc import Node, YamlCache, display_path, uri_to_path, yaml_diagnostic


@dataclass(frozen=True)
class LoadResult:
    """A loaded document: the process (None when it could not be loaded) and every problem found.

    `process` may be set although `diagnostics` is not empty: a step whose `run` failed to load then
    has `run=None`. `versions` maps every loaded file to its cwlVersion.
    """

    process: ir.Process | None
    diagnostics: tuple[Diagnostic, ...]
    cache: YamlCache
    refused: bool = False  # a document was beyond a limit of compiler.limits: it was not read further


def load(path: str, cwd: str | None = None) -> LoadResult:
    """Load the CWL document at `path` (a file, optionally `file.cwl#id` for a `$graph` entry)."""
    session = _Session(YamlCache(cwd=cwd))
    process = session.process(_path_uri(path))
    return LoadResult(process, tuple(sorted(set(session.diagnostics))), session.yaml, session.refused)


def load_strict(path: str, cwd: str | None = None) -> ir.Process:
    """Like `load`, but raise `WorkflowError` listing every problem when there is any."""
    result = load(path, cwd)
    if result.diagnostics or result.process is None:
        raise WorkflowError(result.diagnostics or (Diagnostic(Pos(path), "cannot load document", rule="cwl-schema"),))
    return result.process


def _path_uri(path: str) -> str:
    """A `file://` URI for `path`; a `#id` suffix selects a `$graph` entry unless the file has `#`."""
    fragment = ""
    if not os.path.exists(path) and "#" in path:
        path, fragment = path.rsplit("#", 1)
    uri = Path(path).resolve().as_uri()
    return f"{uri}#{fragment}" if fragment else uri


@dataclass
class _Session:
    """State of one load: parsed files, processes by URI, and the problems found so far."""

    yaml: YamlCache
    diagnostics: list[Diagnostic] = field(default_factory=list)
    processes: dict[str, ir.Process | None] = field(default_factory=dict)
    loading: set[str] = field(default_factory=set)
    options: Any = None
    refused: bool = False

    def process(self, uri: str, at: Pos | None = None) -> ir.Process | None:
        """The process at `uri`, loaded once; None (with diagnostics recorded) when it fails."""
        if uri in self.processes:
            return self.processes[uri]
        if uri in self.loading:
            self.diagnostics.append(Diagnostic(at or Pos(uri), f"'{_short_uri(uri)}' runs itself", rule="cwl-run"))
            return None
        self.loading.add(uri)
        try:
            result = self._load(uri, at)
        finally:
            self.loading.discard(uri)
        self.processes[uri] = result
        return result

    def _load(self, uri: str, at: Pos | None) -> ir.Process | None:
        file_uri, _, fragment = uri.partition("#")
        path = uri_to_path(file_uri)
        doc = self.yaml.node(path)
        if doc is None:
            error = self.yaml.errors[os.path.abspath(path)]
            self.diagnostics.append(
                error if at is None else Diagnostic(at, f"cannot load '{error.pos.file}'", rule="cwl-run")
            )
            if at is not None:
                self.diagnostics.append(error)
            return None
        refused = [d for d in [too_many_steps(doc), self._too_many_values(path, doc)] if d]
        refused += self._unreadable_includes(path, doc)
        if refused:  # before cwl-utils spends seconds on it, or reads what it cannot read
            self.diagnostics.extend(refused)
            self.refused = True
            return None
        obj = self._cwl_object(path, file_uri, fragment or None)
        if obj is None:
            return None
        node = _graph_entry(doc, fragment) if isinstance(doc.value, dict) and "$graph" in doc.value else doc
        converter = Converter(self.yaml, self.diagnostics, self._run, _version(doc))
        return converter.process(obj, node)

    def _cwl_object(self, path: str, file_uri: str, fragment: str | None) -> Any:
        shown = display_path(path, self.yaml.cwd)
        options = cwl.LoadingOptions(
            fileuri=file_uri,
            baseuri=file_uri.rsplit("/", 1)[0] + "/",
            copyfrom=self.options,
            fetcher=None if self.options is not None else _Fetcher({}, None),
        )
        try:
            # a tree of its own (cwl-utils may change the one it is given), from the text already read
            text = self.yaml.texts[os.path.abspath(path)]
            tree = _steps_as_plain_maps(fastyaml.load(text, "salad"), relname(file_uri))
            obj = cwl.load_document_by_yaml(tree, file_uri, options, fragment)
        except ValidationException as exc:
            found = salad_diagnostics(exc, shown, self.yaml.cwd)
            doc = self.yaml.node(path)
            clearer = loops.raw_problems(doc, _version(doc)) if doc is not None else []
            if clearer:  # a Loop's schema errors come out as "Expected a <class 'NoneType'> but got list"
                steps = {d.step for d in clearer}
                found = [d for d in found if not (d.step in steps and d.message.startswith("Expected a <class"))]
            self.diagnostics.extend(found + clearer)
            return None
        except GraphTargetMissingException as exc:
            choices = str(exc).split("one of ", 1)[-1]
            message = f"the `$graph` has no `main` entry; name one with FILE#ID, one of {choices}"
            self.diagnostics.append(Diagnostic(Pos(shown, 1, 1), message, rule="cwl-schema"))
            return None
        except (SchemaSaladException, MarkedYAMLError) as exc:
            self.diagnostics.append(Diagnostic(Pos(shown, 1, 1), " ".join(str(exc).split()), rule="cwl-schema"))
            return None
        except Exception as exc:  # noqa: BLE001 - cwl-utils may fail in other ways on odd documents
            message = f"cwl-utils cannot load this document: {type(exc).__name__}: {exc}"
            self.diagnostics.append(Diagnostic(Pos(shown, 1, 1), " ".join(message.split()), rule="cwl-schema"))
            return None
        if self.options is None:
            self.options = options  # later files share fetcher and caches
        if isinstance(obj, list):
            self.diagnostics.append(Diagnostic(Pos(shown, 1, 1), "a `$graph` document needs `#id`", rule="cwl-schema"))
            return None
        return obj

    def _too_many_values(self, path: str, doc: Node) -> Diagnostic | None:
        """A diagnostic when the document holds more than limits.MAX_CWL_VALUES values (only a text of more
        than half as many characters can: see limits.MAX_VALUES)."""
        text = self.yaml.texts.get(os.path.abspath(path), "")
        if len(text) <= limits.MAX_CWL_VALUES // 2:
            return None
        try:
            limits.scan(text, limits.MAX_CWL_VALUES)
        except limits.LimitError as exc:
            return yaml_diagnostic(exc, doc.file)
        return None

    def _unreadable_includes(self, path: str, doc: Node) -> list[Diagnostic]:
        """The `$import`s and `$include`s of the document that cannot be read within the limits, each at
        its key: schema-salad would read them whole and report a failure as a type mismatch."""
        text = self.yaml.texts.get(os.path.abspath(path), "")
        if "$import" not in text and "$include" not in text:
            return []
        found = []
        base = os.path.dirname(os.path.abspath(path))
        for node, key in _includes(doc.value):
            target = os.path.join(base, uri_to_path(node[key]))
            shown = display_path(target, self.yaml.cwd)
            try:
                included = read_text(target, shown)
                if key == "$import":
                    limits.scan(included)
            except SourceError as exc:
                found.append(Diagnostic(Node(node, doc.file).pos(key), f"{key}: {exc.diagnostic.located}",
                    rule="cwl-read"))
            except limits.LimitError as exc:
                found.append(Diagnostic(Node(node, doc.file).pos(key), f"{key}: {yaml_diagnostic(exc, shown).located}",
                                        rule="cwl-limit"))
        return found

    def _run(self, run_uri: str, at: Pos) -> ir.Process | None:
        return self.process(run_uri, at)


class _Fetcher(DefaultFetcher):
    """schema-salad's fetcher, whose HTTP session is made at the first remote URL rather than for every load,
    and which reads local files (`$import`, `$include`) within the compiler's limits.

    Left to itself, schema-salad builds a requests session with an on-disk HTTP cache (requests, cachecontrol,
    filelock) for each document loaded: 20 ms of a compile that usually reads nothing but local files. It
    also reads a file whole, whatever it is (`$import: /dev/zero` never ends), and parses it with
    ruamel.yaml, which has no bounds: so the text is read by compiler.sourcefile and scanned by
    compiler.limits first.
    """

    remote: Fetcher | None = None

    def __init__(self, cache: dict[str, Any], session: Any) -> None:
        super().__init__(cache, session)
        self.exists: dict[str, bool] = {}

    def _web(self, url: str) -> Fetcher | None:
        if not url.startswith(("http:", "https:")):
            return None
        if self.remote is None:
            self.remote = cwl.LoadingOptions().fetcher  # schema-salad's default, with its session
        return self.remote

    def fetch_text(self, url: str, content_types: list[str] | None = None) -> str:
        web = self._web(url)
        if web is not None:
            return web.fetch_text(url, content_types)
        if not url.startswith("file:") or isinstance(self.cache.get(url), str):
            return super().fetch_text(url, content_types)
        path = uri_to_path(url)
        shown = display_path(path)
        try:
            text = read_text(path, shown)
            limits.scan(text)
        except SourceError as exc:
            raise ValidationException(exc.diagnostic.located) from None
        except limits.LimitError as exc:
            raise ValidationException(yaml_diagnostic(exc, shown).located) from None
        self.cache[url] = text
        return text

    def check_exists(self, url: str) -> bool:
        web = self._web(url)
        if web:
            return web.check_exists(url)
        # cwl-utils checks every reference it meets (`run`, each `source`: `wf.cwl#s1/out`) for the file it is
        # in; a 10,000-step workflow asked 40,000 times whether its own file exists
        where = url.partition("#")[0]
        known = self.exists.get(where)
        if known is None:
            known = self.exists[where] = super().check_exists(where)
        return known


class _PlainMap(dict):  # type: ignore[type-arg]
    """A workflow step as cwl-utils is given it: the same mapping and positions (ruamel's `lc`), but not a
    CommentedMap. cwl-utils' array loader (`_ArrayLoader.load`, generated by schema-salad) checks each
    CommentedMap item's id against a *list* of the ids before it, which made loading quadratic in the number
    of steps (1.2 s of a 10,000-step workflow); it skips that check for other mappings. Duplicate step ids
    are found by `compiler.validate` instead."""

    lc: Any

    def __copy__(self) -> _PlainMap:  # cwl-utils copies each step twice; the default copy is slow
        plain = _PlainMap(self)
        plain.lc = self.lc
        return plain


def _steps_as_plain_maps(tree: Any, filename: str) -> Any:
    """`tree` with the steps of its workflows (a `$graph`'s too) as `_PlainMap`s, changed in place;
    `filename` is what schema-salad's `add_lc_filename` would have given their positions."""
    graph = tree.get("$graph") if isinstance(tree, dict) else None
    docs: list[Any] = graph if isinstance(graph, list) else [tree]
    for doc in docs:
        steps = doc.get("steps") if isinstance(doc, dict) else None
        if isinstance(steps, dict):
            for key in list(steps):
                steps[key] = _plain(steps[key], filename)
        elif isinstance(steps, list):
            steps[:] = [_plain(s, filename) for s in steps]
    return tree


def _plain(value: Any, filename: str) -> Any:
    if not isinstance(value, CommentedMap):
        return value
    plain = _PlainMap(value)
    plain.lc = value.lc
    plain.lc.filename = filename
    return plain


def _includes(tree: Any) -> list[tuple[Any, str]]:
    """(mapping, key) of every `$import` or `$include` naming a file in `tree` (walked without recursion)."""
    found, todo = [], [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            found += [(node, k) for k in ("$import", "$include") if isinstance(node.get(k), str)]
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def too_many_steps(doc: Node) -> Diagnostic | None:
    """A diagnostic when the document (its `$graph` entries together) has more than limits.MAX_STEPS steps."""
    value = doc.value
    entries = value.get("$graph") if isinstance(value, dict) else None
    processes = entries if isinstance(entries, list) else [value]
    count = sum(len(p["steps"]) for p in processes if isinstance(p, dict) and isinstance(p.get("steps"), (dict, list)))
    if count <= limits.MAX_STEPS:
        return None
    message = f"{count} steps: a document may have at most {limits.MAX_STEPS} (split it into sub-workflows)"
    return Diagnostic(doc.pos("$graph" if isinstance(entries, list) else "steps"), message, rule="cwl-limit")


def _version(doc: Node) -> str:
    value = doc.value.get("cwlVersion") if isinstance(doc.value, dict) else None
    return str(value) if value else ""


def _graph_entry(doc: Node, fragment: str) -> Node:
    from cwlpilot.compiler.yamlsrc import entry

    return entry(doc, "$graph", fragment or "main")


def _short_uri(uri: str) -> str:
    return unquote(uri.rsplit("/", 1)[-1])


def salad_diagnostics(exc: ValidationException, shown: str, cwd: str | None = None) -> list[Diagnostic]:
    """The leaves of a schema-salad error tree, each at its own (or its nearest parent's) position."""
    found: list[Diagnostic] = []
    _walk_salad(exc, Pos(shown, 1, 1), None, "", found, cwd)
    return found


def _walk_salad(
    exc: Any, pos: Pos, step: str | None, context: str, found: list[Diagnostic], cwd: str | None
) -> None:
    message = " ".join(str(getattr(exc, "message", "") or "").split())
    if getattr(exc, "file", None) and getattr(exc, "start", None):
        line, col = exc.start
        # schema-salad gives a URI, or a path relative to the working directory, both percent-encoded
        path = uri_to_path(exc.file) if "://" in exc.file else unquote(exc.file)
        pos = Pos(display_path(path, cwd), line, col)
    step = _salad_step(message) or step
    if message.startswith("the `") and "field is not valid" in message:
        context = message.split("`")[1]
    children = getattr(exc, "children", None) or []
    if not children:
        if message and not message.endswith("because:") and not message.endswith("because"):
            found.append(Diagnostic(pos, _salad_message(message, context), step, rule="cwl-schema"))
        return
    for child in children:
        _walk_salad(child, pos, step, context, found, cwd)


def _salad_step(message: str) -> str | None:
    """The step named by schema-salad's "checking object `wf.cwl#s1` using `WorkflowStep`"."""
    if message.startswith("checking object `") and message.endswith("using `WorkflowStep`"):
        return message.split("`")[1].split("#")[-1].split("/")[-1]
    return None


def _salad_message(message: str, context: str) -> str:
    if message.startswith("contains undefined reference to `"):
        target = message.split("`")[1]
        target = os.path.basename(uri_to_path(target)) if target.startswith("file:") else target
        return f"the `{context}` field refers to '{target}', which does not exist"
    return message
