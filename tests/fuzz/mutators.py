"""Mutations of workflow, inputs and plan files: bytes, lines and YAML structure, each seeded by an rng.

Every mutator takes a `random.Random` and the file's bytes and returns new bytes. They aim at what a
parser and everything after it must survive: truncation, byte flips, invalid UTF-8, NUL bytes, random
binary content, deep nesting, alias bombs, huge integers and floats, huge numbers in PanDA's `--nJobs` and
`--nFilesPerJob`, duplicate keys, and structural edits of the parsed tree (a value of the wrong type, a
missing key, a renamed key) so that a mutated file also gets past the parser into the checks behind it.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from typing import Any

import yaml

Mutator = Callable[[random.Random, bytes], bytes]

INVALID_UTF8 = (b"\xff", b"\xfe\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\x80", b"\xe2\x82")
HUGE_NUMBERS = (
    "18446744073709551616", "9" * 400, "9" * 4301, "9" * 5000, "-" + "9" * 50000, "1e999", "-1e400", "1" + "0" * 309,
    "0x" + "f" * 5000, "0o" + "7" * 6000, "1_000_000_000_000_000_000_000", ".inf", ".nan", "-0",
)
PANDA_COUNTS = (
    "18446744073709551616", "1000000", "100000", "99999999999999999999999999", "9" * 5000, "0", "-1", "1e9", "2**64",
)
STRANGE_VALUES: tuple[Any, ...] = (
    None, 0, -1, 2**64, -(2**63) - 1, 1e308, float("inf"), "", "x" * 20000, [], {}, [None], {"a": None}, True, 1.5,
    "$(inputs.x)", "${ return 1 }", "$(", "#", "../../../../etc/passwd", "file:///dev/zero", "/dev/zero", "\t",
    "%{", "%IN%IN%RNDM:99999999999999999999", "\u202e", {"class": "File", "path": "/dev/zero"},
    {"class": "Directory", "location": "/"}, ["a"] * 50, "Workflow", "CommandLineTool", "prun", "junction",
)


def truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def flip_bytes(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] = rng.randrange(256)
    return bytes(out)


def invalid_utf8(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + rng.choice(INVALID_UTF8) + data[at:]


def nul_bytes(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    return data[:at] + b"\0" * rng.choice((1, 1, 3, 1000)) + data[at:]


def binary(rng: random.Random, data: bytes) -> bytes:
    """Random bytes, sometimes behind a real binary format's header (ELF, gzip, PNG, UTF-16 BOM)."""
    headers = (b"", b"\x7fELF\x02\x01\x01\0", b"\x1f\x8b\x08\0", b"\x89PNG\r\n\x1a\n", b"\xff\xfe", b"\xfe\xff")
    header = rng.choice(headers)
    return header + rng.randbytes(rng.choice((1, 17, 4096, 65536)))


def empty_like(rng: random.Random, data: bytes) -> bytes:
    return rng.choice((b"", b"\n", b"\xef\xbb\xbf", b"---\n...\n", b"null\n", b"[]\n", b"{}\n", b"- a\n", b"~"))


def _nest_text(rng: random.Random, depth: int) -> str:
    style = rng.randrange(4)
    if style == 0:
        return "[" * depth + "]" * depth
    if style == 1:
        return "{a: " * depth + "1" + "}" * depth
    if style == 2:
        return '{"a": ' * depth + "1" + "}" * depth
    return "[" * depth + "1" + ", 1]" * depth


def deep_nesting(rng: random.Random, data: bytes) -> bytes:
    """A value nested 50-100,000 levels deep (flow style), in place of a value or as a new key."""
    depth = rng.choice((50, 64, 65, 100, 200, 333, 999, 1000, 1001, 5000, 20000, 100000))
    nest = _nest_text(rng, depth)
    if rng.random() < 0.2:  # block style: one more level per line
        depth = min(depth, 3000)
        nest = "\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(depth)) + " " * (depth + 1) + "v"
    return _replace_value(rng, data, nest)


def _replace_value(rng: random.Random, data: bytes, text: str) -> bytes:
    """`text` in place of a random `key: value` on one line, or as a new top-level key when there is none."""
    lines = data.split(b"\n")
    candidates = [i for i, line in enumerate(lines) if re.match(rb'\s*"?[\w$-]+"?\s*:\s*\S', line)]
    if not candidates:
        return b"fuzz: " + text.encode() + b"\n" + data
    i = rng.choice(candidates)
    key, _, rest = lines[i].partition(b":")
    comma = b"," if rest.rstrip().endswith(b",") else b""
    lines[i] = key + b": " + text.encode() + comma
    return b"\n".join(lines)


def alias_bomb(rng: random.Random, data: bytes) -> bytes:
    """Billion laughs: `levels` anchors, each a list of `width` aliases of the one before."""
    levels, width = rng.choice(((7, 9), (9, 9), (12, 10), (20, 4), (4, 50)))
    lines = [f"x0: &x0 [{', '.join(['lol'] * width)}]"]
    lines += [f"x{k}: &x{k} [{', '.join([f'*x{k - 1}'] * width)}]" for k in range(1, levels)]
    if rng.random() < 0.3:  # a long string referenced many times: quadratic output, linear input
        lines = [f"s: &s {'y' * 100000}", f"t: [{', '.join(['*s'] * 5000)}]"]
    bomb = "\n".join(lines).encode() + b"\n"
    if rng.random() < 0.5:
        return bomb + data  # new top-level keys beside the document's own
    last = lines[-1].split(":")[0]
    return bomb + _replace_value(rng, data, f"*{last}")


