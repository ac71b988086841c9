"""Secondary datasets and streams: opt_secondaryDSs, and `--secondaryDSs STREAM:NFILES:DATASET[:PATTERN[:NSKIP]]`
as panda-client reads it once PanDA's server has put the `%{SECDSn}` names in (`workflow_utils.Node.resolve_params`
runs before the client's parser, `MiscUtils.parse_secondary_datasets_opt`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import NamedTuple

from cwlpilot.compiler.errors import Pos
from cwlpilot.compiler.panda import server
from cwlpilot.compiler.panda.inputs import dataset_refs, local_kind, named, parent_type, strings
from cwlpilot.compiler.panda.ir import Step
from cwlpilot.compiler.panda.prunargs import PrunArgs, Secondary
from cwlpilot.compiler.panda.values import Bound, DatasetRef, Emitted, Lit, Options, at


class Stream(NamedTuple):
    name: str  # IN2, IN_MINH, ...
    n_files: int | None
    refs: tuple[DatasetRef, ...]
    kinds: tuple[str | None, ...]  # the file type each dataset is read with (None: every file)
    pattern: str = ""
    skip: int = 0


def find_secondaries(
    step: Step, ins: Mapping[str, Bound], out: Emitted, opts: Options
) -> tuple[list[DatasetRef], list[str]]:
    bound = ins.get("opt_secondaryDSs")
    if bound is None:
        return [], []
    where = step.input("opt_secondaryDSs")
    if isinstance(bound.value, Lit) and isinstance(bound.value.value, str):
        out.warn(
            where.pos if where else step.pos,
            "opt_secondaryDSs is one string, not a list: PanDA's server "
            "reads each of its characters as a dataset; write a list",
            step.id,
            "panda-secondary-string",
        )
    parts = bound.parts or (bound.value,)
    refs = [r for p in parts for r in dataset_refs(p, where, step, out, opts)]
    types = strings(ins, "opt_secondaryDsTypes")
    names = server.secondary_datasets([r.name for r in refs], types, [parent_type(r) for r in refs])
    return refs, names


def find_streams(
    step: Step,
    pa: PrunArgs,
    args_text: str,
    args_pos: Pos,
    secondaries: list[DatasetRef],
    sec_ds: list[str],
    in_ds: list[str],
    ins: Mapping[str, Bound],
    out: Emitted,
    opts: Options,
) -> list[Stream]:
    """The secondary streams of --secondaryDSs, as the client reads them once the server has put the
    `%{SECDSn}` names in (`resolve_params` runs before the client's parser)."""
    pairs = server.ds_pairs("SECDS", sec_ds)
    by_name = {name: k for k, name in enumerate(sec_ds)}
    types = strings(ins, "opt_secondaryDsTypes")
    used: set[int] = set()
    streams = []
    for written in pa.secondary:
        where = at(args_pos, written.dataset_at)
        entry = _submitted(written, pairs, where, step, out)
        if entry is None:
            continue
        dataset = entry.dataset
        if "%{DS" in written.dataset:
            meant = _ds_in_secondary(step, written, where, in_ds, sec_ds, out)
            used.add(meant)  # the warning names the secondary dataset it was meant to read
        if dataset in by_name:
            k = by_name[dataset]
            used.add(k)
            kind = types[k] if k < len(types) else local_kind(secondaries[k])
            streams.append(Stream(entry.stream, entry.n_files, (secondaries[k],), (kind,), entry.pattern, entry.skip))
        elif "%{" in dataset:  # left as written: Node.verify (or the grid) finds it
            if not opts.check_only:
                out.error(
                    where,
                    f"--secondaryDSs {entry.stream}: PanDA submits the task with a dataset named "
                    f"'{dataset}', which does not exist; it cannot run here either",
                    step.id,
                    "panda-secondary-ds-placeholder",
                )
            streams.append(Stream(entry.stream, entry.n_files, (), (), entry.pattern, entry.skip))
        else:
            ref = named(dataset, step.input("opt_args"), step, out, opts)
            streams.append(Stream(entry.stream, entry.n_files, (ref,), (None,), entry.pattern, entry.skip))
    _unused(step, secondaries, used, out)
    return streams


def _unused(step: Step, secondaries: list[DatasetRef], used: set[int], out: Emitted) -> None:
    for k, ref in enumerate(secondaries):
        if k not in used:
            where = step.input("opt_secondaryDSs")
            out.warn(
                where.pos if where else step.pos,
                f"opt_secondaryDSs' dataset {k + 1} ({ref.name}) is read by no --secondaryDSs entry "
                f"(write STREAM:NFILES:%{{SECDS{k + 1}}}): the job gets none of its files",
                step.id,
                "panda-secondary-unused",
            )


def _submitted(
    entry: Secondary, pairs: list[tuple[str, str]], where: Pos, step: Step, out: Emitted
) -> Secondary | None:
    """The entry as prun reads it once the server has put the `%{SECDSn}` names in (a name with ':' in it
    splits an entry written with ':' there, as MiscUtils.parse_secondary_datasets_opt splits it)."""
    text = entry.entry
    for src, dst in pairs:
        text = text.replace(src, dst)
    if text == entry.entry:
        return entry
    parts = text.split("#") if "#" in text else text.split(":")
    skip = parts[4] if len(parts) > 4 and parts[4] else "0"
    if not 3 <= len(parts) <= 6 or not skip.isdigit():
        out.error(
            where,
            f"--secondaryDSs {entry.stream}: with the dataset name put in, the entry reads '{text}', "
            "which prun refuses (Wrong format): write the entry with '#' (STREAM#NFILES#DATASET)",
            step.id, rule="panda-secondary-ds")
        return None
    read = entry._replace(
        dataset=parts[2].replace("^", ","), pattern=parts[3] if len(parts) > 3 else "", skip=int(skip)
    )
    meant = entry.dataset
    for src, dst in pairs:
        meant = meant.replace(src, dst)
    if read.dataset != meant:
        out.warn(
            where,
            f"--secondaryDSs {entry.stream}: the dataset name '{meant}' has ':' in it, so prun splits "
            f"the entry there and reads the dataset '{read.dataset}'; write the entry with '#' "
            "(STREAM#NFILES#DATASET)",
            step.id,
            "panda-secondary-ds-colon",
        )
    return read


def _ds_in_secondary(
    step: Step, entry: Secondary, where: Pos, in_ds: list[str], sec_ds: list[str], out: Emitted
) -> int:
    m = re.search(r"%\{DS(\d+)\}", entry.dataset)
    n = int(m.group(1)) if m else 1
    primary = in_ds[n - 1] if 0 < n <= len(in_ds) else "nothing: opt_inDS has no such dataset"
    meant = f"%{{SECDS{n}}} ({sec_ds[n - 1]})" if 0 < n <= len(sec_ds) else "%{SECDSn}"
    out.warn(
        where,
        f"--secondaryDSs {entry.stream} reads %{{DS{n}}}, which PanDA's server puts in opt_args only in what "
        f"it shows (pchain --check shows {primary}, opt_inDS's dataset {n}) after it made the task's command "
        f"line: the task's {entry.stream} reads a dataset named '{entry.dataset}', which does not exist. "
        f"%{{SECDSn}} names the n-th of opt_secondaryDSs: write {meant} (older PanDA documentation wrote "
        "%{DSn} for secondary datasets)",
        step.id,
        "panda-secondary-ds-placeholder",
    )
    return n - 1
