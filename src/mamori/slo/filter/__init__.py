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

from mamori.slo.filter.evaluation import compile_filter, compile_node, matches
from mamori.slo.filter.syntax import (
    MAX_FILTER_LENGTH,
    BoolOp,
    Compare,
    Field,
    FilterError,
    InList,
    Like,
    Node,
    Not,
    Predicate,
    Token,
    Value,
    fields,
    parse,
    tokenize,
)
from mamori.slo.filter.uses import TEXT, FieldUses, field_uses, filter_uses, merge_uses

__all__ = [
    "MAX_FILTER_LENGTH",
    "TEXT",
    "BoolOp",
    "Compare",
    "Field",
    "FieldUses",
    "FilterError",
    "InList",
    "Like",
    "Node",
    "Not",
    "Predicate",
    "Token",
    "Value",
    "compile_filter",
    "compile_node",
    "field_uses",
    "fields",
    "filter_uses",
    "matches",
    "merge_uses",
    "parse",
    "tokenize",
]
