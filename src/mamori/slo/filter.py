"""The event filter language of `metricSource.spec.filter`: parsed once at apply time, evaluated in Python.

Grammar (keywords case-insensitive)::

    expr    := or
    or      := and ("OR" and)*
    and     := not ("AND" not)*
    not     := "NOT" not | primary
    primary := "(" expr ")" | name op value | name ["NOT"] "IN" "(" value ("," value)* ")"
               | name ["NOT"] "LIKE" string
    op      := "=" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    value   := 'single-quoted string' ('' escapes a quote) | number | TRUE | FALSE | NULL
    name    := identifier ("." identifier)*      (dotted names reach into nested objects)

A comparison with a missing field or with values of different types is false (SQL-like), never an error,
so one odd event cannot stop ingest. `LIKE` uses `%` (any run) and `_` (one character).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

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


# -- the syntax tree ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Field:
    path: tuple[str, ...]

    def get(self, event: Mapping[str, Any]) -> Any:
        current: Any = event
        for part in self.path:
            if not isinstance(current, Mapping) or part not in current:
                return _MISSING
            current = current[part]
        return current


_MISSING = object()


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
    pattern: re.Pattern[str]
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


def _like_regex(pattern: str) -> re.Pattern[str]:
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(out, re.DOTALL)


def parse(text: str) -> Node:
    """Parse a filter; raises FilterError naming the position and what was expected."""
    return _Parser(text).parse()


# -- evaluation -----------------------------------------------------------------------------------------------------


_OPERATORS: dict[str, Callable[[Any, Any], Any]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _comparable(left: Any, right: Value) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool)
    numeric = (int, float)
    return (isinstance(left, numeric) and isinstance(right, numeric)) or (
        isinstance(left, str) and isinstance(right, str)
    )


def _compare(left: Any, op: str, right: Value) -> bool:
    if left is _MISSING:
        return op == "!=" and right is not None
    if right is None or left is None:
        if op == "=":
            return left is None and right is None
        return op == "!=" and (left is None) != (right is None)
    if not _comparable(left, right):
        # A status sent as "500" still matches status = 500: numbers in strings compare as numbers.
        if isinstance(left, str) and isinstance(right, int | float) and not isinstance(right, bool):
            try:
                left = float(left)
            except ValueError:
                return op == "!="
        else:
            return op == "!="
    return bool(_OPERATORS[op](left, right))


def matches(node: Node, event: Mapping[str, Any]) -> bool:
    if isinstance(node, Compare):
        return _compare(node.field.get(event), node.op, node.value)
    if isinstance(node, InList):
        left = node.field.get(event)
        found = left is not _MISSING and any(_compare(left, "=", v) for v in node.values)
        return found != node.negated
    if isinstance(node, Like):
        left = node.field.get(event)
        hit = isinstance(left, str) and node.pattern.fullmatch(left) is not None
        return hit != node.negated
    if isinstance(node, Not):
        return not matches(node.inner, event)
    if node.op == "AND":
        return all(matches(p, event) for p in node.parts)
    return any(matches(p, event) for p in node.parts)


def _getter(path: tuple[str, ...]) -> Callable[[Mapping[str, Any]], Any]:
    # Events are parsed JSON, so plain dicts: isinstance(dict) is much cheaper than the Mapping ABC.
    if len(path) == 1:
        name = path[0]
        return lambda event: event.get(name, _MISSING)

    def get(event: Mapping[str, Any]) -> Any:
        current: Any = event
        for part in path:
            if not isinstance(current, dict) or part not in current:
                return _MISSING
            current = current[part]
        return current

    return get


def _compile_compare(node: Compare) -> Predicate:
    get, op, value = _getter(node.field.path), node.op, node.value
    fn = _OPERATORS[op]
    if isinstance(value, int | float) and not isinstance(value, bool):

        def numeric(event: Mapping[str, Any]) -> bool:
            left = get(event)
            if type(left) is int or type(left) is float:
                return bool(fn(left, value))
            return _compare(left, op, value)

        return numeric
    if isinstance(value, str):

        def text(event: Mapping[str, Any]) -> bool:
            left = get(event)
            if type(left) is str:
                return bool(fn(left, value))
            return _compare(left, op, value)

        return text
    return lambda event: _compare(get(event), op, value)


def compile_node(node: Node) -> Predicate:
    """A closure per node: the same results as `matches`, without walking the tree for each event."""
    if isinstance(node, Compare):
        return _compile_compare(node)
    if isinstance(node, InList):
        get, values, negated = _getter(node.field.path), node.values, node.negated
        plain = frozenset(v for v in values if isinstance(v, str | int) and not isinstance(v, bool))

        def in_list(event: Mapping[str, Any]) -> bool:
            left = get(event)
            if left is _MISSING:
                return negated
            if (type(left) is str or type(left) is int) and left in plain:
                return not negated
            return any(_compare(left, "=", v) for v in values) != negated

        return in_list
    if isinstance(node, Like):
        get, pattern, negated = _getter(node.field.path), node.pattern, node.negated
        return lambda event: (isinstance(left := get(event), str) and pattern.fullmatch(left) is not None) != negated
    if isinstance(node, Not):
        inner = compile_node(node.inner)
        return lambda event: not inner(event)
    parts = [compile_node(p) for p in node.parts]
    if node.op == "AND":
        return lambda event: all(p(event) for p in parts)
    return lambda event: any(p(event) for p in parts)


def compile_filter(text: str | None) -> Predicate:
    """A predicate over events; None or an empty filter matches every event."""
    if text is None or not text.strip():
        return lambda _event: True
    return compile_node(parse(text))


def fields(node: Node) -> set[str]:
    """The dotted field names a filter reads (for documentation and checks)."""
    if isinstance(node, Compare | InList | Like):
        return {".".join(node.field.path)}
    if isinstance(node, Not):
        return fields(node.inner)
    return set().union(*(fields(p) for p in node.parts))


FieldUses = dict[tuple[str, ...], "frozenset[int | float] | str | None"]
"""For each field a filter reads, what it is compared with: a set of numeric constants it is only ordered
against; TEXT when only compared with strings (=, !=, IN, LIKE; then every non-string value gives the same
result); or None when the raw value and its type matter."""

TEXT = "text"


def merge_uses(into: FieldUses, other: FieldUses) -> None:
    for path, use in other.items():
        if path not in into:
            into[path] = use
            continue
        mine = into[path]
        if isinstance(mine, frozenset) and isinstance(use, frozenset):
            into[path] = mine | use
        elif mine == TEXT and use == TEXT:
            into[path] = TEXT
        else:
            into[path] = None


def field_uses(node: Node) -> FieldUses:
    """What each field read by `node` is compared with (see FieldUses): lets ingest group equivalent events."""
    out: FieldUses = {}
    if isinstance(node, Compare):
        value = node.value
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[node.field.path] = frozenset({value})
        else:
            out[node.field.path] = TEXT if isinstance(value, str) else None
    elif isinstance(node, InList):
        out[node.field.path] = TEXT if all(isinstance(v, str) for v in node.values) else None
    elif isinstance(node, Like):
        out[node.field.path] = TEXT
    elif isinstance(node, Not):
        merge_uses(out, field_uses(node.inner))
    else:
        for part in node.parts:
            merge_uses(out, field_uses(part))
    return out


def filter_uses(text: str | None) -> FieldUses:
    if text is None or not text.strip():
        return {}
    return field_uses(parse(text))
