"""Every bound the compiler reads and builds within, why it is what it is, and the scan that checks YAML's.

Why bounds at all: `check` is a CI gate that must answer any file within 10 s and 500 MB. Unbounded, a 7-line
YAML alias bomb ("billion laughs") expands to 9^7 values in whatever walks the tree (cwl-utils, the checks,
the plan writer), 100,000 levels of nesting exhaust Python's recursion in every walker after the parser, a
5,000-digit integer cannot even be turned back into text, and a three-way cross product of 1,000-element
arrays asks for 10^9 stages. Each bound is an error naming the file, line and column, never a traceback.

Where each is checked:
- MAX_BYTES: compiler.sourcefile, on every file read (documents, `run`s, `$import`s, `$schemas`, inputs,
  dataset maps).
- MAX_VALUES, MAX_DEPTH, MAX_EXPANDED, MAX_INT: compiler.fastyaml while it builds a document from
  libyaml's nodes (counters, no extra pass); a text long enough to hold more than MAX_VALUES values, and a
  document that goes to ruamel.yaml instead (explicit tags, merge keys, syntax errors), are first checked
  by `scan` over libyaml's events: libyaml composes a whole document before anything can be counted, and
  ruamel.yaml has no bounds of its own (its composer recurses: RecursionError after about 330 levels,
  after seconds of work). A `LimitError` is a ruamel.yaml `MarkedYAMLError`, so every reader reports it as
  it reports a syntax error.
- MAX_STEPS, MAX_CWL_VALUES: compiler.loader, on each document before cwl-utils reads it.
- MAX_STAGES, MAX_PLAN_BYTES, MAX_NAME_BYTES: compiler.emit and compiler.panda (scatter instances,
  `--nJobs`, `--max-loop-iterations`, stages and size of a plan, stage names).
"""

from __future__ import annotations

import re
import sys
from typing import Any

from ruamel.yaml.error import MarkedYAMLError, StreamMark

# The largest file read. A CWL document or an inputs file is small: a 10,000-way scatter's inputs file is
# 0.2 MB, a 3,200-step workflow 0.2-1.3 MB. Reading, parsing and checking cost about 1 s per MB of YAML, so
# 4 MB keeps any file within the 10 s, with room for a slower machine. It also bounds reading /dev/zero.
MAX_BYTES = 4 * 2**20
# Steps of one document (sub-workflows count apart). Since the loader is linear in the steps (README,
# "Compiler benchmark"), loading, checking and compiling take about 0.4 ms per step: the benchmark's
# 10,000-step workflow compiles in 3.2-4.5 s and 280-360 MB. 10,000 steps are 50x the largest real
# workflows we know of, and the most a stages plan holds comfortably (MAX_STAGES).
MAX_STEPS = 10_000
# Stages of one compiled plan, and instances of one scattered step. A 30,000-stage plan takes 2.8 s and
# 230 MB to compile and 4.9 s to `run --dry-run`; 100,000 stages take 8 s and 660 MB to compile. 20,000 is
# twice the 10,000-way scatter of the compiler's benchmark and several times the largest O2DPG plans.
MAX_STAGES = 20_000
# Size of one compiled plan's JSON, as estimated while its stages are made (see compiler.emit's budget).
# Compiling and writing a plan takes about 8x its size in memory (20,000 stages, 18 MB: 200 MB), so 32 MB
# keeps the compile within 500 MB; the largest O2DPG plans are a few MB.
MAX_PLAN_BYTES = 32 * 2**20
# Values of one document (each scalar, list and mapping; an alias counts in MAX_EXPANDED instead). Reading
# costs about 500 bytes per value (libyaml's nodes and marks, then the objects with their positions): a
# 2.8 MB inputs file of 1.4 million one-letter items took 700 MB. 300,000 values stay near 150 MB, and
# are 15 per stage of the largest plan (MAX_STAGES). A text of fewer than MAX_VALUES / 2 characters cannot
# hold more (a value takes at least 2/3 of a character: `[?,?]`), so only longer ones are counted first.
MAX_VALUES = 300_000
# Values of one CWL document, which cwl-utils reads too: it takes 40-80 us per value (an `Any` default
# tries each type of the union in turn, with an exception for each: a 99,000-value default takes 5.5 s to
# compile), so 120,000 values take 5-10 s. The compiler benchmark's 10,000-step workflow has 110,000.
MAX_CWL_VALUES = 120_000
# Bytes of a stage's name: the stage works in a folder of that name and writes NAME.log (NAME.2.log when
# retried) there, and a file name has at most 255 bytes on Linux file systems (NAME_MAX); a longer name
# failed only when the stage started ("File name too long").
MAX_NAME_BYTES = 240
# Deepest nesting of mappings and lists. Real CWL documents and inputs files nest 10-15 levels (records of
# arrays of records inside a step inside `steps`); 64 leaves room and keeps every recursive walk after the
# parser (cwl-utils' loaders, schema-salad's validation, our converters and checks, jsonschema's validation
# of the plan, about 3-8 Python frames per level) well inside Python's default recursion limit of 1,000.
MAX_DEPTH = 64
# Size of a document with its aliases expanded: each value counts 1, a scalar also its length in
# characters. An alias-free document counts about its own length (at most 1.5x: `-` lines are 1 value per
# 2 characters), so no file within compiler.sourcefile's size limit comes near; aliases may repeat parts of a
# document, but never make it cost more to walk than the largest file accepted.
MAX_EXPANDED = 8 * 2**20
# Integers must fit in a double: CWL's widest number types are long (64 bits) and double, JSON tools read
# numbers as doubles, and Python refuses int <-> text beyond 4,300 digits. Beyond this magnitude no CWL type
# can hold the value, and float() of it raises.
MAX_INT = sys.float_info.max
MAX_INT_DIGITS = len(str(int(MAX_INT)))  # 309: a decimal integer with more digits is too large, unread
# YAML 1.2 integers as ruamel.yaml's resolver reads them (bases 2, 8, 10, 16; `_` separators)
_INT = re.compile(r"[-+]?(?:0b[0-1_]+|0o?[0-7_]+|[0-9_]+|0x[0-9a-fA-F_]+)\Z")
_INT_TAG = "tag:yaml.org,2002:int"
_BITS = {"0b": 1, "0o": 3, "0x": 4}


