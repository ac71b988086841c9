"""The one tokenizer for PanDA placeholders in `opt_exec` and `opt_args`, and their substitution.

    %IN  %IN2 %IN3 ...   the files of the primary input stream (IN) and of secondary streams (comma-separated)
    %NAME                the files of the secondary stream NAME (`--secondaryDSs IN_MINH:...`: %IN_MINH)
    %RNDM:N              N plus the job's serial number (0, 1, ...), as prun documents it
    %{DSn} %{DS*}        the n-th input dataset of opt_inDS (1-based) / all of them, comma-separated
    %{SECDSn} %{SECDS*}  the n-th secondary dataset of opt_secondaryDSs / all of them
    %{i}                 the loop count (1 for the first iteration, as iDDS counts runs)
    %{name}              an input of the enclosing sub-workflow (a loop parameter `param_name`, or `name`)

The compiler tokenizes to check where each placeholder is resolved (and what PanDA's server does with
it); the executor tokenizes again to substitute, so both read the same language. Anything else after
`%` (prun's own `%SKIPEVENTS`, a literal `100%`) is left as it is; so is a placeholder that PanDA
itself leaves as written (`substitute(..., keep=True)`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

# Numbers in placeholders have at most 18 digits (a 64-bit integer): a longer run of digits makes no
# placeholder and is left as it is (Python cannot even read 4,300 digits as an int).
_TOKEN = r"%(?P<stream>IN\d{0,18})(?![A-Za-z0-9_])|%RNDM:(?P<rndm>\d{1,18})(?!\d)|%\{(?P<brace>[^{}]*)\}"
_TOKENS = re.compile(_TOKEN)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_DS = re.compile(r"(?P<sec>SEC)?DS(?P<n>\d{1,18}|\*)$")


class Text(NamedTuple):
    text: str
    at: int


class Stream(NamedTuple):
    """%IN (name IN, the primary input), %IN2, or %NAME of a named secondary stream."""

    name: str
    at: int


class Rndm(NamedTuple):
    base: int
    at: int


class Dataset(NamedTuple):
    """%{DSn} / %{SECDSn}; n is None for the `*` form."""

    secondary: bool
    n: int | None
    at: int


class Iteration(NamedTuple):
    at: int


class Param(NamedTuple):
    name: str
    at: int


class Bad(NamedTuple):
    """`%{...}` that is no placeholder at all (empty, spaces, punctuation)."""

    text: str
    at: int


Token = Text | Stream | Rndm | Dataset | Iteration | Param | Bad


def tokenize(text: str, streams: Sequence[str] = ()) -> tuple[Token, ...]:
    """`text` as literal pieces and placeholders, each with its offset in `text`. `streams` names the
    secondary streams the step declares, so that `%NAME` reads as a stream for each of them."""
    out: list[Token] = []
    pos = 0
    named = sorted((s for s in streams if s and not re.fullmatch(r"IN\d*", s)), key=len, reverse=True)
    pattern = _TOKENS
    if named:
        alternatives = "|".join(re.escape(s) for s in named)
        pattern = re.compile(rf"%(?P<named>{alternatives})(?![A-Za-z0-9_])|{_TOKEN}")
    for m in pattern.finditer(text):
        if m.start() > pos:
            out.append(Text(text[pos : m.start()], pos))
        out.append(_placeholder(m))
        pos = m.end()
    if pos < len(text):
        out.append(Text(text[pos:], pos))
    return tuple(out)


def _placeholder(m: re.Match[str]) -> Token:
    at = m.start()
    groups = m.groupdict()
    if groups.get("named"):
        return Stream(groups["named"], at)
    if m.group("rndm") is not None:
        return Rndm(int(m.group("rndm")), at)
    if m.group("brace") is None:
        return Stream(m.group("stream"), at)
    inner = m.group("brace")
    ds = _DS.match(inner)
    if ds:
        n = None if ds.group("n") == "*" else int(ds.group("n"))
        return Dataset(ds.group("sec") is not None, n, at)
    if inner == "i":
        return Iteration(at)
    if _NAME.match(inner):
        return Param(inner, at)
    return Bad(m.group(0), at)


def spelling(token: Token) -> str:
    """How the placeholder is written, for messages."""
    if isinstance(token, Text):
        return token.text
    if isinstance(token, Stream):
        return f"%{token.name}"
    if isinstance(token, Rndm):
        return f"%RNDM:{token.base}"
    if isinstance(token, Dataset):
        return f"%{{{'SEC' if token.secondary else ''}DS{'*' if token.n is None else token.n}}}"
    if isinstance(token, Iteration):
        return "%{i}"
    if isinstance(token, Param):
        return f"%{{{token.name}}}"
    return token.text


class Values(NamedTuple):
    """What placeholders stand for in one job. A field left empty makes its placeholders unresolved."""

    streams: Mapping[str, Sequence[str]] = {}  # stream name -> file names (IN is %IN)
    job: int | None = None  # the job's serial number, for %RNDM
    datasets: Sequence[str] = ()
    secondary: Sequence[str] = ()
    iteration: str | None = None  # %{i}: "1" in a loop's first iteration
    params: Mapping[str, str] = {}  # %{name}, already written as text


class PlaceholderError(ValueError):
    """Placeholders that cannot be resolved; `missing` lists (offset, spelling, why) for each."""

    def __init__(self, missing: Sequence[tuple[int, str, str]]) -> None:
        self.missing = tuple(missing)
        super().__init__("; ".join(f"{s} {why}" for _, s, why in self.missing))


def unresolved(token: Token, values: Values) -> str | None:
    """Why `token` cannot be resolved with `values`, or None when it can."""
    if isinstance(token, Stream):
        return None if token.name in values.streams else _no_stream(token.name)
    if isinstance(token, Rndm):
        return None if values.job is not None else "needs a job number"
    if isinstance(token, Dataset):
        pool = values.secondary if token.secondary else values.datasets
        what = "opt_secondaryDSs" if token.secondary else "opt_inDS"
        if token.n is None:
            return None if pool else f"has no dataset: the step has no {what}"
        return None if 1 <= token.n <= len(pool) else f"is out of range: {what} has {len(pool)} dataset(s)"
    if isinstance(token, Iteration):
        return None if values.iteration is not None else "is only defined inside a loop"
    if isinstance(token, Param):
        if token.name not in values.params:
            return "names no input of the enclosing sub-workflow"
        return None
    if isinstance(token, Bad):
        return "is not a placeholder (%{name}, %{i}, %{DSn} or %{SECDSn})"
    return None


def _no_stream(name: str) -> str:
    if name == "IN":
        return "has no input: the step has no opt_inDS"
    return f"names stream {name}, which no --secondaryDSs entry defines"


_SERVER_SIDE = (Dataset, Iteration, Param, Bad)  # replaced before the job runs (by the server, iDDS)


def substitute(text: str, values: Values, keep: bool = False) -> str:
    """`text` with every placeholder replaced; PlaceholderError lists all that cannot be, unless `keep`
    (leave them as written, as PanDA does with what it cannot resolve).

    `%{...}` placeholders are replaced first, then `%IN...` and `%RNDM:N` in the result, as the server
    writes `%{name}` into opt_exec before the job's wrapper reads `%RNDM:%{seed}` as `%RNDM:123`."""
    missing: list[tuple[int, str, str]] = []
    first = _pass(text, values, keep, _SERVER_SIDE, missing)
    second = _pass(first, values, keep, (Stream, Rndm), missing)
    if missing:
        raise PlaceholderError(missing)
    return second


