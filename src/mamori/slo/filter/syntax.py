"""The filter language's syntax: tokens, the syntax tree and the parser (see `mamori.slo.filter`). No I/O."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mamori.slo.filter.like import LikePattern

Value = str | int | float | bool | None
Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_][A-Za-z0-9_\-]*)*)
    """,
    re.VERBOSE,
)
_KEYWORDS = {"AND", "OR", "NOT", "IN", "LIKE", "TRUE", "FALSE", "NULL"}
MAX_FILTER_LENGTH = 4000


class FilterError(ValueError):
    """A filter that cannot be parsed; `position` is the 1-based character where the problem is."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(f"at position {position}: {message}")
        self.position = position
        self.reason = message


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    pos: int  # 1-based


def tokenize(text: str) -> list[Token]:
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"filter is longer than {MAX_FILTER_LENGTH} characters", 1)
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            if text[pos] == "'":
                raise FilterError("unterminated string (strings are 'single-quoted')", pos + 1)
            if text[pos] == '"':
                raise FilterError("double quotes are not allowed; quote strings with single quotes", pos + 1)
            raise FilterError(f"unexpected character {text[pos]!r}", pos + 1)
        kind = match.lastgroup or ""
        if kind != "ws":
            value = match.group()
            if kind == "name" and value.upper() in _KEYWORDS:
                kind = value.upper()
            tokens.append(Token(kind, value, pos + 1))
        pos = match.end()
    tokens.append(Token("end", "", len(text) + 1))
    return tokens


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]

    def get(self, event: Mapping[str, Any]) -> Any:
        current: Any = event
        for part in self.path:
            if not isinstance(current, Mapping) or part not in current:
                return MISSING
            current = current[part]
        return current


MISSING = object()


@dataclass(frozen=True)
class Compare:
    field: Field
    op: str
    value: Value


@dataclass(frozen=True)
class InList:
    field: Field
    values: tuple[Value, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    field: Field
    pattern: LikePattern
    negated: bool


@dataclass(frozen=True)
class Not:
    inner: Node


@dataclass(frozen=True)
class BoolOp:
    op: str  # "AND" | "OR"
    parts: tuple[Node, ...]


Node = Compare | InList | Like | Not | BoolOp


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self, kind: str, what: str) -> Token:
        token = self.tok
        if token.kind != kind:
            found = "end of filter" if token.kind == "end" else repr(token.text)
            raise FilterError(f"expected {what}, found {found}", token.pos)
        self.i += 1
        return token

    def parse(self) -> Node:
        if self.tok.kind == "end":
            raise FilterError("the filter is empty", 1)
        node = self.or_()
        if self.tok.kind != "end":
            raise FilterError(f"expected AND, OR or the end of the filter, found {self.tok.text!r}", self.tok.pos)
        return node

    def or_(self) -> Node:
        parts = [self.and_()]
        while self.tok.kind == "OR":
            self.i += 1
            parts.append(self.and_())
        return parts[0] if len(parts) == 1 else BoolOp("OR", tuple(parts))

    def and_(self) -> Node:
        parts = [self.not_()]
        while self.tok.kind == "AND":
            self.i += 1
            parts.append(self.not_())
        return parts[0] if len(parts) == 1 else BoolOp("AND", tuple(parts))

    def not_(self) -> Node:
        if self.tok.kind == "NOT":
            self.i += 1
            return Not(self.not_())
        return self.primary()

    def primary(self) -> Node:
        if self.tok.kind == "lparen":
            self.i += 1
            node = self.or_()
            self.take("rparen", "')'")
            return node
        name = self.take("name", "a field name, NOT or '('")
        field = Field(tuple(name.text.split(".")))
        negated = False
        if self.tok.kind == "NOT":
            negated = True
            self.i += 1
            if self.tok.kind not in ("IN", "LIKE"):
                raise FilterError(
                    f"expected IN or LIKE after NOT, found {self.tok.text or 'end of filter'!r}", self.tok.pos
                )
        if self.tok.kind == "IN":
            self.i += 1
            return InList(field, self.value_list(), negated)
        if self.tok.kind == "LIKE":
            self.i += 1
            pattern = self.take("string", "a quoted pattern after LIKE")
            return Like(field, _like_regex(_unquote(pattern.text)), negated)
        op = self.take("op", "a comparison (= != < <= > >=), IN or LIKE")
        return Compare(field, "!=" if op.text == "<>" else op.text, self.value())

    def value_list(self) -> tuple[Value, ...]:
        self.take("lparen", "'(' after IN")
        values = [self.value()]
        while self.tok.kind == "comma":
            self.i += 1
            values.append(self.value())
        self.take("rparen", "',' or ')' in the IN list")
        return tuple(values)

    def value(self) -> Value:
        token = self.tok
        self.i += 1
        if token.kind == "string":
            return _unquote(token.text)
        if token.kind == "number":
            number = float(token.text)
            return int(number) if re.fullmatch(r"-?\d+", token.text) else number
        if token.kind in ("TRUE", "FALSE"):
            return token.kind == "TRUE"
        if token.kind == "NULL":
            return None
        self.i -= 1
        found = "end of filter" if token.kind == "end" else repr(token.text)
        hint = " (quote strings with single quotes)" if token.kind == "name" else ""
        raise FilterError(f"expected a value, found {found}{hint}", token.pos)


def _unquote(text: str) -> str:
    return text[1:-1].replace("''", "'")


def _like_regex(pattern: str) -> LikePattern:
    return LikePattern(pattern)


def parse(text: str) -> Node:
    """Parse a filter; raises FilterError naming the position and what was expected."""
    return _Parser(text).parse()


def fields(node: Node) -> set[str]:
    """The dotted field names a filter reads (for documentation and checks)."""
    if isinstance(node, Compare | InList | Like):
        return {".".join(node.field.path)}
    if isinstance(node, Not):
        return fields(node.inner)
    return set().union(*(fields(p) for p in node.parts))
