"""Local datasets: a PanDA dataset is a folder of files; how output files are named and inputs selected.

A step's output dataset is the folder `datasets/{outDS}_{NNN}_{stage}` under the run's workdir (PanDA
names it `{outDS}_{NNN}_{step}`); each job's file `F` listed in `--outputs` is stored there as
`{dataset}._{SN:06d}.F`, the way PanDA names output files, so `opt_inDsType: F` selects them by suffix.
Datasets given as workflow inputs are folders the user maps to their names.
"""

from __future__ import annotations

import fnmatch
import os
from pathlib import Path

DATASETS = "datasets"


def output_name(dataset: str, job: int, output: str) -> str:
    """The file name job `job` of a step gives its output `output` inside `dataset`."""
    return f"{os.path.basename(dataset)}._{job:06d}.{output}"


def matches(name: str, kind: str | None) -> bool:
    """Whether the file `name` is of the type `kind` (an output file name as --outputs writes it, `*`
    allowed): the file is `kind` itself, or a dataset file `{dataset}._{SN}.{kind}`. None: every file."""
    if not kind:
        return True
    base = os.path.basename(name)
    return fnmatch.fnmatchcase(base, kind) or fnmatch.fnmatchcase(base, "*." + kind)


def dataset_files(folder: str | Path, kind: str | None = None) -> list[Path]:
    """The dataset's files (sorted by name), only those of the type `kind` when given.

    Files under `.`-prefixed names are skipped: they are bookkeeping, not data.
    """
    root = Path(folder)
    found = sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )
    return [p for p in found if matches(p.name, kind)]


def chunks(items: list[Path], size: int | None) -> list[list[Path]]:
    """`items` split into jobs of `size` files (one job with all of them when size is None)."""
    if not size or size <= 0:
        return [items]
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]
