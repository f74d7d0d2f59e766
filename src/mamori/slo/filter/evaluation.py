"""Evaluating a parsed filter against an event: `matches` walks the tree, `compile_node` makes closures. No I/O."""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from mamori.slo.filter.syntax import MISSING, Compare, InList, Like, Node, Not, Predicate, Value, parse

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
    if left is MISSING:
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
        found = left is not MISSING and any(_compare(left, "=", v) for v in node.values)
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
        return lambda event: event.get(name, MISSING)

    def get(event: Mapping[str, Any]) -> Any:
        current: Any = event
        for part in path:
            if not isinstance(current, dict) or part not in current:
                return MISSING
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
            if left is MISSING:
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
