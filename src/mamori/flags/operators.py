"""flagd's custom JsonLogic operations: `fractional` (two bucketing schemes), `sem_ver`, `starts_with`, `ends_with`.

Each operation receives the evaluation data and its evaluated arguments, and returns None on bad
input so that targeting falls back to the default variant (flagd's behaviour since issue #1874).
"""

from __future__ import annotations

import logging
import re
import struct
from collections.abc import Callable
from typing import Any, Literal

import cbor2
import mmh3

from mamori.flags.jsonlogic import NOT_CONSTANT, Compiled, CustomCompiler, CustomOp

logger = logging.getLogger(__name__)

FractionalScheme = Literal["cbor", "legacy"]
SCHEMES: tuple[FractionalScheme, ...] = ("cbor", "legacy")
MAX_TOTAL_WEIGHT = 2_147_483_647


# --- deterministic CBOR (RFC 8949 section 4.2) ------------------------------------------------


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes((major << 5 | n,))
    if n < 0x100:
        return bytes((major << 5 | 24, n))
    if n < 0x10000:
        return bytes((major << 5 | 25,)) + struct.pack(">H", n)
    if n < 0x100000000:
        return bytes((major << 5 | 26,)) + struct.pack(">I", n)
    return bytes((major << 5 | 27,)) + struct.pack(">Q", n)


def normalize_numbers(value: Any) -> Any:
    """Integral floats become integers (within 64-bit range), as the fractional ADR requires."""
    if isinstance(value, float) and value.is_integer() and -(2**63) <= value <= 2**64 - 1:
        return int(value)
    if isinstance(value, list | tuple):
        return [normalize_numbers(v) for v in value]
    if isinstance(value, dict):
        return {k: normalize_numbers(v) for k, v in value.items()}
    return value


def cbor_encode(value: Any) -> bytes:
    """Deterministic CBOR: a fast path for strings, integers and arrays; cbor2 for floats and maps."""
    if isinstance(value, str):
        raw = value.encode("utf-8")
        return _head(3, len(raw)) + raw
    if value is True:
        return b"\xf5"
    if value is False:
        return b"\xf4"
    if value is None:
        return b"\xf6"
    if isinstance(value, float) and value.is_integer() and -(2**63) <= value <= 2**64 - 1:
        value = int(value)
    if isinstance(value, int) and -(2**64) <= value < 2**64:
        return _head(0, value) if value >= 0 else _head(1, -1 - value)
    if isinstance(value, list | tuple):
        return _head(4, len(value)) + b"".join(cbor_encode(v) for v in value)
    return bytes(cbor2.dumps(normalize_numbers(value), canonical=True))


# --- fractional ------------------------------------------------------------------------------


def _parse_buckets(args: list[Any], *, integral_floats: bool) -> list[tuple[Any, int]] | None:
    buckets = []
    for arg in args:
        if not isinstance(arg, list) or not arg or len(arg) > 2:
            return None
        weight = 1
        if len(arg) == 2:
            raw = arg[1]
            if isinstance(raw, bool):
                return None
            if isinstance(raw, float) and integral_floats and raw.is_integer():
                raw = int(raw)
            if not isinstance(raw, int):
                return None
            weight = max(0, raw)
        buckets.append((arg[0], weight))
    return buckets


def _pick(buckets: list[tuple[Any, int]], hash_value: int) -> Any:
    total = sum(weight for _, weight in buckets)
    if total <= 0 or total > MAX_TOTAL_WEIGHT:
        return None
    point = (hash_value * total) >> 32
    end = 0
    for variant, weight in buckets:
        end += weight
        if point < end:
            return variant
    return None


def _targeting_key(data: Any) -> str | None:
    key = data.get("targetingKey") if isinstance(data, dict) else None
    return key if isinstance(key, str) and key else None


def _flag_key(data: Any) -> str:
    flagd = data.get("$flagd") if isinstance(data, dict) else None
    key = flagd.get("flagKey", "") if isinstance(flagd, dict) else ""
    return key if isinstance(key, str) else ""


def fractional_cbor(data: Any, args: list[Any]) -> Any:
    """The current ADR: MurmurHash3 (x86, 32 bit, seed 0) of the deterministic CBOR of the bucket key."""
    if not args:
        return None
    if isinstance(args[0], list):
        target = _targeting_key(data)
        if target is None:
            return None
        bucket_by: Any = [_flag_key(data), target]
        rest = args
    else:
        bucket_by, rest = args[0], args[1:]
    if bucket_by is None:
        return None
    buckets = _parse_buckets(rest, integral_floats=False)
    if buckets is None:
        return None
    try:
        encoded = cbor_encode(bucket_by)
    except (cbor2.CBOREncodeError, TypeError, ValueError):
        return None
    return _pick(buckets, mmh3.hash(encoded, signed=False))


