"""Maven ordering, following Maven's published "Version Order Specification" (ComparableVersion)."""

from __future__ import annotations

from functools import lru_cache

_KNOWN = {"alpha": 0, "beta": 1, "milestone": 2, "rc": 3, "snapshot": 4, "": 5, "sp": 6}
_ALIASES = {"cr": "rc", "ga": "", "final": "", "release": ""}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}

Token = tuple[str, int | str]  # (separator "." or "-", number or qualifier)


def _qualifier(text: str, followed_by_digit: bool) -> str:
    if followed_by_digit and text in _SHORT:
        return _SHORT[text]
    return _ALIASES.get(text, text)


def _raw_tokens(version: str) -> list[tuple[str, str, bool]]:
    """(separator, text, started by a digit/letter transition) for each token."""
    tokens: list[tuple[str, str, bool]] = []
    sep, current, transition = ".", "", False
    for ch in version.strip().lower():
        if ch in ".-":
            tokens.append((sep, current, transition))
            sep, current, transition = ch, "", False
        elif current and current[-1].isdigit() != ch.isdigit():
            tokens.append((sep, current, transition))
            sep, current, transition = "-", ch, True
        else:
            current += ch
    tokens.append((sep, current, transition))
    return tokens


def _is_null(token: Token) -> bool:
    return token[1] == 0 or token[1] == ""


@lru_cache(maxsize=65536)
def tokens(version: str) -> tuple[Token, ...]:
    raw = _raw_tokens(version)
    out: list[Token] = []
    for i, (sep, text, _) in enumerate(raw):
        if text == "" or text.isdigit():
            out.append((sep, int(text or "0")))
        else:
            nxt = raw[i + 1] if i + 1 < len(raw) else None
            followed = nxt is not None and nxt[2] and nxt[1][:1].isdigit()
            out.append((sep, _qualifier(text, followed)))
    # trim trailing nulls, then again before each remaining hyphen, from the end to the start
    while out and _is_null(out[-1]):
        out.pop()
    i = len(out) - 1
    while i > 0:
        if out[i][0] == "-":
            j = i - 1
            while j >= 0 and _is_null(out[j]):
                j -= 1
            del out[j + 1 : i]
            i = j + 1
        i -= 1
    return tuple(out)


def _category(token: Token) -> int:
    sep, value = token
    if isinstance(value, str):
        return 0 if sep == "." else 1
    return 2 if sep == "-" else 3


def _qual_key(q: str) -> tuple[int, str]:
    return (_KNOWN[q], "") if q in _KNOWN else (len(_KNOWN), q)


def _compare_values(a: int | str, b: int | str) -> int:
    if isinstance(a, int) and isinstance(b, int):
        return (a > b) - (a < b)
    ka, kb = _qual_key(str(a)), _qual_key(str(b))
    return (ka > kb) - (ka < kb)


def _null_like(token: Token) -> Token:
    return (token[0], 0 if isinstance(token[1], int) else "")


def compare(a: str, b: str) -> int:
    left, right = tokens(a), tokens(b)
    for i in range(max(len(left), len(right))):
        lt = left[i] if i < len(left) else _null_like(right[i])
        rt = right[i] if i < len(right) else _null_like(left[i])
        ca, cb = _category(lt), _category(rt)
        c = _compare_values(lt[1], rt[1]) if ca == cb else (ca > cb) - (ca < cb)
        if c:
            return c
    return 0
