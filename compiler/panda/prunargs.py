"""`opt_args`, read as panda-client's prun reads it, and the options cwlpilot gives a local meaning.

PanDA's server checks each step by running prun's own parser on `opt_args` (PrunScript, see
`prunopts`): an option prun does not know, a missing or badly typed value, a malformed
`--secondaryDSs` or `--outputs` makes the server refuse the workflow; those are `errors` here. An
option only some client releases know is `versioned` (the releases that accept it are named).

Local meanings: `--outputs` (what is collected into the step's dataset), `--nJobs`, `--nFilesPerJob`
and `--nFiles` (how the step is split into jobs and how many files it reads), `--secondaryDSs
STREAM:NFILES:DATASET[:PATTERN[:NSKIP]],...` (secondary input streams, free stream names). Every
other option prun knows is accepted and reported once as having no local meaning. Offsets point into
the text so that messages can give the column.
"""

from __future__ import annotations

import re
import shlex
from typing import NamedTuple

from cwlpilot.compiler import limits
from cwlpilot.compiler.panda import prunopts
from cwlpilot.compiler.panda.prunopts import Span

# options the server writes itself after opt_args (workflow_utils.Node.make_task_params): argparse
# keeps the last value, so the server's wins
OWN_INPUTS = {
    "--exec": "opt_exec",
    "--inDS": "opt_inDS",
    "--outDS": "the workflow's --outDS",
    "--containerImage": "opt_containerImage",
}
_LOCAL = ("--outputs", "--nJobs", "--nFilesPerJob", "--nFiles", "--secondaryDSs")
_MAX_COUNT = 10**18  # counts have at most 18 digits
# characters panda-client refuses in output file names (PsubUtils.check_invalid_char, is_file=True)
_BAD_FILE_CHARS = "%|;><?'\"()$@:=&^#\\[]{}`"


class Secondary(NamedTuple):
    stream: str  # the stream's name: IN2, IN_MINH, ... (%NAME in opt_exec)
    n_files: int | None
    dataset: str  # as written: a placeholder such as %{SECDS1}, or a dataset name
    at: int  # offset of the entry in opt_args
    dataset_at: int = 0  # offset of its DATASET part
    pattern: str = ""  # only files whose name matches this regular expression
    skip: int = 0  # files skipped at the start
    entry: str = ""  # the entry as written


class PrunArgs(NamedTuple):
    outputs: tuple[str, ...] = ()
    n_jobs: int | None = None
    files_per_job: int | None = None
    secondary: tuple[Secondary, ...] = ()
    ignored: tuple[str, ...] = ()  # options without a local meaning, as written (--avoidVP)
    errors: tuple[tuple[int, str], ...] = ()  # (offset, message): every client release refuses
    warnings: tuple[tuple[int, str, str], ...] = ()  # (offset, message, rule): accepted, very likely a mistake
    versioned: tuple[tuple[int, str, str, Span], ...] = ()  # (offset, what, rule, releases that accept it)
    n_files: int | None = None
    memory: int | None = None  # --memory, MB per core
    confirmed: bool = False  # -y
    in_ds: str | None = None  # an --inDS written in opt_args
    options: tuple[str, ...] = ()  # every option given, by its full name
    output_specs: tuple[str, ...] = ()  # the --outputs entries as written ([SUFFIX:]FILE)


class _Found:
    """What parse_args has read so far."""

    def __init__(self) -> None:
        self.outputs: tuple[str, ...] = ()
        self.output_specs: tuple[str, ...] = ()
        self.counts: dict[str, int] = {}
        self.secondary: tuple[Secondary, ...] = ()
        self.ignored: list[str] = []
        self.errors: list[tuple[int, str]] = []
        self.warnings: list[tuple[int, str, str]] = []
        self.versioned: list[tuple[int, str, str, Span]] = []
        self.values: dict[str, str] = {}
        self.value_at: dict[str, int] = {}
        self.options: list[str] = []


