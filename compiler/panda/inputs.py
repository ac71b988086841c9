"""A leaf step's input values as text, names and datasets (shared by `leafio` and `secondary`)."""

from __future__ import annotations

from collections.abc import Mapping

from cwlpilot.compiler.panda import server
from cwlpilot.compiler.panda.ir import Step, StepIn
from cwlpilot.compiler.panda.values import Bound, DatasetRef, Datasets, Emitted, Lit, Options, Value


def text_input(ins: Mapping[str, Bound], key: str, step: Step, out: Emitted) -> str | None:
    bound = ins.get(key)
    if bound is None or (isinstance(bound.value, Lit) and bound.value.value is None):
        return None
    if isinstance(bound.value, Lit) and isinstance(bound.value.value, str):
        return bound.value.value
    where = step.input(key)
    out.error(where.pos if where else step.pos, f"{key} must be a string", step.id, rule="panda-input-value")
    return None


def strings(ins: Mapping[str, Bound], key: str) -> list[str]:
    bound = ins.get(key)
    if bound is None or not isinstance(bound.value, Lit) or bound.value.value is None:
        return []
    v = bound.value.value
    return [str(x) for x in v] if isinstance(v, list) else [str(v)]


def dataset_refs(
    value: Value | None, where: StepIn | None, step: Step, out: Emitted, opts: Options
) -> list[DatasetRef]:
    """The datasets a value names: upstream outputs as they are, dataset names through the local mapping."""
    if value is None:
        return []
    if isinstance(value, Datasets):
        return list(value.refs)
    names = value.value if isinstance(value, Lit) else None
    names = names if isinstance(names, list) else [names]
    return [named(str(n), where, step, out, opts) for n in names if n is not None]


def named(name: str, where: StepIn | None, step: Step, out: Emitted, opts: Options) -> DatasetRef:
    local = opts.datasets.get(name) or opts.datasets.get(name.rstrip("/"))
    if local is not None:
        return DatasetRef(local.path, name, ())
    if opts.check_only:
        out.note(f"dataset '{name}' has no local folder yet (map it for `run`)", step.id)
    else:
        out.error(
            where.pos if where else step.pos,
            f"dataset '{name}' has no local folder: give --dataset '{name}'=DIR, or map it in a "
            "datasets file (--datasets FILE, or datasets.yaml beside the inputs file)",
            step.id, rule="panda-dataset")
    return DatasetRef("", name, ())


def parent_type(ref: DatasetRef) -> str | None:
    """The type a consumer reads a dataset with when it names none: the producing step's first output
    (a step without --outputs has the type `dummy`), as workflow_utils.Node.get_input_ds_list takes it."""
    if ref.outputs:
        return server.output_type(ref.outputs[0])
    return "dummy" if ref.producers else None


def local_kind(ref: DatasetRef) -> str | None:
    return ref.outputs[0] if ref.outputs else None
