"""PanDA `when:` conditions, parsed by a real grammar, and their translation to the executor's conditions.

    when  := "$(" expr ")"
    expr  := and ("||" and)*
    and   := unary ("&&" unary)*
    unary := "!" unary | "(" expr ")" | "self" "." NAME ("[" INT "]")?

`self.X` holds when the parent step that feeds the step input X succeeded, `!self.X` when it did not
(it failed, or was skipped). `self.X[k]` tests only the k-th source of a list input (0-based). The
translation pushes `!` down to the tests, so that a failure looked for by `!self.X` reads as
`failed(stage)` and counts as handled by the executor.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple


class Ref(NamedTuple):
    name: str
    item: int | None  # k in self.X[k]
    at: int  # offset of `self` in the text


class Not(NamedTuple):
    arg: Cond


class And(NamedTuple):
    args: tuple[Cond, ...]


class Or(NamedTuple):
    args: tuple[Cond, ...]


Cond = Ref | Not | And | Or

_TOKEN = re.compile(r"\s*(\$\(|&&|\|\||==|!=|[!()\[\].]|\d+|[A-Za-z_][A-Za-z0-9_]*|\S)")


class ConditionSyntaxError(ValueError):
    """`offset` is where in the text the problem is."""

    def __init__(self, offset: int, message: str) -> None:
        self.offset = offset
        super().__init__(message)


def parse(text: str) -> Cond:
    """The condition in `text` (the whole `$(...)`), or ConditionSyntaxError at the first problem."""
    p = _Parser(text)
    p.take("$(", "a PanDA condition is written $(self.NAME ...)")
    node = p.expr()
    p.take(")", "expected ')' closing '$('")
    if p.peek() is not None:
        p.fail(f"unexpected '{p.peek()}' after the condition")
    return node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = [(m.group(1), m.start(1)) for m in _TOKEN.finditer(text)]
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i][0] if self.i < len(self.tokens) else None

    def fail(self, message: str) -> None:
        at = self.tokens[self.i][1] if self.i < len(self.tokens) else len(self.text.rstrip())
        raise ConditionSyntaxError(at, message)

    def take(self, token: str, message: str | None = None) -> str:
        found = self.peek()
        if found != token:
            self.fail(message or f"expected '{token}', found {_show(found)}")
        self.i += 1
        return token

    def expr(self) -> Cond:
        args = [self.conj()]
        while self.peek() == "||":
            self.i += 1
            args.append(self.conj())
        return args[0] if len(args) == 1 else Or(tuple(args))

    def conj(self) -> Cond:
        args = [self.unary()]
        while self.peek() == "&&":
            self.i += 1
            args.append(self.unary())
        return args[0] if len(args) == 1 else And(tuple(args))

    def unary(self) -> Cond:
        token = self.peek()
        if token == "!":
            self.i += 1
            return Not(self.unary())
        if token == "(":
            self.i += 1
            node = self.expr()
            self.take(")", f"expected ')' or an operator, found {_show(self.peek())}")
            return node
        if token in ("==", "!="):
            self.fail(f"'{token}': PanDA conditions test whether parent steps succeeded, not values")
        if token != "self":
            self.fail(f"expected self.NAME, '!' or '(', found {_show(token)}")
        at = self.tokens[self.i][1]
        self.i += 1
        self.take(".", "expected '.' after 'self'")
        name = self.peek()
        if name is None or not re.match(r"[A-Za-z_]", name):
            self.fail(f"expected an input name after 'self.', found {_show(name)}")
        self.i += 1
        item = None
        if self.peek() == "[":
            self.i += 1
            number = self.peek()
            if number is None or not number.isdigit():
                self.fail(f"expected an index (0, 1, ...) in '[...]', found {_show(number)}")
            item = int(number)  # type: ignore[arg-type]
            self.i += 1
            self.take("]", "expected ']'")
        if self.peek() in ("==", "!="):
            self.fail(f"'{self.peek()}': PanDA conditions test whether parent steps succeeded, not values")
        return Ref(str(name), item, at)


def _show(token: str | None) -> str:
    return "the end" if token is None else f"'{token}'"


def refs(node: Cond) -> list[Ref]:
    """Every `self.X` test, in reading order."""
    if isinstance(node, Ref):
        return [node]
    if isinstance(node, Not):
        return refs(node.arg)
    return [r for a in node.args for r in refs(a)]


def translate(node: Cond, stages_of: Callable[[Ref], Sequence[str]], negate: bool = False) -> str:
    """The executor condition for `node`; `stages_of(ref)` names the stages that make up ref's parent."""
    if isinstance(node, Not):
        return translate(node.arg, stages_of, not negate)
    if isinstance(node, Ref):
        stages = stages_of(node)
        if not negate:
            return _join([f"done({s})" for s in stages], " && ")
        return _join([f"(failed({s}) || skipped({s}))" for s in stages], " || ")
    # De Morgan: a negated conjunction is a disjunction of negations
    op = " && " if isinstance(node, And) != negate else " || "
    return _join([translate(a, stages_of, negate) for a in node.args], op)


def _join(parts: list[str], op: str) -> str:
    if len(parts) == 1:
        return parts[0]
    return "(" + op.join(parts) + ")"


def server_problem(text: str) -> str | None:
    """Why PanDA's server cannot turn the condition into iDDS conditions, or None when it can.

    The server reads a condition its own way (`pcwl_utils.parse_condition_string`: innermost groups
    first, then a left-to-right fold without precedence) and converts the result in
    `workflow_utils.convert_nodes_to_workflow`, which takes two operands at most, each `self.X` or
    `!self.X` (or a group holding one such condition): an operand that is itself an `&&`/`||` fails there
    (KeyError), and so does a negated group `!( ... )` ('int' object is not iterable).
    """
    body = re.sub(r"\$\((?P<aaa>.+)\)", r"\g<aaa>", text.strip())
    groups: dict[str, str] = {}  # placeholder -> "leaf" | "binary" | "not-group"
    while True:
        inner = re.findall(r"\(([^()]+)\)", body)
        if not inner:
            return _fold(body, groups)[1]
        for n, item in enumerate(inner):
            kind, problem = _fold(item, groups)
            if problem:
                return problem
            key = f"___{len(groups)}_{n}___"
            groups[key] = kind
            body = body.replace("(" + item + ")", key)


def _fold(text: str, groups: dict[str, str]) -> tuple[str, str | None]:
    """(what the tokens make: leaf, binary or not-group; the problem of converting it)."""
    text = re.sub(r" *! *", "!", text)
    tokens = text.replace("||", " || ").replace("&&", " && ").split()
    operands: list[str] = []
    for token in tokens:
        if token in ("||", "&&"):
            continue
        name = token[1:] if token.startswith("!") else token
        if name in groups:
            kind = groups[name]
            operands.append("not-group" if token.startswith("!") else kind)
        else:
            operands.append("leaf")
    if any(k == "not-group" for k in operands):
        return "leaf", "a negated group !( ... ) fails in PanDA's server ('int' object is not iterable)"
    if len(operands) > 2 or (len(operands) == 2 and "binary" in operands):
        return "binary", (
            "PanDA's server converts a condition of at most two operands, each self.X or !self.X: more "
            "fail there (KeyError)"
        )
    return ("binary" if len(operands) == 2 else operands[0] if operands else "leaf"), None
