"""Stage conditions: a small boolean language over how a stage's needs ended, parsed by a real grammar.

    expr  := or
    or    := and ("||" and)*
    and   := not ("&&" not)*
    not   := "!" not | atom
    atom  := "(" expr ")" | "true" | "false" | STATE "(" NAME ")"
    STATE := done | failed | skipped | ended

A stage with a `condition` waits until every stage it needs has ended (done, failed or skipped), then runs if
the condition holds and is skipped otherwise. Without a condition a stage runs only when all its needs are
done. PanDA's `$(self.X)` / `$(!self.X)` compile to `done(parent)` / `failed(parent)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import NamedTuple

STATES = ("done", "failed", "skipped", "ended")
_TOKEN = re.compile(r"\s*(?:(\|\||&&|!|\(|\))|([^\s()!&|]+))")


class ConditionError(ValueError):
    """A condition that does not parse; the message says where (a caret under the column)."""


class StateTest(NamedTuple):
    state: str
    stage: str


class Not(NamedTuple):
    arg: Node


class And(NamedTuple):
    args: tuple[Node, ...]


class Or(NamedTuple):
    args: tuple[Node, ...]


class Const(NamedTuple):
    value: bool


Node = StateTest | Not | And | Or | Const


def parse(text: str) -> Node:
    """The syntax tree of `text`, or ConditionError naming the column of the first problem."""
    parser = _Parser(text)
    node = parser.expr()
    if parser.peek() is not None:
        parser.fail(f"unexpected '{parser.peek()}'")
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, int]] = []
        pos = 0
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                if text[pos:].strip() == "":
                    break
                pos += len(text[pos:]) - len(text[pos:].lstrip())
                raise ConditionError(_point(text, pos, f"unexpected character '{text[pos]}'"))
            token = m.group(1) or m.group(2)
            if token:
                self.tokens.append((token, m.start(1) if m.group(1) else m.start(2)))
            pos = m.end()
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def fail(self, message: str) -> None:
        pos = self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.text)
        raise ConditionError(_point(self.text, pos, message))

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None:
            self.fail(f"expected {repr(expected) if expected else 'more'} at the end")
        if expected is not None and token != expected:
            self.fail(f"expected '{expected}', found '{token}'")
        self.i += 1
        return token  # type: ignore[return-value]

    def expr(self) -> Node:
        args = [self.conj()]
        while self.peek() == "||":
            self.take()
            args.append(self.conj())
        return args[0] if len(args) == 1 else Or(tuple(args))

    def conj(self) -> Node:
        args = [self.neg()]
        while self.peek() == "&&":
            self.take()
            args.append(self.neg())
        return args[0] if len(args) == 1 else And(tuple(args))

    def neg(self) -> Node:
        if self.peek() == "!":
            self.take()
            return Not(self.neg())
        return self.atom()

    def atom(self) -> Node:
        token = self.peek()
        if token is None:
            self.fail("expected a condition at the end")
        if token == "(":
            self.take()
            node = self.expr()
            self.take(")")
            return node
        if token in ("true", "false"):
            self.take()
            return Const(token == "true")
        if token in STATES:
            self.take()
            self.take("(")
            name = self.peek()
            if name is None or name in ("(", ")", "!", "&&", "||"):
                self.fail("expected a stage name")
            self.take()
            self.take(")")
            return StateTest(token, name)  # type: ignore[arg-type]
        self.fail(f"expected one of {', '.join(STATES)}, '!', '(' or true/false, found '{token}'")
        raise AssertionError("unreachable")


def _point(text: str, pos: int, message: str) -> str:
    return f"{message} at column {pos + 1}\n    {text}\n    {' ' * pos}^"


def stages_in(node: Node) -> set[str]:
    """Every stage name the condition tests."""
    if isinstance(node, StateTest):
        return {node.stage}
    if isinstance(node, Not):
        return stages_in(node.arg)
    if isinstance(node, (And, Or)):
        return set().union(*(stages_in(a) for a in node.args))
    return set()


def failures_tested(node: Node) -> set[str]:
    """Stages whose failure the condition looks for (`failed(X)`, or `skipped(X)` — X skipped because of a
    failure upstream — not under a `!`): a run whose failures are all looked for by conditions that held
    ends successfully."""
    if isinstance(node, StateTest):
        return {node.stage} if node.state in ("failed", "skipped") else set()
    if isinstance(node, (And, Or)):
        return set().union(*(failures_tested(a) for a in node.args))
    return set()


def tests_outcome(node: Node) -> set[str]:
    """Stages whose failure or skip the condition looks at in any way (failed, skipped, ended; negated too)."""
    if isinstance(node, StateTest):
        return {node.stage} if node.state != "done" else set()
    if isinstance(node, Not):
        return tests_outcome(node.arg)
    if isinstance(node, (And, Or)):
        return set().union(*(tests_outcome(a) for a in node.args))
    return set()


def evaluate(node: Node, state_of: Callable[[str], str] | Mapping[str, str]) -> bool:
    """The condition's value, given each tested stage's state (done, failed or skipped)."""
    get = state_of.__getitem__ if isinstance(state_of, Mapping) else state_of
    if isinstance(node, Const):
        return node.value
    if isinstance(node, StateTest):
        state = get(node.stage)
        return state in ("done", "failed", "skipped") if node.state == "ended" else state == node.state
    if isinstance(node, Not):
        return not evaluate(node.arg, get)
    if isinstance(node, And):
        return all(evaluate(a, get) for a in node.args)
    return any(evaluate(a, get) for a in node.args)
