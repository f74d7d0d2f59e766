"""Mamori's own check of the flagd flag-definition format (flagd.dev/schema/v0), naming every problem's path.

It follows the published JSON schema's rules (flags map or array, typed variants, state,
defaultVariant, metadata, JsonLogic targeting with flagd's operations) without needing the schema
files at run time; the tests check that it agrees with the real schema. `semantic_problems` adds
what the schema cannot say (a defaultVariant that is no variant, a `$ref` to no evaluator).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

Problem = tuple[str, str]

JSONLOGIC_OPS = frozenset(
    {
        "var",
        "missing",
        "missing_some",
        "if",
        "==",
        "===",
        "!=",
        "!==",
        "!",
        "!!",
        "or",
        "and",
        ">",
        ">=",
        "<",
        "<=",
        "max",
        "min",
        "+",
        "-",
        "*",
        "/",
        "%",
        "map",
        "filter",
        "reduce",
        "all",
        "none",
        "some",
        "merge",
        "in",
        "cat",
        "substr",
    }
)
FLAGD_OPS = frozenset({"fractional", "sem_ver", "starts_with", "ends_with"})
KNOWN_OPS = JSONLOGIC_OPS | FLAGD_OPS
STATES = ("ENABLED", "DISABLED")


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "array" if isinstance(value, list) else "null"


def _flags_problems(document: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    flags = document.get("flags")
    if "flags" not in document:
        problems.append(("flags", "required field is missing"))
    elif isinstance(flags, dict):
        for key, flag in flags.items():
            problems.extend(_flag_problems(f"flags.{key}", key, flag))
    elif isinstance(flags, list):
        for index, flag in enumerate(flags):
            key = flag.get("key") if isinstance(flag, dict) else None
            if not isinstance(key, str) or not key:
                problems.append((f"flags[{index}].key", "each flag of a flags array needs a non-empty string key"))
            problems.extend(_flag_problems(f"flags[{index}]", key or "x", flag))
    else:
        problems.append(("flags", f"must be an object of flag key -> flag (or an array), not {_kind(flags)}"))
    return problems


def schema_problems(document: Any) -> list[Problem]:
    """Problems the flagd JSON schema would report, as (path, message)."""
    if not isinstance(document, dict):
        return [("", "a flagd document must be an object with 'flags'")]
    problems = _flags_problems(document)
    evaluators = document.get("$evaluators")
    if "$evaluators" in document:
        if not isinstance(evaluators, dict):
            problems.append(("$evaluators", "must be an object of name -> JsonLogic rule"))
        else:
            for name, rule in evaluators.items():
                if not name:
                    problems.append(("$evaluators", "an evaluator name must not be empty"))
                problems.extend(_targeting_problems(f"$evaluators.{name}", rule))
    problems.extend(_metadata_problems("metadata", document.get("metadata"), flag_set="metadata" in document))
    return problems


def _flag_problems(loc: str, key: str, flag: Any) -> list[Problem]:
    if not key:
        return [(loc, "a flag key must not be empty")]
    if not isinstance(flag, dict):
        return [(loc, f"a flag must be an object, not {_kind(flag)}")]
    problems: list[Problem] = []
    if "state" not in flag:
        problems.append((f"{loc}.state", "required field is missing"))
    elif flag["state"] not in STATES:
        problems.append((f"{loc}.state", f"must be ENABLED or DISABLED, not {flag['state']!r}"))
    variants = flag.get("variants")
    if "variants" not in flag:
        problems.append((f"{loc}.variants", "required field is missing"))
    elif not isinstance(variants, dict) or not variants:
        problems.append((f"{loc}.variants", "must be a non-empty object of variant name -> value"))
    else:
        problems.extend(_variant_problems(f"{loc}.variants", variants))
    default = flag.get("defaultVariant")
    if default is not None and not isinstance(default, str):
        problems.append((f"{loc}.defaultVariant", f"must be a variant name (string) or null, not {_kind(default)}"))
    if "targeting" in flag:
        problems.extend(_targeting_problems(f"{loc}.targeting", flag["targeting"]))
    problems.extend(_metadata_problems(f"{loc}.metadata", flag.get("metadata"), flag_set=False))
    return problems


def _variant_problems(loc: str, variants: dict[str, Any]) -> list[Problem]:
    if "" in variants:
        return [(loc, "a variant name must not be empty")]
    kinds = {_kind(v) for v in variants.values()}
    if kinds - {"boolean", "number", "string", "object"}:
        bad = sorted(kinds - {"boolean", "number", "string", "object"})
        return [(loc, f"variant values must be booleans, numbers, strings or objects, not {', '.join(bad)}")]
    if len(kinds) > 1:
        return [(loc, f"all variants of a flag must have one type; found {', '.join(sorted(kinds))}")]
    return []


def _metadata_problems(loc: str, metadata: Any, *, flag_set: bool) -> list[Problem]:
    if metadata is None:
        return [(loc, "must be an object")] if flag_set else []
    if not isinstance(metadata, dict):
        return [(loc, "must be an object of key -> string, number or boolean")]
    return [
        (f"{loc}.{key}", f"must be a string, number or boolean, not {_kind(value)}")
        for key, value in metadata.items()
        if _kind(value) not in ("string", "number", "boolean")
    ]


def _targeting_problems(loc: str, rule: Any) -> list[Problem]:
    if not isinstance(rule, dict):
        return [(loc, f"targeting must be a JsonLogic object, not {_kind(rule)}")]
    if not rule:
        return []
    return list(_rule_problems(loc, rule, top=True))


_ARITY: dict[str, tuple[int, int | None]] = {
    **dict.fromkeys(
        ("==", "===", "!=", "!==", ">", ">=", "%", "/", "map", "filter", "all", "none", "some", "in"), (2, 2)
    ),
    **dict.fromkeys(("if", "or", "and", "+", "-", "max", "min", "merge", "cat"), (1, None)),
    "*": (2, None),
    **dict.fromkeys(("substr", "<", "<="), (2, 3)),
    "reduce": (3, 3),
}
_SEMVER_OPS = ("=", "!=", ">", "<", ">=", "<=", "~", "^")


def _rule_problems(loc: str, rule: Any, *, top: bool = False, ref_ok: bool = False) -> Iterator[Problem]:
    """Problems of one rule (an object with one operation); `ref_ok` where the schema allows `$ref`."""
    if not isinstance(rule, dict) or len(rule) != 1:
        found = ", ".join(sorted(rule)) if isinstance(rule, dict) else _kind(rule)
        yield (loc, f"expected a JsonLogic rule with exactly one operation; found {found or 'none'}")
        return
    op, args = next(iter(rule.items()))
    if op == "$ref":
        if top or not ref_ok or not isinstance(args, str):
            yield (loc, "$ref must name an evaluator and may only stand where a value is expected")
        return
    check = _SHAPES.get(op)
    if check is not None:
        yield from check(f"{loc}.{op}", args)
    elif op in ("!", "!!"):
        if isinstance(args, list) and len(args) != 1:
            yield (f"{loc}.{op}", "takes exactly one argument")
        else:
            yield from _arg_problems(f"{loc}.{op}", args[0] if isinstance(args, list) else args)
    elif op in _ARITY:
        yield from _list_args(f"{loc}.{op}", args, *_ARITY[op])
    else:
        yield (loc, f"unknown operation {op!r}; expected a JsonLogic or flagd operation")


def _arg_problems(loc: str, arg: Any) -> Iterator[Problem]:
    if isinstance(arg, dict):
        yield from _rule_problems(loc, arg, ref_ok=True)


def _list_args(loc: str, args: Any, low: int, high: int | None) -> Iterator[Problem]:
    if not isinstance(args, list) or len(args) < low or (high is not None and len(args) > high):
        want = f"{low}" if low == high else f"{low} or more" if high is None else f"{low} to {high}"
        yield (loc, f"takes {want} arguments in a list")
        return
    for index, arg in enumerate(args):
        yield from _arg_problems(f"{loc}[{index}]", arg)


def _var_shape(loc: str, args: Any) -> Iterator[Problem]:
    if isinstance(args, str):
        if args.startswith("$flagd.") and args not in ("$flagd.timestamp", "$flagd.flagKey"):
            yield (loc, "the $flagd context only has flagKey and timestamp")
    elif isinstance(args, list):
        if not args or not isinstance(args[0], str) or any(isinstance(a, list | dict) for a in args[1:]):
            yield (loc, "var takes a path string, optionally followed by a default value")
    else:
        yield (loc, "var takes a path string (or [path, default])")


def _missing_shape(loc: str, args: Any) -> Iterator[Problem]:
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        yield (loc, "missing takes a list of path strings")


def _missing_some_shape(loc: str, args: Any) -> Iterator[Problem]:
    ok = isinstance(args, list) and len(args) == 2 and _kind(args[0]) == "number" and isinstance(args[1], list)
    if not ok or not all(isinstance(a, str) for a in args[1]):
        yield (loc, "missing_some takes [minimum count, [path strings]]")


def _string_compare_shape(loc: str, args: Any) -> Iterator[Problem]:
    if not isinstance(args, list) or len(args) != 2:
        yield (loc, "takes exactly two arguments: a string (or rule) and a string")
        return
    for index, arg in enumerate(args):
        if isinstance(arg, dict):
            yield from _rule_problems(f"{loc}[{index}]", arg)
        elif not isinstance(arg, str):
            yield (f"{loc}[{index}]", f"must be a string or a rule, not {_kind(arg)}")


def _sem_ver_shape(loc: str, args: Any) -> Iterator[Problem]:
    if not isinstance(args, list) or len(args) != 3:
        yield (loc, "takes exactly three arguments: version, operator, version")
        return
    if args[1] not in _SEMVER_OPS:
        yield (f"{loc}[1]", f"operator must be one of {' '.join(_SEMVER_OPS)}, not {args[1]!r}")
    for index in (0, 2):
        arg = args[index]
        if isinstance(arg, dict) and set(arg) == {"var"}:
            yield from _var_shape(f"{loc}[{index}].var", arg["var"])
        elif not isinstance(arg, str) or not _SEMVER.match(arg):
            yield (f"{loc}[{index}]", f"must be a full semantic version (MAJOR.MINOR.PATCH) or a var, not {arg!r}")


def _weight_problems(loc: str, bucket: Any) -> Iterator[Problem]:
    if not isinstance(bucket, list) or not 1 <= len(bucket) <= 2:
        yield (loc, "a bucket is [variant] or [variant, weight]")
        return
    yield from _arg_problems(f"{loc}[0]", bucket[0])
    if len(bucket) == 2:
        weight = bucket[1]
        if isinstance(weight, dict):
            yield from _rule_problems(f"{loc}[1]", weight)
        elif isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
            yield (f"{loc}[1]", f"a weight must be a non-negative integer (or a rule), not {weight!r}")


def _fractional_shape(loc: str, args: Any) -> Iterator[Problem]:
    if not isinstance(args, list) or not args:
        yield (loc, "takes an optional bucketing rule followed by [variant, weight] buckets")
        return
    if isinstance(args[0], dict):
        yield from _rule_problems(f"{loc}[0]", args[0])
        buckets = list(enumerate(args))[1:]
    else:
        buckets = list(enumerate(args))
    for index, bucket in buckets:
        yield from _weight_problems(f"{loc}[{index}]", bucket)


_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_SHAPES: dict[str, Callable[[str, Any], Iterator[Problem]]] = {
    "var": _var_shape,
    "missing": _missing_shape,
    "missing_some": _missing_some_shape,
    "starts_with": _string_compare_shape,
    "ends_with": _string_compare_shape,
    "sem_ver": _sem_ver_shape,
    "fractional": _fractional_shape,
}


def refs(rule: Any) -> Iterator[tuple[str, str]]:
    """Every `$ref` name in a rule, with its path."""
    stack: list[tuple[str, Any]] = [("", rule)]
    while stack:
        loc, node = stack.pop()
        if isinstance(node, list):
            stack.extend((f"{loc}[{i}]", item) for i, item in enumerate(node))
        elif isinstance(node, dict):
            if len(node) == 1 and isinstance(node.get("$ref"), str):
                yield loc, node["$ref"]
            else:
                stack.extend((f"{loc}.{k}", v) for k, v in node.items())


def normalize(document: dict[str, Any]) -> dict[str, Any]:
    """A flags array (allowed by the daemon's schema) becomes the map form that providers read."""
    flags = document.get("flags")
    if isinstance(flags, list):
        mapped = {f["key"]: {k: v for k, v in f.items() if k != "key"} for f in flags if isinstance(f, dict)}
        return {**document, "flags": mapped}
    return document


def semantic_problems(document: dict[str, Any]) -> list[Problem]:
    """Beyond the schema: every defaultVariant is a variant and every `$ref` names an evaluator."""
    problems: list[Problem] = []
    evaluators = document.get("$evaluators") or {}
    flags = document.get("flags") or {}
    for key, flag in flags.items():
        default = flag.get("defaultVariant")
        if isinstance(default, str) and default and default not in (flag.get("variants") or {}):
            problems.append(
                (
                    f"flags.{key}.defaultVariant",
                    f"{default!r} is not one of the variants ({', '.join(flag.get('variants') or {})})",
                )
            )
        for loc, name in refs(flag.get("targeting")):
            if name not in evaluators:
                problems.append((f"flags.{key}.targeting{loc}", f"$ref {name!r} names no entry of $evaluators"))
    return problems


def problems(document: Any) -> list[Problem]:
    """Schema problems first; when the structure is sound, the semantic ones."""
    found = schema_problems(document)
    return found or semantic_problems(normalize(document))