def _pass(text: str, values: Values, keep: bool, kinds: tuple[type, ...], missing: list[tuple[int, str, str]]) -> str:
    parts: list[str] = []
    for token in tokenize(text, [s for s in values.streams if s != "IN"]):
        if isinstance(token, Text) or not isinstance(token, kinds):
            parts.append(token.text if isinstance(token, Text) else spelling(token))
            continue
        why = unresolved(token, values)
        if why is None:
            parts.append(_value(token, values))
        elif keep:
            parts.append(spelling(token))
        else:
            missing.append((token.at, spelling(token), why))
    return "".join(parts)


def _value(token: Token, values: Values) -> str:
    if isinstance(token, Text):
        return token.text
    if isinstance(token, Stream):
        return ",".join(values.streams[token.name])
    if isinstance(token, Rndm):
        return str(token.base + (values.job or 0))
    if isinstance(token, Dataset):
        pool = values.secondary if token.secondary else values.datasets
        if token.n is None and token.secondary:  # the server writes the placeholders, never resolved
            return ",".join(f"%{{SECDS{k + 1}}}" for k in range(len(pool)))
        return ",".join(pool) if token.n is None else pool[token.n - 1]
    if isinstance(token, Iteration):
        return str(values.iteration)
    if isinstance(token, Param):
        return values.params[token.name]
    return token.text  # pragma: no cover - Bad tokens never resolve


def format_value(value: object) -> str:
    """A loop parameter as written into a command: numbers and strings as Python writes them (0.5,
    True), arrays and mappings as compact JSON ([1,2]) so that they stay one shell word."""
    if isinstance(value, (list, dict)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def format_local(value: object) -> str:
    """Another input of a sub-workflow, as the server writes it for %{name}: `f"{value}"` in
    `workflow_utils.Node.make_task_params` (a list reads ['a', 'b'])."""
    return f"{value}"