class LimitError(MarkedYAMLError):
    """A document beyond one of the bounds above, at the place it goes beyond it."""

    def __init__(self, problem: str, mark: Any) -> None:
        line, column = (mark.line, mark.column) if mark is not None else (0, 0)
        super().__init__(problem=problem, problem_mark=StreamMark("<document>", 0, line, column))


def too_deep(mark: Any) -> LimitError:
    return LimitError(f"nested more than {MAX_DEPTH} levels deep (the most a document may nest)", mark)


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a stage's name (its folder's name), or None."""
    if len(name) * 4 <= MAX_NAME_BYTES:  # no character takes more than 4 bytes in UTF-8
        return None
    size = len(name.encode("utf-8", "surrogatepass"))
    if size <= MAX_NAME_BYTES:
        return None
    return f"the stage name '{name[:40]}...' has {size} bytes, more than the {MAX_NAME_BYTES} a stage's folder may have"


def too_many(mark: Any, most: int = MAX_VALUES) -> LimitError:
    return LimitError(f"more than {most} values in one document, the most one may hold", mark)


def too_large(mark: Any) -> LimitError:
    return LimitError(
        f"with its aliases expanded the document holds more than {MAX_EXPANDED // 2**20}M characters of values "
        "(an alias bomb?)",
        mark,
    )


def cycle(mark: Any) -> LimitError:
    return LimitError("an alias refers to the node that contains it (a document cannot contain itself)", mark)


def int_too_large(mark: Any) -> LimitError:
    return LimitError(f"integer too large: a number must fit in a double (at most {MAX_INT_DIGITS} digits)", mark)


def int_fits(text: str) -> bool:
    """False when the integer written `text` (any YAML 1.2 base) is larger than a double can hold."""
    digits = text.lstrip("+-").replace("_", "")
    bits = _BITS.get(digits[:2])
    if bits is not None:  # 0b/0o/0x: stay below the digits that could exceed 1,024 bits
        return len(digits) - 2 <= 1024 // bits
    if len(digits) < MAX_INT_DIGITS:
        return True
    return len(digits) == MAX_INT_DIGITS and int(digits) <= MAX_INT


def scan(text: str, max_values: int = MAX_VALUES) -> None:
    """Raise LimitError when the document in `text` goes beyond a bound (at most `max_values` values);
    return when it does not, or when libyaml finds it invalid first (the parser that reads it next reports
    that, reading no further)."""
    import yaml
    from yaml._yaml import CParser

    parser = CParser(text)
    open_anchors: list[tuple[str | None, int]] = []  # per open container: its anchor, the size at its start
    sizes: dict[str, int] = {}  # anchor -> expanded size of its node
    size = values = 0
    try:
        while parser.check_event():
            event = parser.get_event()
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.ScalarEvent)):
                values += 1
                if values > max_values:
                    raise too_many(event.start_mark, max_values)
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                if len(open_anchors) >= MAX_DEPTH:
                    raise too_deep(event.start_mark)
                open_anchors.append((event.anchor, size))
                size += 1
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                anchor, start = open_anchors.pop()
                if anchor is not None:
                    sizes[anchor] = size - start
            elif isinstance(event, yaml.ScalarEvent):
                size += 1 + len(event.value)
                if event.anchor is not None:
                    sizes[event.anchor] = 1 + len(event.value)
                integer = event.tag == _INT_TAG or (event.implicit[0] and _INT.match(event.value))
                if integer and not int_fits(event.value):
                    raise int_too_large(event.start_mark)
            elif isinstance(event, yaml.AliasEvent):
                if any(anchor == event.anchor for anchor, _ in open_anchors):
                    raise cycle(event.start_mark)
                size += sizes.get(event.anchor, 1)
            if size > MAX_EXPANDED:
                raise too_large(event.start_mark)
    except yaml.MarkedYAMLError as exc:
        # libyaml's own bound (1,000 levels, since 0.2.5), met while it scans ahead of the events
        if "maximum nesting depth" in str(exc.problem):
            raise too_deep(exc.problem_mark) from None
    except yaml.YAMLError:
        return
    finally:
        parser.dispose()
