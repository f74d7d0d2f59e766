"""Packagist ordering: PHP's version_compare over a canonicalised version, as OSV applies it."""

from __future__ import annotations

from functools import lru_cache

from mamori.vulns.versions.text import is_digits

# PHP's special forms, matched by prefix in this order; "#" stands for any number.
_SPECIAL = (
    ("dev", 0),
    ("alpha", 1),
    ("a", 1),
    ("beta", 2),
    ("b", 2),
    ("RC", 3),
    ("rc", 3),
    ("#", 4),
    ("pl", 5),
    ("p", 5),
)
_SEPARATORS = "-_+"


def _kind(ch: str) -> str:
    """PHP's classes (C locale): "d" digit, "n" any other non-dot character, "." the dot itself."""
    return "." if ch == "." else ("d" if is_digits(ch) else "n")


@lru_cache(maxsize=65536)
def canonical(version: str) -> tuple[str, ...]:
    """The parts PHP compares: `-_+` and any other non-alphanumeric become one dot, a dot goes between a
    digit and a non-digit, the first character is kept as it is; a leading or trailing dot leaves an empty
    part (which ranks below everything). A version starting with "#" is left alone, as PHP does."""
    text = version.strip()
    if text[:1] in ("v", "V"):  # as Composer and OSV normalise it before PHP compares
        text = text[1:]
    if not text:
        return ()
    if text.startswith("#"):
        return tuple(text.split("."))
    out, last = [text[0]], text[0]
    for ch in text[1:]:
        if ch in _SEPARATORS or not (ch.isascii() and ch.isalnum()):
            if out[-1] != ".":
                out.append(".")
        elif {_kind(last), _kind(ch)} == {"d", "n"}:
            if out[-1] != ".":
                out.append(".")
            out.append(ch)
        else:
            out.append(ch)
        last = ch
    return tuple("".join(out).split("."))


def _special(form: str) -> int:
    for name, order in _SPECIAL:
        if form.startswith(name):
            return order
    return -1


def _cmp_int(a: int, b: int) -> int:
    return (a > b) - (a < b)


def _starts_with_digit(part: str) -> bool:
    return is_digits(part[:1])


def _compare_part(a: str, b: str) -> int:
    if _starts_with_digit(a) and _starts_with_digit(b):
        return _cmp_int(_leading_int(a), _leading_int(b))
    if not _starts_with_digit(a) and not _starts_with_digit(b):
        return _cmp_int(_special(a), _special(b))
    if _starts_with_digit(a):
        return _cmp_int(_special("#N#"), _special(b))
    return _cmp_int(_special(a), _special("#N#"))


def _leading_int(part: str) -> int:
    digits = len(part) - len(part.lstrip("0123456789"))
    return int(part[:digits])


def _walk(v1: str, v2: str) -> int:
    """PHP's comparison of two canonical strings: part by part until one side has no further dot, then
    what is left on the longer side decides (a number wins; anything else is compared with "#N#")."""
    if not v1 or not v2:
        return int(bool(v1)) - int(bool(v2))
    p1 = p2 = 0
    n1: int | None = 0
    n2: int | None = 0
    result = 0
    while p1 < len(v1) and p2 < len(v2) and n1 is not None and n2 is not None:
        found1, found2 = v1.find(".", p1), v2.find(".", p2)
        n1, n2 = (found1 if found1 >= 0 else None), (found2 if found2 >= 0 else None)
        result = _compare_part(v1[p1:n1], v2[p2:n2])
        if result:
            return result
        p1 = n1 + 1 if n1 is not None else p1
        p2 = n2 + 1 if n2 is not None else p2
    if n1 is not None:
        return 1 if _starts_with_digit(v1[p1:]) else _compare_raw(v1[p1:], "#N#")
    if n2 is not None:
        return -1 if _starts_with_digit(v2[p2:]) else _compare_raw("#N#", v2[p2:])
    return 0


def _compare_raw(a: str, b: str) -> int:
    return _walk(".".join(canonical(a)), ".".join(canonical(b)))


def _compare_parts(left: tuple[str, ...], right: tuple[str, ...]) -> int:
    return _walk(".".join(left), ".".join(right))


def compare(a: str, b: str) -> int:
    return _compare_parts(canonical(a), canonical(b))


# a representative form for each special order, to turn a key back into comparable parts
_FORM = {0: "dev", 1: "alpha", 2: "beta", 3: "RC", 5: "pl", -1: "x"}
_END = (4, -1)  # after the last part: above any special form below "#", below any number and "pl"/"p"

PartKey = tuple[int, int]


class _Odd:
    """A version with a part PHP ranks like a number ("#..."): PHP's order is not transitive there, so such a
    version cannot have a tuple key; it compares part by part, against tuple keys too."""

    __slots__ = ("parts",)

    def __init__(self, parts: tuple[str, ...]) -> None:
        self.parts = parts

    def _cmp(self, other: object) -> int:
        if isinstance(other, _Odd):
            return _compare_parts(self.parts, other.parts)
        if isinstance(other, tuple):
            return _compare_parts(self.parts, _decode(other))
        raise TypeError(f"cannot compare a Packagist version key with {type(other).__name__}")

    def __lt__(self, other: object) -> bool:
        return self._cmp(other) < 0

    def __gt__(self, other: object) -> bool:
        return self._cmp(other) > 0

    def __le__(self, other: object) -> bool:
        return self._cmp(other) <= 0

    def __ge__(self, other: object) -> bool:
        return self._cmp(other) >= 0

    def __eq__(self, other: object) -> bool:
        return self._cmp(other) == 0

    def __hash__(self) -> int:
        return hash(self.parts)


def _decode(key: tuple[PartKey, ...]) -> tuple[str, ...]:
    out = []
    for order, value in key:
        if (order, value) == _END:
            break
        out.append(str(value) if order == 4 else _FORM[order])
    return tuple(out)


def key(version: str) -> tuple[PartKey, ...] | _Odd:
    """A sort key consistent with `compare`: numbers by value, special forms by their rank, then an end mark."""
    parts = canonical(version)
    out: list[PartKey] = []
    for p in parts:
        if p == "" or (_starts_with_digit(p) and not is_digits(p)):
            return _Odd(parts)  # an empty part or a first-character quirk: only PHP's walk orders these
        if is_digits(p):
            out.append((4, int(p)))
        else:
            order = _special(p)
            if order == 4:
                return _Odd(parts)
            out.append((order, 0))
    out.append(_END)
    return tuple(out)