def fractional_legacy(data: Any, args: list[Any]) -> Any:
    """The scheme of today's flagd daemons: MurmurHash3 of the UTF-8 string, `(hash * total) >> 32`."""
    if not args:
        return None
    if isinstance(args[0], list):
        target = _targeting_key(data)
        if target is None:
            return None
        bucket_by, rest = _flag_key(data) + target, args
    elif isinstance(args[0], str):
        bucket_by, rest = args[0], args[1:]
    else:
        return None
    buckets = _parse_buckets(rest, integral_floats=True)
    if buckets is None:
        return None
    return _pick(buckets, mmh3.hash(bucket_by.encode("utf-8"), signed=False))


FRACTIONAL: dict[FractionalScheme, CustomOp] = {"cbor": fractional_cbor, "legacy": fractional_legacy}


_TEXT_HEADS = tuple(bytes((0x60 | n,)) for n in range(24))
_MAX_CACHED_KEYS = 1_000
Prefixes = dict[str, list[bytes]]
"""The shorthand prefixes by flag key, kept by one compiled rule (so the cache lives and dies with the
evaluator that holds the rule, not in the module)."""


def _shorthand_prefixes(flag_key: str, cache: Prefixes) -> list[bytes]:
    """The shorthand's constant half, cached per flag key: the CBOR array-of-2 header, the encoded flag key
    and, at index n < 24, the head of a text string of n bytes (index 24: without a text head)."""
    prefixes = cache.get(flag_key)
    if prefixes is None:
        prefix = b"\x82" + cbor_encode(flag_key)
        prefixes = [prefix + head for head in _TEXT_HEADS] + [prefix]
        if len(cache) < _MAX_CACHED_KEYS:
            cache[flag_key] = prefixes
    return prefixes


def _bucket_key_cbor(data: Any, first: Any, cache: Prefixes) -> bytes | None:
    if isinstance(first, list):
        target = _targeting_key(data)
        if target is None:
            return None
        raw = target.encode("utf-8")
        prefixes = _shorthand_prefixes(_flag_key(data), cache)
        size = len(raw)
        return prefixes[size] + raw if size < 24 else prefixes[24] + _head(3, size) + raw
    if first is None:
        return None
    try:
        return cbor_encode(first)
    except (cbor2.CBOREncodeError, TypeError, ValueError):
        return None


def _bucket_key_legacy(data: Any, first: Any, cache: Prefixes) -> bytes | None:
    if isinstance(first, list):
        target = _targeting_key(data)
        return None if target is None else (_flag_key(data) + target).encode("utf-8")
    return first.encode("utf-8") if isinstance(first, str) else None


def _picker(buckets: list[tuple[Any, int]]) -> tuple[int, list[tuple[int, Any]]] | None:
    """The total weight and the cumulative (end, variant) list of constant buckets; None when unusable."""
    total = sum(weight for _, weight in buckets)
    if total <= 0 or total > MAX_TOTAL_WEIGHT:
        return None
    ends, end = [], 0
    for variant, weight in buckets:
        end += weight
        ends.append((end, variant))
    return total, ends


def _shorthand_cbor(total: int, ends: list[tuple[int, Any]]) -> Compiled:
    """`fractional` by targetingKey (the usual rollout) under the CBOR scheme, with the encoding done by hand."""
    hash32 = mmh3.hash
    cache: Prefixes = {}

    def run(data: Any) -> Any:
        if not isinstance(data, dict):
            return None
        target = data.get("targetingKey")
        if not isinstance(target, str) or not target:
            return None
        flagd = data.get("$flagd")
        flag_key = flagd.get("flagKey", "") if isinstance(flagd, dict) else ""
        prefixes = cache.get(flag_key) if type(flag_key) is str else None
        if prefixes is None:
            prefixes = _shorthand_prefixes(flag_key if isinstance(flag_key, str) else "", cache)
        raw = target.encode("utf-8")
        size = len(raw)
        key = prefixes[size] + raw if size < 24 else prefixes[24] + _head(3, size) + raw
        point = (hash32(key, signed=False) * total) >> 32
        for end, variant in ends:
            if point < end:
                return variant
        return None

    return run


def _fractional_compiler(scheme: FractionalScheme) -> CustomCompiler:
    """With constant buckets (the usual case), parse them once at compile time."""
    key_of = _bucket_key_cbor if scheme == "cbor" else _bucket_key_legacy

    def build(args: list[Compiled], consts: list[Any]) -> Compiled | None:
        if not args:
            return None
        shorthand = isinstance(consts[0], list)
        bucket_consts = consts if shorthand else consts[1:]
        if any(c is NOT_CONSTANT for c in bucket_consts):
            return None
        buckets = _parse_buckets(bucket_consts, integral_floats=scheme == "legacy")
        if buckets is None:
            return lambda _data: None
        picker = _picker(buckets)
        if picker is None:
            return lambda _data: None
        total, ends = picker
        if shorthand and scheme == "cbor":
            return _shorthand_cbor(total, ends)
        first_fn = args[0]
        hash32 = mmh3.hash
        cache: Prefixes = {}

        def run(data: Any) -> Any:
            first = first_fn(data)
            if shorthand != isinstance(first, list):
                return FRACTIONAL[scheme](data, [f(data) for f in args])
            key = key_of(data, first, cache)
            if key is None:
                return None
            point = (hash32(key, signed=False) * total) >> 32
            for end, variant in ends:
                if point < end:
                    return variant
            return None

        return run

    return build