def parse_args(text: str) -> PrunArgs:
    """The options in `text`, as argparse in PrunScript reads them; mistakes are returned, never raised."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        return PrunArgs(errors=((0, f"opt_args cannot be split into words ({exc}), so PanDA's server fails on it"),))
    offsets = _offsets(text, words)
    found = _Found()
    i = 0
    while i < len(words):
        i = _word(words, offsets, i, found)
    _combinations(found)
    return PrunArgs(
        outputs=found.outputs,
        n_jobs=found.counts.get("--nJobs"),
        files_per_job=found.counts.get("--nFilesPerJob"),
        secondary=found.secondary,
        ignored=tuple(dict.fromkeys(found.ignored)),
        errors=tuple(found.errors),
        warnings=tuple(found.warnings),
        versioned=tuple(found.versioned),
        n_files=found.counts.get("--nFiles"),
        memory=_int(found.values.get("--memory")),
        confirmed="-y" in found.options,
        in_ds=found.values.get("--inDS"),
        options=tuple(found.options),
        output_specs=found.output_specs,
    )


def _word(words: list[str], offsets: list[int], i: int, found: _Found) -> int:
    """Read the option at words[i] (and its value); the index of the next word."""
    word, at = words[i], offsets[i]
    if not word.startswith("-") or word == "-":
        found.errors.append((at, f"'{word}' is not an option: prun refuses it (unrecognized arguments)"))
        return i + 1
    written, eq, inline = word.partition("=")
    name, ambiguous = prunopts.resolve(written)
    if name is None:
        why = f"ambiguous: it could be {', '.join(ambiguous)}" if ambiguous else "unrecognized arguments"
        found.errors.append((at, f"prun has no option {written}: panda-client refuses it ({why})"))
        takes = not eq and i + 1 < len(words) and not _looks_like_option(words[i + 1])
        return i + 2 if takes else i + 1  # its value, if it had one, is part of the same mistake
    found.options.append(name)
    if name in prunopts.SPANS:
        found.versioned.append((at, name, "panda-client-option", prunopts.SPANS[name]))
    if name in prunopts.FLAGS:
        if eq:
            found.errors.append((at, f"{written} takes no value: panda-client refuses '{word}'"))
        _option(name, None, at, at, found)
        return i + 1
    if eq:
        value, value_at, step = inline, at + len(written) + 1, 1
    elif i + 1 < len(words) and not _looks_like_option(words[i + 1]):
        value, value_at, step = words[i + 1], offsets[i + 1], 2
    else:
        found.errors.append((at, f"{written} needs a value: panda-client refuses it (expected one argument)"))
        return i + 1
    if name in prunopts.INTS and _int(value) is None:
        found.errors.append(
            (value_at, f"{written} needs a whole number, not '{value[:40]}' (panda-client: invalid int value)")
        )
        return i + step
    found.values[name] = value
    found.value_at[name] = value_at
    _option(name, value, value_at, at, found)
    return i + step


def _looks_like_option(word: str) -> bool:
    """argparse reads a word starting with '-' as an option unless it is a negative number."""
    return word.startswith("-") and not re.fullmatch(r"-\d+(\.\d*)?", word)


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _option(name: str, value: str | None, value_at: int, at: int, found: _Found) -> None:
    if name in OWN_INPUTS:
        found.warnings.append(
            (
                at,
                f"{name} in opt_args: the server writes its own {name} after opt_args (from "
                f"{OWN_INPUTS[name]}), which prun reads instead; give it as {OWN_INPUTS[name]}",
                "panda-option-in-args",
            )
        )
    elif name == "--useAthenaPackages":
        found.errors.append(
            (
                at,
                "--useAthenaPackages belongs in opt_useAthenaPackages: in opt_args panda-client refuses it "
                "on the server (You need to setup Athena runtime to use --useAthenaPackages)",
            )
        )
    elif name not in _LOCAL:
        found.ignored.append(name)
    elif value is None:
        found.errors.append((at, f"{name} needs a value"))
    elif name == "--outputs":
        found.outputs = tuple(_outputs(value, value_at, found.errors))
        found.output_specs = tuple(o for o in value.replace(" ", "").split(",") if o)
    elif name == "--secondaryDSs":
        found.secondary = tuple(_secondary(value, value_at, found))
    elif name == "--nJobs" and int(value) > limits.MAX_STAGES:
        # each job is a stage of the plan: PanDA's client sets no bound (its server's task limits apply),
        # a local plan must (see limits.MAX_STAGES)
        found.errors.append((value_at, f"--nJobs {value[:40]}: at most {limits.MAX_STAGES} jobs per step"))
    elif abs(int(value)) >= _MAX_COUNT:  # beyond a 64-bit integer, the widest the plan's JSON and SQLite hold
        found.errors.append((value_at, f"{name} {value[:40]}: too large (at most 18 digits)"))
    elif name == "--nFiles":
        found.counts[name] = max(0, int(value))
    elif not value.isdigit() or int(value) < 1:
        found.errors.append((value_at, f"{name} needs a positive whole number, not '{value[:40]}'"))
    else:
        found.counts[name] = int(value)


def _outputs(value: str, at: int, errors: list[tuple[int, str]]) -> list[str]:
    """The file names of --outputs `[SUFFIX:]FILE,...`, checked as PrunScript checks them."""
    names, suffixes = [], []
    pos = at
    for item in value.split(","):
        if not item:
            pos += 1
            continue
        suffix, sep, name = item.rpartition(":") if ":" in item else ("", "", item)
        if sep and ":" in suffix:
            errors.append((pos, f"--outputs entry '{item}' has more than one ':' (PanDA's server fails on it)"))
        elif sep and suffix in suffixes:
            errors.append(
                (
                    pos,
                    f"--outputs: dataset name suffix '{suffix}' is used for more than one file "
                    "(panda-client refuses it: each output must have a unique suffix)",
                )
            )
        suffixes.append(suffix)
        shown = name.replace("*", "XYZ") + (".tgz" if "*" in name else "")
        bad = "/" if "/" in shown else next((c for c in _BAD_FILE_CHARS if c in shown), None)
        if not name.startswith("regex|") and bad is not None:
            errors.append(
                (
                    pos + len(item) - len(name),
                    f"--outputs: the file name '{name}' contains '{bad}', "
                    "which panda-client refuses in output file names",
                )
            )
        names.append(name)
        pos += len(item) + 1
    return names


def _secondary(value: str, at: int, found: _Found) -> list[Secondary]:
    """The entries of --secondaryDSs, as panda-client's MiscUtils.parse_secondary_datasets_opt reads them."""
    out = []
    pos = at
    for entry in value.split(","):
        parts = entry.split("#") if "#" in entry else entry.split(":")
        ds_at = pos + len(parts[0]) + len(parts[1]) + 2 if len(parts) > 2 else pos
        if not 3 <= len(parts) <= 6:
            found.errors.append(
                (
                    pos,
                    f"--secondaryDSs entry '{entry}' is not STREAM:NFILES:DATASET[:PATTERN[:NSKIP[:FILELIST]]] "
                    "(panda-client refuses it: Wrong format)",
                )
            )
        elif _int(parts[1]) is None or (len(parts) > 4 and parts[4] and _int(parts[4]) is None):
            bad = parts[1] if _int(parts[1]) is None else parts[4]
            found.errors.append(
                (pos, f"--secondaryDSs entry '{entry}': '{bad}' is not a number (PanDA's server fails on it)")
            )
        else:
            if parts[0].startswith("%"):
                found.warnings.append(
                    (
                        pos,
                        f"--secondaryDSs stream '{parts[0]}' is named with '%': opt_exec's {parts[0]} reads "
                        f"a stream named {parts[0][1:]}, which this does not define; write {parts[0][1:]}:...",
                        "panda-secondary-stream-name",
                    )
                )
            pattern = parts[3] if len(parts) > 3 else ""
            skip = _int(parts[4]) if len(parts) > 4 and parts[4] else 0
            n_files = int(parts[1])
            out.append(
                Secondary(
                    parts[0],
                    n_files if n_files > 0 else None,
                    parts[2].replace("^", ","),
                    pos,
                    ds_at,
                    pattern,
                    skip or 0,
                    entry,
                )
            )
        pos += len(entry) + 1
    return out


def _combinations(found: _Found) -> None:
    """Refusals that need several options together (PrunScript's checks after parsing)."""
    gb, at = found.values.get("--nGBPerJob"), found.value_at.get("--nGBPerJob", 0)
    if gb is None or gb == "MAX":
        return
    if (_int(gb) or 0) <= 0:
        found.errors.append(
            (at, f"--nGBPerJob must be a positive whole number or MAX, not '{gb}' (panda-client refuses it)")
        )
    elif found.counts.get("--nFilesPerJob"):
        found.errors.append((at, "--nFilesPerJob and --nGBPerJob must be used exclusively (panda-client refuses both)"))


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
