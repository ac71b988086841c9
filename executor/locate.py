"""Where things are written in a plan's JSON text, for messages only (json keeps no positions).

Built on demand, when there is something to report: one tokenizing pass (strings matched whole by a
regular expression, so brackets inside them do not count) records where each stage of `stages` starts,
where its keys and the keys of the objects inside it are written, and where the top-level keys are.
"""

from __future__ import annotations

import bisect
import json
import re
from dataclasses import dataclass, field

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],]')


@dataclass
class _Open:
    kind: str  # "o" object, "a" array
    path: tuple[str, ...]  # key path from the stage (or the document) to this container
    key: str = ""  # the last key read in an object
    expect_key: bool = False


@dataclass
class Locator:
    text: str
    stage_starts: list[int] = field(default_factory=list)
    keys: list[dict[tuple[str, ...], int]] = field(default_factory=list)  # per stage: key path -> offset
    top: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._newlines = [m.start() for m in re.finditer("\n", self.text)]
        stack: list[_Open] = []
        stages_depth = -1  # len(stack) inside the `stages` array; -1 before, -2 after it
        for m in _TOKEN.finditer(self.text):
            tok, at = m.group(), m.start()
            top = stack[-1] if stack else None
            if tok[0] == '"':
                if top is not None and top.kind == "o" and top.expect_key:
                    key = _unquote(tok)
                    top.key, top.expect_key = key, False
                    if len(stack) == 1:
                        self.top.setdefault(key, at)
                    elif stages_depth > 0 and len(stack) > stages_depth and self.keys:
                        self.keys[-1].setdefault((*top.path, key), at)
            elif tok in "{[":
                if top is None:
                    path: tuple[str, ...] = ()
                elif stages_depth > 0 and len(stack) == stages_depth and tok == "{":
                    path = ()  # a stage
                    self.stage_starts.append(at)
                    self.keys.append({})
                elif top.kind == "o":
                    path = (*top.path, top.key)
                else:
                    path = top.path
                if tok == "[" and len(stack) == 1 and top is not None and top.key == "stages" and stages_depth == -1:
                    stages_depth = 2
                    path = ()
                stack.append(_Open("o" if tok == "{" else "a", path, expect_key=tok == "{"))
            elif tok in "]}":
                if stack:
                    stack.pop()
                if stages_depth > 0 and len(stack) < stages_depth:
                    stages_depth = -2
            elif tok == "," and top is not None and top.kind == "o":
                top.expect_key = True

    def position(self, offset: int) -> tuple[int, int]:
        """(line, column), 1-based."""
        line = bisect.bisect_left(self._newlines, offset)
        start = self._newlines[line - 1] + 1 if line else 0
        return line + 1, offset - start + 1

    def stage(self, index: int, path: tuple[str, ...] = ()) -> tuple[int, int]:
        """Where key `path` of stage `index` (counted in the file) is written; else its nearest parent key,
        else the stage's name, else the stage's opening brace."""
        if not 0 <= index < len(self.stage_starts):
            return self.key("stages")
        keys = self.keys[index]
        for cut in range(len(path), 0, -1):
            if path[:cut] in keys:
                return self.position(keys[path[:cut]])
        if ("name",) in keys:
            return self.position(keys[("name",)])
        return self.position(self.stage_starts[index])

    def key(self, name: str) -> tuple[int, int]:
        """Where a top-level key is written (1:1 when it is not)."""
        return self.position(self.top[name]) if name in self.top else (1, 1)


def _unquote(token: str) -> str:
    try:
        value = json.loads(token)
    except ValueError:
        return token[1:-1]
    return value if isinstance(value, str) else token[1:-1]