# --- sem_ver -------------------------------------------------------------------------------------

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)

Version = tuple[int, int, int, tuple[tuple[int, int | str], ...] | None]


_PARSED: dict[str, Version | None] = {}
"""Versions already parsed, by text: contexts repeat a few app versions, and a rule's own is constant."""


def parse_version(raw: Any) -> Version | None:
    """A semantic version (leading v/V allowed, missing minor/patch padded with 0); None when invalid."""
    if type(raw) is str:
        if raw in _PARSED:
            return _PARSED[raw]
        if len(_PARSED) >= 4096:
            _PARSED.clear()
        parsed = _parse_version(raw)
        _PARSED[raw] = parsed
        return parsed
    return _parse_version(raw)


def _parse_version(raw: Any) -> Version | None:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        return None
    text = str(raw)
    if text[:1] in ("v", "V"):
        text = text[1:]
    numeric = text.split("-")[0].split("+")[0]
    dots = numeric.count(".")
    if dots < 2:
        text = numeric + ".0" * (2 - dots) + text[len(numeric) :]
    match = _SEMVER.match(text)
    if match is None:
        return None
    pre = match.group(4)
    # Numeric identifiers sort before alphanumeric ones: the (0, n) / (1, s) pairs encode that.
    ids = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split(".")) if pre else None
    return int(match.group(1)), int(match.group(2)), int(match.group(3)), ids


def _version_key(v: Version) -> tuple[Any, ...]:
    # A release sorts after every pre-release of the same core version.
    return (v[0], v[1], v[2], (1,) if v[3] is None else (0, v[3]))


_SEMVER_OPS: dict[str, Callable[[Version, Version], bool]] = {
    "=": lambda a, b: _version_key(a) == _version_key(b),
    "!=": lambda a, b: _version_key(a) != _version_key(b),
    "<": lambda a, b: _version_key(a) < _version_key(b),
    "<=": lambda a, b: _version_key(a) <= _version_key(b),
    ">": lambda a, b: _version_key(a) > _version_key(b),
    ">=": lambda a, b: _version_key(a) >= _version_key(b),
    "^": lambda a, b: a[0] == b[0],
    "~": lambda a, b: a[0] == b[0] and a[1] == b[1],
}


def sem_ver(_data: Any, args: list[Any]) -> bool | None:
    if len(args) != 3:
        return None
    left, op, right = args
    compare = _SEMVER_OPS.get(op) if isinstance(op, str) else None
    a, b = parse_version(left), parse_version(right)
    if compare is None or a is None or b is None:
        return None
    return compare(a, b)


def _string_op(test: Callable[[str, str], bool]) -> CustomOp:
    def run(_data: Any, args: list[Any]) -> bool | None:
        if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], str):
            return None
        return test(args[0], args[1])

    return run


def _string_op_compiler(test: Callable[[str, str], bool]) -> CustomCompiler:
    """With a constant string as second argument (the usual case), test without building an argument list."""

    def build(args: list[Compiled], consts: list[Any]) -> Compiled | None:
        if len(args) != 2 or not isinstance(consts[1], str):
            return None
        subject_fn, fixed = args[0], consts[1]

        def run(data: Any) -> bool | None:
            subject = subject_fn(data)
            return test(subject, fixed) if isinstance(subject, str) else None

        return run

    return build


def compilers(scheme: FractionalScheme) -> dict[str, CustomCompiler]:
    return {
        "fractional": _fractional_compiler(scheme),
        "starts_with": _string_op_compiler(str.startswith),
        "ends_with": _string_op_compiler(str.endswith),
    }


READS: dict[str, frozenset[str]] = {
    # fractional reads only `$flagd.flagKey` of `$flagd` (never the timestamp): a name of its own.
    "fractional": frozenset(("targetingKey", "$flagd.flagKey")),
    "sem_ver": frozenset(),
    "starts_with": frozenset(),
    "ends_with": frozenset(),
}
"""What each custom operation reads of the evaluation data (lets the evaluator skip building what no rule reads)."""


def operations(scheme: FractionalScheme) -> dict[str, CustomOp]:
    return {
        "fractional": FRACTIONAL[scheme],
        "sem_ver": sem_ver,
        "starts_with": _string_op(str.startswith),
        "ends_with": _string_op(str.endswith),
    }
