"""YAML read through libyaml, with the very result ruamel.yaml gives.

Why not ruamel.yaml alone: its round-trip loader, the one that keeps the line and column of every key (every
message of `check` needs them) and the one cwl-utils loads with, is pure Python. It took 100-140 ms for a
200-step workflow, read three times per compile (PanDA detection, positions, cwl-utils): most of the compile.
libyaml, through PyYAML's C binding, composes the same file in 3 ms. So libyaml composes the node graph and
this module builds from it the objects ruamel.yaml would build: `CommentedMap`/`CommentedSeq` with the same
`lc` positions (the "rt" and "salad" flavours; "safe" gives plain dicts and lists), and plain scalars
resolved by ruamel.yaml's own YAML 1.2 resolver. Whatever it would not reproduce exactly (explicit tags,
merge keys, timestamps, integers in other bases or with `_`, duplicate keys, several documents, and every
syntax error) goes to ruamel.yaml itself, so the result, or the error, is always ruamel.yaml's.
tests/compiler/test_fastyaml.py compares both on every YAML file of the CWL conformance suite.

Either way the document is read within the bounds of `compiler.limits` (nesting depth, size with
aliases expanded, integer size), and every problem is a ruamel.yaml `MarkedYAMLError` with a position.
"""

from __future__ import annotations

import gc
import re
from typing import Any, Literal

from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, StreamMark
from ruamel.yaml.reader import ReaderError
from ruamel.yaml.resolver import VersionedResolver

from cwlpilot.compiler import limits

try:
    import yaml as _pyyaml
    from yaml._yaml import CParser as _CParser  # the libyaml binding; without it there is nothing to gain
    from yaml.resolver import BaseResolver as _BaseResolver
except ImportError:  # pragma: no cover - PyYAML is a dependency; a build without libyaml is possible
    _CParser = None

Flavour = Literal["rt", "salad", "safe"]

# The tags given to untagged nodes while composing (explicit tags, even `!!str`, keep theirs and go to
# ruamel.yaml): plain scalars are resolved below, quoted ones are strings.
_PLAIN, _QUOTED, _SEQ, _MAP = "!cwlpilot-plain", "!cwlpilot-quoted", "!cwlpilot-seq", "!cwlpilot-map"
_STR = "tag:yaml.org,2002:str"
_DECIMAL = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
# ruamel.yaml's YAML 1.2 implicit resolvers by first character, taken once: asking its resolver for every
# scalar costs more than the whole libyaml parse (it looks the YAML version up each time).
_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = {
    first: [(str(tag), re.compile(regexp.pattern, regexp.flags)) for tag, regexp in resolvers]
    for first, resolvers in VersionedResolver(version=(1, 2)).versioned_resolver.items()
}


class _Unsupported(Exception):
    """Something this module does not build exactly as ruamel.yaml would: ruamel.yaml reads the text."""


class _TooLarge(Exception):
    """An integer beyond limits.MAX_INT."""


def load(text: str, flavour: Flavour = "rt") -> Any:
    """The document in `text` as `YAML(typ=flavour).load` returns it ("salad": schema-salad's loader).

    Raises ruamel.yaml's MarkedYAMLError (a LimitError beyond the bounds of compiler.limits) and nothing
    else for any text.
    """
    if _CParser is not None:
        if len(text) > limits.MAX_VALUES // 2:  # long enough to hold too many values: count them first
            limits.scan(text)
        try:
            return _fast(text, flavour)
        except (_Unsupported, _pyyaml.YAMLError, RecursionError):  # libyaml's composer recurses too
            limits.scan(text)
    try:
        return _ruamel(flavour).load(text)
    except ReaderError as exc:  # a character YAML does not allow, such as a control character
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
        raise _marked(text, exc.position, f"{exc.reason} (#x{code:04x})") from None
    except (ValueError, OverflowError) as exc:  # a value its constructors reject (a timestamp's month 13)
        raise _marked(text, 0, f"invalid value: {exc}") from None


def _marked(text: str, offset: int, problem: str) -> MarkedYAMLError:
    line = text.count("\n", 0, offset)
    column = offset - (text.rfind("\n", 0, offset) + 1)
    return MarkedYAMLError(problem=problem, problem_mark=StreamMark("<document>", offset, line, column))


def _ruamel(flavour: Flavour) -> Any:
    if flavour == "salad":
        from schema_salad.utils import yaml_no_ts

        return yaml_no_ts()
    from ruamel.yaml import YAML

    return YAML(typ=flavour)


if _CParser is not None:

    class _Composer(_CParser, _BaseResolver):  # type: ignore[misc,valid-type]
        """libyaml's composer, with the placeholder tags above for untagged nodes."""

        def __init__(self, text: str) -> None:
            _CParser.__init__(self, text)
            _BaseResolver.__init__(self)

        def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
            if kind is _pyyaml.ScalarNode:
                return _PLAIN if implicit[0] else _QUOTED
            return _SEQ if kind is _pyyaml.SequenceNode else _MAP


def _fast(text: str, flavour: Flavour) -> Any:
    # A document is a tree of new objects that hold no cycles, and it is all alive until the end: the cyclic
    # garbage collector, run every 700 allocations, would walk it again and again (reading a 3,200-step
    # workflow took 4x as long as an 800-step one; without it, 2.5x).
    enabled = gc.isenabled()
    gc.disable()
    try:
        composer = _Composer(text)
        try:
            root = composer.get_single_node()
        finally:
            composer.dispose()
        if root is None:
            return None
        builder = _Builder if "&" in text else _AliasFree  # no anchor, no alias
        return builder(positions=flavour != "safe").build(root)
    finally:
        if enabled:
            gc.enable()


