"""`opt_args`: the prun options cwlpilot gives a local meaning, and the others, accepted and listed.

Local meanings: `--outputs` (what is collected into the step's dataset), `--nJobs` and `--nFilesPerJob`
(how the step is split into jobs), `--secondaryDSs STREAM:NFILES:DATASET,...` (secondary input streams).
Every other option is accepted and reported once as having no local meaning. Offsets point into the
text so that messages can give the column.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from cwlpilot.compiler import limits

# options that must be given through their own opt_* input, never inside opt_args
OWN_INPUTS = {
    "--exec": "opt_exec",
    "--inDS": "opt_inDS",
    "--outDS": "the workflow's --outDS",
    "--containerImage": "opt_containerImage",
    "--useAthenaPackages": "opt_useAthenaPackages",
}
_STREAM = re.compile(r"IN\d+$")


class Secondary(NamedTuple):
    stream: int  # 2 for IN2
    n_files: int | None
    dataset: str  # as written: a placeholder such as %{SECDS1}, or a dataset name
    at: int  # offset of the entry in opt_args
    dataset_at: int = 0  # offset of its DATASET part


class PrunArgs(NamedTuple):
    outputs: tuple[str, ...] = ()
    n_jobs: int | None = None
    files_per_job: int | None = None
    secondary: tuple[Secondary, ...] = ()
    ignored: tuple[str, ...] = ()  # options without a local meaning, as written (--avoidVP)
    errors: tuple[tuple[int, str], ...] = ()  # (offset, message)


class _Found:
    """What parse_args has read so far."""

    def __init__(self) -> None:
        self.outputs: tuple[str, ...] = ()
        self.counts: dict[str, int] = {}
        self.secondary: tuple[Secondary, ...] = ()
        self.ignored: list[str] = []
        self.errors: list[tuple[int, str]] = []


def parse_args(text: str) -> PrunArgs:
    """The options in `text`; mistakes are returned in `errors`, never raised."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        return PrunArgs(errors=((0, f"opt_args cannot be split into words: {exc}"),))
    offsets = _offsets(text, words)
    found = _Found()
    i = 0
    while i < len(words):
        word, at = words[i], offsets[i]
        if not word.startswith("-"):
            found.errors.append((at, f"'{word}' is not an option (prun options start with --)"))
            i += 1
            continue
        name, eq, inline = word.partition("=")
        takes_value = not eq and i + 1 < len(words) and not words[i + 1].startswith("--")
        value = inline if eq else (words[i + 1] if takes_value else None)
        value_at = at + len(name) + 1 if eq else (offsets[i + 1] if takes_value else at)
        _option(name, value, value_at, at, found)
        i += 1 if eq or not takes_value else 2
    return PrunArgs(
        outputs=found.outputs,
        n_jobs=found.counts.get("--nJobs"),
        files_per_job=found.counts.get("--nFilesPerJob"),
        secondary=found.secondary,
        ignored=tuple(found.ignored),
        errors=tuple(found.errors),
    )


def _option(name: str, value: str | None, value_at: int, at: int, found: _Found) -> None:
    if name in OWN_INPUTS:
        found.errors.append((at, f"{name} belongs in {OWN_INPUTS[name]}, not in opt_args"))
    elif name not in ("--outputs", "--nJobs", "--nFilesPerJob", "--secondaryDSs"):
        found.ignored.append(name)
    elif value is None:
        found.errors.append((at, f"{name} needs a value"))
    elif name == "--outputs":
        found.outputs = tuple(o.split(":", 1)[-1] for o in value.split(",") if o)
    elif name == "--secondaryDSs":
        found.secondary = tuple(_secondary(value, value_at, found.errors))
    elif not (value.isascii() and value.isdigit()) or not value.lstrip("0"):
        found.errors.append((value_at, f"{name} needs a positive whole number, not '{value[:40]}'"))
    elif name == "--nJobs" and (len(value.lstrip("0")) > 9 or int(value) > limits.MAX_STAGES):
        # each job is a stage of the plan: PanDA's client sets no bound (its server's task limits apply),
        # a local plan must (see limits.MAX_STAGES)
        found.errors.append((value_at, f"--nJobs {value[:40]}: at most {limits.MAX_STAGES} jobs per step"))
    elif len(value.lstrip("0")) > 18:  # beyond a 64-bit integer, the widest the plan's JSON and SQLite hold
        found.errors.append((value_at, f"{name} {value[:40]}: too large (at most 18 digits)"))
    else:
        found.counts[name] = int(value)


def _secondary(value: str, at: int, errors: list[tuple[int, str]]) -> list[Secondary]:
    out = []
    pos = at
    for entry in value.split(","):
        parts = entry.split(":")
        stream = parts[0]
        if len(parts) < 3:
            errors.append((pos, f"--secondaryDSs entry '{entry}' is not STREAM:NFILES:DATASET"))
        elif stream.startswith("%") and _STREAM.match(stream[1:]):
            errors.append(
                (
                    pos,
                    f"--secondaryDSs stream '{stream}' must be written without '%' ({stream[1:]}:...); "
                    f"'{stream}' is how opt_exec refers to its files",
                )
            )
            out.append(Secondary(int(stream[3:]), None, parts[2], pos, pos + len(parts[0]) + len(parts[1]) + 2))
        elif not _STREAM.match(stream) or stream == "IN1":
            errors.append((pos, f"--secondaryDSs stream '{stream}' must be IN2, IN3, ..."))
        elif parts[1] and not parts[1].isdigit():
            errors.append((pos + len(stream) + 1, f"--secondaryDSs: the number of files '{parts[1]}' is not a number"))
        else:
            out.append(
                Secondary(
                    int(stream[2:]),
                    int(parts[1]) if parts[1] else None,
                    parts[2],
                    pos,
                    pos + len(parts[0]) + len(parts[1]) + 2,
                )
            )
        pos += len(entry) + 1
    return out


def _offsets(text: str, words: list[str]) -> list[int]:
    """Where each word starts in `text` (best effort: quotes make a word differ from its source)."""
    out, cursor = [], 0
    for word in words:
        found = text.find(word, cursor)
        if found < 0:
            found = cursor + len(text[cursor:]) - len(text[cursor:].lstrip())
        out.append(found)
        cursor = found + len(word)
    return out