def huge_number(rng: random.Random, data: bytes) -> bytes:
    numbers = list(re.finditer(rb"(?<![\w.])-?\d+(\.\d+)?(?![\w.])", data))
    value = rng.choice(HUGE_NUMBERS).encode()
    if not numbers:
        return _replace_value(rng, data, value.decode())
    m = rng.choice(numbers)
    return data[: m.start()] + value + data[m.end() :]


def panda_counts(rng: random.Random, data: bytes) -> bytes:
    """Huge or malformed `--nJobs`/`--nFilesPerJob` in a prun step's `opt_args` (added when absent)."""
    option = rng.choice((b"--nJobs", b"--nFilesPerJob"))
    value = rng.choice(PANDA_COUNTS).encode()
    found = list(re.finditer(rb"--(nJobs|nFilesPerJob)[ =]+(\S+?)(?=[\s\"'])", data))
    if found and rng.random() < 0.6:
        m = rng.choice(found)
        return data[: m.start(2)] + value + data[m.end(2) :]
    args = list(re.finditer(rb"opt_args:\s*([\"']?)", data))
    if args:
        m = rng.choice(args)
        return data[: m.end()] + option + b" " + value + b" " + data[m.end() :]
    execs = list(re.finditer(rb"\n(\s+)opt_exec:", data))
    if not execs:
        return data
    m = rng.choice(execs)
    return data[: m.start()] + b"\n" + m.group(1) + b'opt_args: "' + option + b" " + value + b'"' + data[m.start() :]


def duplicate_key(rng: random.Random, data: bytes) -> bytes:
    lines = data.split(b"\n")
    keyed = [i for i, line in enumerate(lines) if re.match(rb'\s*"?[\w$-]+"?\s*:', line)]
    if not keyed:
        return data
    i = rng.choice(keyed)
    return b"\n".join([*lines[: i + 1], lines[i], *lines[i + 1 :]])


def line_edit(rng: random.Random, data: bytes) -> bytes:
    """Delete, repeat, swap or re-indent a line."""
    lines = data.split(b"\n")
    if len(lines) < 2:
        return data + b"\n" + data
    i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
    action = rng.randrange(4)
    if action == 0:
        del lines[i]
    elif action == 1:
        lines.insert(i, lines[j])
    elif action == 2:
        lines[i], lines[j] = lines[j], lines[i]
    else:
        lines[i] = b" " * rng.choice((0, 1, 3, 8)) + lines[i].lstrip()
    return b"\n".join(lines)


def long_value(rng: random.Random, data: bytes) -> bytes:
    return _replace_value(rng, data, "z" * rng.choice((100000, 1000000, 5000000)))


def tree_edit(rng: random.Random, data: bytes) -> bytes:
    """Parse the file (YAML or JSON), change one value's type or drop or rename a key, write it back.

    Applied to a seed file only (first in a chain): a seed is a small, valid document.
    """
    try:
        tree = yaml.load(data, Loader=yaml.CSafeLoader)
    except (yaml.YAMLError, ValueError):
        return data
    if not isinstance(tree, (dict, list)):
        return data
    for _ in range(rng.randint(1, 3)):
        _edit_somewhere(rng, tree)
    if data.lstrip().startswith((b"{", b"[")):
        return json.dumps(tree, indent=1, default=str).encode()
    return yaml.dump(tree, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True).encode()


def _edit_somewhere(rng: random.Random, tree: Any) -> None:
    parent, key = _random_slot(rng, tree)
    if parent is None:
        return
    action = rng.randrange(5)
    if action == 0 and isinstance(parent, dict):
        del parent[key]
    elif action == 1 and isinstance(parent, dict):
        parent[_typo(rng, str(key))] = parent.pop(key)
    else:
        parent[key] = rng.choice(STRANGE_VALUES)


def _random_slot(rng: random.Random, tree: Any) -> tuple[Any, Any]:
    """A (container, key) pair picked by a random walk from the root."""
    parent, key = None, None
    node = tree
    for _ in range(rng.randint(1, 6)):
        keys = list(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if not keys:
            break
        parent, key = node, rng.choice(keys)
        node = node[key]
    return parent, key


def _typo(rng: random.Random, word: str) -> str:
    if len(word) < 2:
        return word + "x"
    i = rng.randrange(len(word))
    return word[:i] + word[i + 1 :]


# (mutator, weight): the structural ones that must get past the parser weigh more than blind byte noise
MUTATORS: tuple[tuple[Mutator, int], ...] = (
    (truncate, 6), (flip_bytes, 8), (invalid_utf8, 6), (nul_bytes, 5), (binary, 3), (empty_like, 2),
    (deep_nesting, 7), (alias_bomb, 5), (huge_number, 8), (duplicate_key, 6), (line_edit, 8),
    (long_value, 2), (tree_edit, 20),
)
PANDA_MUTATORS: tuple[tuple[Mutator, int], ...] = ((panda_counts, 30),)


def mutate(rng: random.Random, data: bytes, panda: bool = False) -> tuple[bytes, tuple[str, ...]]:
    """`data` after one to three mutations, and their names."""
    table = MUTATORS + (PANDA_MUTATORS if panda else ())
    funcs, weights = zip(*table, strict=True)
    names: list[str] = []
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        func = rng.choices(funcs, weights)[0]
        if func is tree_edit and names:
            continue  # it parses its input: only a seed is sure to be small and valid
        data = func(rng, data)
        names.append(func.__name__)
    return data, tuple(names)
