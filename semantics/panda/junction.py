"""What a junction's `results.json` means: the loop's updated parameter dictionary and whether to stop.

Keys are loop parameters without their `param_` prefix. `to_terminate: true` ends the loop; `to_exit`
(the older PanDA documentation's spelling) means the same. `to_continue` is read as the opposite:
`to_continue: false` ends the loop, `to_continue: true` asks for one more iteration; giving both it and
`to_terminate` with contradicting values is an error. Without any of them the loop goes on (until the
max-iteration guard). Keys that are no parameter are reported as warnings and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple

STOP_KEYS = ("to_terminate", "to_exit")


class JunctionError(ValueError):
    """results.json is missing, is not a JSON object, or gives a value the loop cannot take."""


class Decision(NamedTuple):
    terminate: bool
    params: dict[str, Any]  # the whole updated dictionary
    warnings: tuple[str, ...]


def decide(text: str, params: Mapping[str, Any]) -> Decision:
    """The decision written in `text` (results.json), applied to the loop dictionary `params`."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JunctionError(
            f"results.json is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    if not isinstance(doc, dict):
        raise JunctionError(f"results.json must hold a JSON object, not {type(doc).__name__}")
    terminate = _terminate(doc)
    updated = dict(params)
    unknown: list[str] = []
    for key, value in sorted(doc.items()):
        if key in (*STOP_KEYS, "to_continue"):
            continue
        if key not in params:
            unknown.append(key)
            continue
        updated[key] = _checked(key, value, params[key])
    warnings: tuple[str, ...] = ()
    if unknown:
        hint = [k for k in unknown if k.startswith("param_") and k[6:] in params]
        tip = f" (keys have no 'param_' prefix: write {', '.join(repr(k[6:]) for k in hint)})" if hint else ""
        warnings = (f"results.json: ignored key(s) that are no loop parameter: {', '.join(unknown)}{tip}",)
    return Decision(terminate, updated, warnings)


def _terminate(doc: Mapping[str, Any]) -> bool:
    votes: list[tuple[str, bool]] = []
    for key in STOP_KEYS:
        if key in doc:
            votes.append((key, _bool(doc, key)))
    if "to_continue" in doc:
        votes.append(("to_continue", not _bool(doc, "to_continue")))
    if len({v for _, v in votes}) > 1:
        said = ", ".join(f"{k}: {json.dumps(doc[k])}" for k, _ in votes)
        raise JunctionError(f"results.json contradicts itself: {said}")
    return bool(votes and votes[0][1])


def _bool(doc: Mapping[str, Any], key: str) -> bool:
    value = doc[key]
    if not isinstance(value, bool):
        raise JunctionError(f"results.json: '{key}' must be true or false, not {json.dumps(value)}")
    return value


def _checked(key: str, value: Any, old: Any) -> Any:
    if isinstance(old, list):
        # a loop over a scatter: the scatter's width was fixed when the plan was made
        if not isinstance(value, list) or len(value) != len(old):
            raise JunctionError(
                f"results.json: '{key}' must stay an array of {len(old)} values (the scatter over it "
                f"has {len(old)} instances), not {json.dumps(value)}"
            )
    elif isinstance(value, (list, dict)):
        raise JunctionError(f"results.json: '{key}' is a single value in the loop, not {json.dumps(value)}")
    return value
