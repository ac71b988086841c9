"""Which stages a run is about: `-tt/--target-tasks`, `--target-labels` and `--rerun-from`, as O2DPG reads them.

Followed: O2DPG `MC/bin/o2dpg_workflow_runner_legacy.py` `filter_workflow` and `execute` (@ca79d62d):
- `-tt` patterns lose every leading and trailing `"`, then every `'` (anchorMC.sh passes `"'aodmerge.*'"`);
  a lone `*` matches every name; any other pattern is a regular expression matched from the start of the
  name (`re.match`: `-tt aod` selects `aod_1` and `aodmerge`).
- `--target-labels` selects stages carrying any of the labels (exact strings).
- A stage is a target when its name matches AND (if labels are given) one of its labels does.
- The run holds the targets and, transitively, everything they need, in file order.
- No target at all: O2DPG prints "Apparently some of the chosen target tasks are not in the workflow" and
  exits 0, and so does cwlpilot.
- `--rerun-from` (no quote stripping, no `*`): the matching stages of the selection and everything
  downstream of them run again; no match exits 1 ("cowardly refusing to do anything").
Where O2DPG silently drops a target whose needs name a stage missing from the file, cwlpilot reports it
(executor.plan): an error when a selected stage needs it, a warning otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NamedTuple, Protocol

from cwlpilot.executor.errors import UsageError


class _Stage(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def needs(self) -> tuple[str, ...]: ...
    @property
    def labels(self) -> tuple[str, ...]: ...


class Selection(NamedTuple):
    wanted: frozenset[str] | None  # None: the whole plan
    nothing: bool = False  # a filter was given and matched no stage
    targets: frozenset[str] = frozenset()  # the stages the filters matched (without what they need)


NO_TARGET = "Apparently some of the chosen target tasks are not in the workflow"


def strip_quotes(pattern: str) -> str:
    """O2DPG: `f.strip('"').strip("'")` on every -tt pattern."""
    return pattern.strip('"').strip("'")


def _compile(pattern: str, option: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise UsageError(f"{option} {pattern!r}: not a regular expression ({exc}); a pattern is matched "
                         "from the start of each stage name, and a lone * selects every stage") from None


def select(stages: Sequence[_Stage], tasks: Sequence[str], labels: Sequence[str]) -> Selection:
    """The stages a run holds for these filters (see the module's documentation)."""
    patterns = [strip_quotes(t) for t in tasks]
    if not labels and (not patterns or patterns == ["*"]):
        return Selection(None)
    regexes = [None if p == "*" else _compile(p, "--target-tasks") for p in patterns] or [None]
    wanted_labels = set(labels)

    def is_target(s: _Stage) -> bool:
        name_ok = any(r is None or r.match(s.name) for r in regexes)
        return name_ok and (not wanted_labels or bool(wanted_labels.intersection(s.labels)))

    chosen = [s.name for s in stages if is_target(s)]
    if not chosen:
        return Selection(frozenset(), nothing=True)
    return Selection(frozenset(closure(stages, chosen)), targets=frozenset(chosen))


def closure(stages: Sequence[_Stage], names: Iterable[str]) -> set[str]:
    """`names` and, transitively, every stage they need that the plan has."""
    needs = {s.name: s.needs for s in stages}
    out: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in out or name not in needs:
            continue
        out.add(name)
        todo.extend(needs[name])
    return out


def rerun_from(stages: Sequence[_Stage], pattern: str, wanted: frozenset[str] | None) -> list[str]:
    """The stages of the selection matching `pattern` (re.match, as given); UsageError when none does."""
    regex = _compile(pattern, "--rerun-from")
    found = [s.name for s in stages if (wanted is None or s.name in wanted) and regex.match(s.name)]
    if not found:
        raise UsageError(f"--rerun-from: No task matching {pattern} found; cowardly refusing to do anything")
    return found
