"""Maven ordering as Maven's own `ComparableVersion` (3.8, as Debian ships it) orders versions.

A version parses into a tree of items: numbers, qualifiers and sub-lists. A `-`, a switch between
digits and letters, and a qualifier at the very end each open a sub-list; trailing "null" items
(0, the empty/release qualifier, empty lists) are dropped from every list, innermost first.
Digits are Unicode decimal digits, as Java's `Character.isDigit` sees them.
"""

from __future__ import annotations

from functools import lru_cache

QUALIFIERS = ("alpha", "beta", "milestone", "rc", "snapshot", "", "sp")
_ALIASES = {"ga": "", "final": "", "release": "", "cr": "rc"}
_SHORT = {"a": "alpha", "b": "beta", "m": "milestone"}
_RELEASE = str(QUALIFIERS.index(""))

Item = int | str | list["Item"]
"""A number, a qualifier (already normalised by its aliases), or a sub-list of items."""


def _qualifier(text: str, *, followed_by_digit: bool) -> str:
    if followed_by_digit and text in _SHORT:
        text = _SHORT[text]
    return _ALIASES.get(text, text)


def _item(digits: bool, text: str) -> Item:
    return int(text) if digits else _qualifier(text, followed_by_digit=False)


def _is_null(item: Item) -> bool:
    if isinstance(item, list):
        return not item
    if isinstance(item, int):
        return item == 0
    return item == ""


def _normalise(items: list[Item]) -> None:
    """Drop null items from the end; a sub-list is looked through, anything else stops the walk."""
    i = len(items) - 1
    while i >= 0:
        if _is_null(items[i]):
            del items[i]
        elif not isinstance(items[i], list):
            return
        i -= 1


@lru_cache(maxsize=65536)
def parse(version: str) -> tuple[Item, ...]:
    text = version.lower()
    root: list[Item] = []
    current, stack = root, [root]
    digits, start = False, 0

    def open_list() -> None:
        nonlocal current
        nested: list[Item] = []
        current.append(nested)
        current = nested
        stack.append(nested)

    for i, ch in enumerate(text):
        if ch in ".-":
            current.append(0 if i == start else _item(digits, text[start:i]))
            start = i + 1
            if ch == "-":
                open_list()
        elif ch.isdecimal():
            if not digits and i > start:
                if current:
                    open_list()
                current.append(_qualifier(text[start:i], followed_by_digit=True))
                start = i
                open_list()
            digits = True
        else:
            if digits and i > start:
                current.append(_item(True, text[start:i]))
                start = i
                open_list()
            digits = False
    if len(text) > start:
        if not digits and current:
            open_list()
        current.append(_item(digits, text[start:]))
    while stack:
        _normalise(stack.pop())
    return tuple(root)


def _rank(qualifier: str) -> bytes:
    """`ComparableVersion`'s comparable qualifier: a known one's index, else "7-<name>", in UTF-16 order."""
    key = str(QUALIFIERS.index(qualifier)) if qualifier in QUALIFIERS else f"{len(QUALIFIERS)}-{qualifier}"
    return key.encode("utf-16-be")


def _sign(a: object, b: object) -> int:
    return int(a > b) - int(a < b)  # type: ignore[operator]


def _compare(left: Item, right: Item | None) -> int:
    if isinstance(left, int):
        if right is None:
            return int(left != 0)
        return _sign(left, right) if isinstance(right, int) else 1
    if isinstance(left, str):
        if right is None:
            return _sign(_rank(left), _RELEASE.encode("utf-16-be"))
        return _sign(_rank(left), _rank(right)) if isinstance(right, str) else -1
    if right is None:
        return next((r for r in (_compare(item, None) for item in left) if r), 0)
    if isinstance(right, int):
        return -1
    if isinstance(right, str):
        return 1
    return _compare_lists(left, right)


def _compare_lists(left: list[Item] | tuple[Item, ...], right: list[Item] | tuple[Item, ...]) -> int:
    for i in range(max(len(left), len(right))):
        a = left[i] if i < len(left) else None
        b = right[i] if i < len(right) else None
        result = _compare(a, b) if a is not None else (0 if b is None else -_compare(b, None))
        if result:
            return result
    return 0


def compare(a: str, b: str) -> int:
    return _compare_lists(parse(a), parse(b))
