"""A JsonLogic compiler: turns a rule (parsed JSON) into a Python closure once, evaluated many times.

Semantics follow the JsonLogic reference (jsonlogic.com) with JavaScript-like coercions, as the
flagd family of evaluators implements them. Operations unknown at compile time compile to a
closure that raises `UnknownOperation` only when reached, so that an untaken branch with a typo
behaves as it does in flagd (the rule is a parse error only when evaluated).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from mamori.flags.jscoerce import NAN, Data, compare_values, lookup, loose_equals, to_number, to_string, truthy

Compiled = Callable[[Data], Any]
CustomOp = Callable[[Data, list[Any]], Any]
"""A custom operation receives the data and its already-evaluated arguments."""
CustomCompiler = Callable[[list[Compiled], list[Any]], Compiled | None]
"""Specialises a custom operation at compile time from its argument closures and constant values
(`NOT_CONSTANT` where an argument depends on the data); None falls back to the generic form."""


class _NotConstant:
    def __repr__(self) -> str:
        return "NOT_CONSTANT"


NOT_CONSTANT: Any = _NotConstant()


class UnknownOperation(Exception):
    """A rule names an operation that does not exist (or a `$ref` that was not resolved)."""


# --- operations on evaluated arguments -------------------------------------------------------


def _lt(a: Any, b: Any) -> bool:
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    return bool(a >= b)


def _chain(op: Callable[[Any, Any], bool]) -> Callable[[list[Any]], bool]:
    def run(args: list[Any]) -> bool:
        a, b, c = [*args, None, None, None][:3]
        if c is None:
            return compare_values(a, b, op)
        return compare_values(a, b, op) and compare_values(b, c, op)

    return run


def _arg(args: list[Any], index: int) -> Any:
    return args[index] if len(args) > index else None


def _minus(args: list[Any]) -> float | int:
    if _arg(args, 1) is None:
        return -to_number(_arg(args, 0))
    return to_number(args[0]) - to_number(args[1])


def _in(args: list[Any]) -> bool:
    needle, haystack = _arg(args, 0), _arg(args, 1)
    if isinstance(haystack, list):
        return needle in haystack
    if isinstance(haystack, str):
        return to_string(needle) in haystack
    return False


def _merge(args: list[Any]) -> list[Any]:
    out: list[Any] = []
    for arg in args:
        out.extend(arg) if isinstance(arg, list) else out.append(arg)
    return out


def _substr(args: list[Any]) -> str:
    text = to_string(_arg(args, 0))
    start = to_number(_arg(args, 1))
    size = len(text)
    index = 0 if math.isnan(start) else int(start)
    if index < 0:
        index = max(size + index, 0)
    index = min(index, size)
    length = _arg(args, 2)
    if length is None:
        return text[index:]
    count = to_number(length)
    if math.isnan(count):
        return ""
    end = size + int(count) if count < 0 else index + int(count)
    return text[index : max(end, index)]


def _product(args: list[Any]) -> float | int:
    value: float | int = 1
    for arg in args:
        value *= to_number(arg)
    return value


SIMPLE_OPS: dict[str, Callable[[list[Any]], Any]] = {
    "==": lambda a: loose_equals(_arg(a, 0), _arg(a, 1)),
    "!=": lambda a: not loose_equals(_arg(a, 0), _arg(a, 1)),
    "===": lambda a: _arg(a, 0) == _arg(a, 1),
    "!==": lambda a: _arg(a, 0) != _arg(a, 1),
    "<": _chain(_lt),
    "<=": _chain(_le),
    ">": _chain(_gt),
    ">=": _chain(_ge),
    "!": lambda a: not truthy(_arg(a, 0)),
    "!!": lambda a: truthy(_arg(a, 0)),
    "+": lambda a: sum((to_number(x) for x in a), 0),
    "*": _product,
    "-": _minus,
    "/": lambda a: to_number(_arg(a, 0)) / to_number(_arg(a, 1)),
    "%": lambda a: to_number(_arg(a, 0)) % to_number(_arg(a, 1)),
    "in": _in,
    "min": lambda a: min(to_number(x) for x in a) if a else NAN,
    "max": lambda a: max(to_number(x) for x in a) if a else NAN,
    "cat": lambda a: "".join(to_string(x) for x in a),
    "merge": _merge,
    "substr": _substr,
}


class Compiler:
    """Compiles rules; `custom` adds operations such as flagd's `fractional` or `sem_ver`."""

    def __init__(
        self,
        custom: Mapping[str, CustomOp] | None = None,
        compilers: Mapping[str, CustomCompiler] | None = None,
        reads: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self.custom = dict(custom or {})
        self.compilers = dict(compilers or {})
        # What each custom operation reads of the data (top-level names); an operation not listed may read anything.
        self.custom_reads = dict(reads or {})
        self.reads: set[str] | None = set()
        """Top-level names of the data that the rules compiled since `track()` may read; None: anything."""
        # id -> (closure, value); holding the closure keeps its id from being reused by another object.
        self._constants: dict[int, tuple[Compiled, Any]] = {}

    def track(self) -> None:
        """Start recording what the next compiled rules read of their data (see `reads`)."""
        self.reads = set()

    def _reads(self, names: frozenset[str] | None) -> None:
        if names is None or self.reads is None:
            self.reads = None
        else:
            self.reads.update(names)

    def constant(self, fn: Compiled) -> Any:
        """The value of a closure that does not depend on the data, else NOT_CONSTANT."""
        entry = self._constants.get(id(fn))
        return entry[1] if entry is not None and entry[0] is fn else NOT_CONSTANT

    def _const(self, value: Any) -> Compiled:
        def fn(_data: Data) -> Any:
            return value

        self._constants[id(fn)] = (fn, value)
        return fn

    def compile(self, rule: Any) -> Compiled:
        if isinstance(rule, list):
            parts = [self.compile(item) for item in rule]
            values = [self.constant(p) for p in parts]
            if all(v is not NOT_CONSTANT for v in values):
                return self._const(values)
            return lambda data: [part(data) for part in parts]
        if not isinstance(rule, dict) or len(rule) != 1:
            return self._const(rule)
        op, raw_args = next(iter(rule.items()))
        args = raw_args if isinstance(raw_args, list) else [raw_args]
        special = _SPECIAL.get(op)
        if special is not None:
            return special(self, args)
        compiled = [self.compile(arg) for arg in args]
        if op == "var":
            return self._var(compiled)
        if op in ("missing", "missing_some"):
            return self._missing(op, compiled)
        simple = SIMPLE_OPS.get(op)
        if simple is not None:
            return lambda data: simple([arg(data) for arg in compiled])
        if op in self.custom or op in self.compilers:
            self._reads(self.custom_reads.get(op))
        compiler = self.compilers.get(op)
        if compiler is not None:
            special_fn = compiler(compiled, [self.constant(c) for c in compiled])
            if special_fn is not None:
                return special_fn
        custom = self.custom.get(op)
        if custom is not None:
            return lambda data: custom(data, [arg(data) for arg in compiled])
        return _raiser(op)

    def _var(self, compiled: list[Compiled]) -> Compiled:
        if len(compiled) == 1:
            key_fn = compiled[0]
            key = self.constant(key_fn)
            if isinstance(key, str) and key:
                self._reads(frozenset((key.split(".")[0],)))
                if "." not in key:
                    return _plain_var(key)
            else:
                self._reads(None)
            return lambda data: lookup(data, key_fn(data))
        self._reads(None)
        if not compiled:
            return lambda data: data
        key_fn, default_fn = compiled[0], compiled[1]
        return lambda data: lookup(data, key_fn(data), default_fn(data))

    def _missing(self, op: str, compiled: list[Compiled]) -> Compiled:
        self._reads(None)

        def missing(data: Data, keys: list[Any]) -> list[Any]:
            return [k for k in keys if lookup(data, k) in (None, "")]

        if op == "missing":

            def run(data: Data) -> list[Any]:
                values = [arg(data) for arg in compiled]
                keys = values[0] if values and isinstance(values[0], list) else values
                return missing(data, keys)

            return run

        def run_some(data: Data) -> list[Any]:
            values = [arg(data) for arg in compiled]
            need, keys = _arg(values, 0), _arg(values, 1)
            if not isinstance(keys, list):
                return []
            absent = missing(data, keys)
            return [] if len(keys) - len(absent) >= to_number(need) else absent

        return run_some


def _plain_var(key: str) -> Compiled:
    """`var` of a constant top-level key: the common case, without path parsing."""

    def run(data: Data) -> Any:
        if isinstance(data, dict):
            return data.get(key)
        return lookup(data, key)

    return run


def _raiser(op: str) -> Compiled:
    def run(_data: Data) -> Any:
        raise UnknownOperation(f"unrecognized operation {op!r}")

    return run


def _compile_if(c: Compiler, args: list[Any]) -> Compiled:
    parts = [c.compile(arg) for arg in args]
    if len(parts) == 3:
        cond, then, other = parts
        then_value, other_value = c.constant(then), c.constant(other)
        if then_value is not NOT_CONSTANT and other_value is not NOT_CONSTANT:
            # The usual targeting rule ("if this, variant A, else B"): no calls for the constant branches.
            return lambda data: then_value if truthy(cond(data)) else other_value
        return lambda data: then(data) if truthy(cond(data)) else other(data)
    if len(parts) == 2:
        cond2, then2 = parts
        return lambda data: then2(data) if truthy(cond2(data)) else None

    def run(data: Data) -> Any:
        index, last = 0, len(parts) - 1
        while index < last:
            if truthy(parts[index](data)):
                return parts[index + 1](data)
            index += 2
        return parts[index](data) if index == last else None

    return run


def _compile_and(c: Compiler, args: list[Any]) -> Compiled:
    parts = [c.compile(arg) for arg in args]

    def run(data: Data) -> Any:
        current = None
        for part in parts:
            current = part(data)
            if not truthy(current):
                return current
        return current

    return run


def _compile_or(c: Compiler, args: list[Any]) -> Compiled:
    parts = [c.compile(arg) for arg in args]

    def run(data: Data) -> Any:
        current = None
        for part in parts:
            current = part(data)
            if truthy(current):
                return current
        return current

    return run


def _compile_array_op(name: str) -> Callable[[Compiler, list[Any]], Compiled]:
    def build(c: Compiler, args: list[Any]) -> Compiled:
        items_fn = c.compile(args[0]) if args else (lambda _d: None)
        sub = c.compile(args[1]) if len(args) > 1 else (lambda _d: None)
        init = args[2] if len(args) > 2 else None

        def run(data: Data) -> Any:
            items = items_fn(data)
            if not isinstance(items, list):
                return {"map": [], "filter": [], "all": False, "some": False, "none": True, "reduce": init}[name]
            if name == "map":
                return [sub(item) for item in items]
            if name == "filter":
                return [item for item in items if truthy(sub(item))]
            if name == "all":
                return bool(items) and all(truthy(sub(item)) for item in items)
            if name == "some":
                return any(truthy(sub(item)) for item in items)
            if name == "none":
                return not any(truthy(sub(item)) for item in items)
            acc = init
            for item in items:
                acc = sub({"current": item, "accumulator": acc})
            return acc

        if len(args) < 2 and name in ("all", "some", "none"):
            return lambda _d: name == "none"
        return run

    return build


_SPECIAL: dict[str, Callable[[Compiler, list[Any]], Compiled]] = {
    "if": _compile_if,
    "?:": _compile_if,
    "and": _compile_and,
    "or": _compile_or,
    **{name: _compile_array_op(name) for name in ("map", "filter", "reduce", "all", "some", "none")},
}