class _Builder:
    """Objects from libyaml's nodes, counting what compiler.limits bounds as it goes."""

    def __init__(self, positions: bool) -> None:
        self.positions = positions
        self.built: dict[int, Any] = {}  # node id -> object, so that aliases share it as in ruamel.yaml
        self.sizes: dict[int, int] = {}  # node id -> its size with aliases expanded, once it is built
        self.size = 0  # of everything built so far, aliases expanded (see limits.MAX_EXPANDED)
        self.depth = 0

    def build(self, node: Any) -> Any:
        if isinstance(node, _pyyaml.ScalarNode):
            self.size += 1 + len(node.value)
            if node.tag == _PLAIN:
                try:
                    return _scalar(node.value)
                except _TooLarge:
                    raise limits.int_too_large(node.start_mark) from None
            if node.tag == _QUOTED:
                return node.value
            raise _Unsupported(node.tag)
        done = self.built.get(id(node))
        if done is not None:  # an alias of a node built before (or being built: a cycle)
            size = self.sizes.get(id(node))
            if size is None:
                raise limits.cycle(node.start_mark)
            self.size += size
            if self.size > limits.MAX_EXPANDED:
                raise limits.too_large(node.start_mark)
            return done
        if isinstance(node, _pyyaml.SequenceNode) and node.tag == _SEQ:
            return self._sequence(node)
        if isinstance(node, _pyyaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node)
        raise _Unsupported(node.tag)

    # _sequence and _mapping count depth and size inline (no helper calls): they run for every container of
    # every document read, three times per compile.

    def _sequence(self, node: Any) -> Any:
        out: Any = [] if not self.positions else CommentedSeq()
        self.built[id(node)] = out
        self.depth += 1
        if self.depth > limits.MAX_DEPTH:
            raise limits.too_deep(node.start_mark)
        start, self.size = self.size, self.size + 1
        if not self.positions:
            out.extend(self.build(item) for item in node.value)
        else:
            out._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
            for index, item in enumerate(node.value):
                out.append(self.build(item))
                mark = item.start_mark
                out._yaml_set_idx_line_col(index, [mark.line, mark.column])
        self.depth -= 1
        self.sizes[id(node)] = self.size - start
        if self.size > limits.MAX_EXPANDED:
            raise limits.too_large(node.start_mark)
        return out

    def _mapping(self, node: Any) -> Any:
        out: Any = CommentedMap() if self.positions else {}
        self.built[id(node)] = out
        self.depth += 1
        if self.depth > limits.MAX_DEPTH:
            raise limits.too_deep(node.start_mark)
        start, self.size = self.size, self.size + 1
        if self.positions:
            out._yaml_set_line_col(node.start_mark.line, node.start_mark.column)
        for key_node, value_node in node.value:
            key = self.build(key_node)
            if not isinstance(key_node, _pyyaml.ScalarNode) or key in out or key == "<<":
                raise _Unsupported("complex, duplicate or merge key")
            out[key] = self.build(value_node)
            if self.positions:
                km, vm = key_node.start_mark, value_node.start_mark
                out._yaml_set_kv_line_col(key, [km.line, km.column, vm.line, vm.column])
        self.depth -= 1
        self.sizes[id(node)] = self.size - start
        if self.size > limits.MAX_EXPANDED:
            raise limits.too_large(node.start_mark)
        return out


class _AliasFree(_Builder):
    """The builder for a text without `&`, which has no anchor and so no alias: its values are at most as
    long as the text, so the characters of its scalars need no counting (a third of the builder's work on
    a CWL document)."""

    def build(self, node: Any) -> Any:
        if isinstance(node, _pyyaml.ScalarNode):
            if node.tag == _PLAIN:
                try:
                    return _scalar(node.value)
                except _TooLarge:
                    raise limits.int_too_large(node.start_mark) from None
            if node.tag == _QUOTED:
                return node.value
            raise _Unsupported(node.tag)
        if isinstance(node, _pyyaml.SequenceNode) and node.tag == _SEQ:
            return self._sequence(node)
        if isinstance(node, _pyyaml.MappingNode) and node.tag == _MAP:
            return self._mapping(node)
        raise _Unsupported(node.tag)


def _tag(value: str) -> str:
    """The tag ruamel.yaml's resolver gives the plain scalar `value` (its `resolve`, without the lookups)."""
    for tag, regexp in _RESOLVERS.get(value[:1] if value else "", []) + _RESOLVERS.get(None, []):
        if regexp.match(value):
            return tag
    return _STR


def _scalar(value: str) -> Any:
    """A plain scalar as ruamel.yaml's YAML 1.2 resolver types it; the unusual spellings are left to it."""
    tag = _tag(value)
    if tag == _STR:
        return value
    if tag == "tag:yaml.org,2002:null":
        return None
    if tag == "tag:yaml.org,2002:bool":
        return value[0] in "tT"
    if tag == "tag:yaml.org,2002:int" and _DECIMAL.match(value):
        if len(value) >= limits.MAX_INT_DIGITS and not limits.int_fits(value):
            raise _TooLarge(value)
        return int(value)
    if tag == "tag:yaml.org,2002:float" and "_" not in value:
        lowered = value.lower()
        if lowered.endswith(".inf"):
            return float(lowered.replace(".inf", "inf"))
        return float("nan") if lowered == ".nan" else float(value)
    raise _Unsupported(tag)  # octal, hexadecimal, binary, `_` separators, timestamps, `=`
