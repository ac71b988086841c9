"""What PanDA's server makes of one leaf step: the dataset names it substitutes, the text it shows and
verifies, and the prun command line it submits (`cliParams`).

Pure functions, each following one piece of panda-server's `workflow_utils.Node`:
- `input_datasets` is `get_input_ds_list`: `{dataset}_{type}/` per opt_inDS entry, the type from
  opt_inDsType or the producing step's first output (a list of datasets with one string type pairs the
  datasets with the string's characters, as `zip` does there);
- `secondary_datasets` is the secondary part of `resolve_params` (`%{SECDSn}`; `%{SECDS*}` becomes the
  list of `%{SECDSn}` placeholders, which nothing resolves);
- `view` is `make_task_params`: opt_args is split into the command *before* `%{DSn}` and the
  sub-workflow's `%{name}`/`%{i}` are replaced, so those reach the task literally in opt_args (only the
  text the server shows and verifies has them replaced); in opt_exec they are replaced.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

UNRESOLVED = re.compile(r"%{[A-Z]*DS(\d+|\*)}")  # what Node.verify looks for
NUM_RUN = "___idds___num_run___"


def output_type(pattern: str) -> str:
    """The type a `--outputs` entry gives its dataset (`x*.root` -> `xXYZ.root.tgz`), as PrunScript
    names the file and the server reads it back from the LFN."""
    return pattern.replace("*", "XYZ") + ".tgz" if "*" in pattern else pattern


def _suffix(kind: str | None) -> str | None:
    if kind and "*" in kind:
        return kind.replace("*", "XYZ") + ".tgz"
    return kind


def input_datasets(names: str | Sequence[str] | None, in_type: Any, parent_types: Sequence[str | None]) -> list[str]:
    """The server's names of a step's opt_inDS datasets (`get_input_ds_list`). `parent_types[k]` is the
    first output type of the step that made the k-th dataset (None for a dataset given by name)."""
    if not names:
        return []
    listed = not isinstance(names, str)
    entries = list(names) if listed else [names]  # type: ignore[list-item]
    if in_type:
        suffixes: Any = in_type if listed else [in_type]
        if isinstance(in_type, str) and "*" in in_type:
            suffixes = _suffix(in_type) if listed else [_suffix(in_type)]
    else:
        suffixes = list(parent_types[: len(entries)]) + [None] * (len(entries) - len(parent_types))
    return [f"{ds}_{s}/" if s else str(ds) for ds, s in zip(entries, suffixes)]  # noqa: B905 - zip truncates there


def secondary_datasets(names: Any, types: Any, parent_types: Sequence[str | None]) -> list[str]:
    """The server's names of opt_secondaryDSs (`resolve_params`): `{dataset}_{type}/`, or `{dataset}/`."""
    if not names:
        return []
    entries = list(names)  # a plain string is iterated per character, as the server does
    kinds = list(types) if types else list(parent_types) + [None] * (len(entries) - len(parent_types))
    return [f"{ds}_{_suffix(t)}/" if t else f"{ds}/" for ds, t in zip(entries, kinds)]  # noqa: B905


def _replace(text: str, pairs: Sequence[tuple[str, str]]) -> str:
    for src, dst in pairs:
        text = text.replace(src, dst)
    return text


def ds_pairs(prefix: str, names: Sequence[str]) -> list[tuple[str, str]]:
    """(`%{DS1}`, first name), ..., then `%{DS*}`; `%{SECDS*}` stands for the placeholders themselves."""
    pairs = [(f"%{{{prefix}{k + 1}}}", name) for k, name in enumerate(names)]
    if names:
        star = ",".join(f"%{{{prefix}{k + 1}}}" for k in range(len(names))) if prefix == "SECDS" else ",".join(names)
        pairs.append((f"%{{{prefix}*}}", star))
    return pairs


class View(NamedTuple):
    """A leaf step as the server shows it (its dump) and submits it (cliParams)."""

    exec_shown: str
    args_shown: str
    exec_submitted: str
    cli: str


class Leaf(NamedTuple):
    kind: str
    exec_text: str
    args_text: str
    in_ds: Sequence[str]  # the server's names (input_datasets); empty when opt_inDS is unset or suppressed
    secondary: Sequence[str]  # secondary_datasets
    loop_params: Sequence[str]  # param_k inputs of the enclosing sub-workflow (k)
    locals: Mapping[str, str]  # its other inputs, as the server writes them
    in_sub: bool  # a step of a sub-workflow (the enclosing node's globals apply)
    task: str
    container: str | None = None
    athena: bool = False


def view(leaf: Leaf) -> View:
    """The dump text, the submitted opt_exec and the command line of a prun, junction or reana step."""
    secondary = ds_pairs("SECDS", leaf.secondary)
    exec_text, args_text = _replace(leaf.exec_text, secondary), _replace(leaf.args_text, secondary)
    submitted_args = _junction_outputs(args_text) if leaf.kind == "junction" else args_text
    com = ["prun", *shlex.split(submitted_args)]
    if leaf.in_ds:
        if leaf.kind != "reana":
            com += ["--inDS", ",".join(leaf.in_ds), "--notExpandInDS", "--notExpandSecDSs"]
            if leaf.kind == "junction":
                com += ["--forceStaged", "--forceStagedSecondary"]
        pairs = ds_pairs("DS", leaf.in_ds)  # written back into the inputs the server shows and verifies
        exec_text, args_text = _replace(exec_text, pairs), _replace(submitted_args, pairs)
    submitted = exec_text
    if leaf.in_sub:
        pairs = [(f"%{{{k}}}", f"___idds___user_{k}___") for k in leaf.loop_params]
        pairs += [(f"%{{{k}}}", v) for k, v in leaf.locals.items()]
        submitted = _replace(submitted, [*pairs, ("%{i}", NUM_RUN)])
    com += ["--exec", submitted, "--outDS", leaf.task]
    if leaf.container:
        com += ["--containerImage", leaf.container]
    if leaf.athena:
        com += ["--useAthenaPackages"]
    return View(exec_text, args_text, submitted, " ".join(shlex.quote(x) for x in com))


def _junction_outputs(args: str) -> str:
    """A junction always writes results.json: the server adds it to --outputs."""
    if "--outputs" not in args:
        return args + " --outputs results.json"
    m = re.search("(--outputs)( +|=)([^ ]+)", args)
    if m and "results.json" not in m.group(3):
        return args.replace(m.group(0), f"{m.group(1)}={m.group(3)},results.json")
    return args


def unresolved(shown_exec: str, shown_args: str) -> tuple[str, str] | None:
    """(placeholder, field) of the first `%{...DSn}` left in what the server verifies, as Node.verify."""
    for field, text in (("opt_exec", shown_exec), ("opt_args", shown_args)):
        m = UNRESOLVED.search(text or "")
        if m:
            return m.group(0), field
    return None
