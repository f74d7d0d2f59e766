"""What each field a filter reads is compared with, so that ingest can judge equivalent events once. No I/O."""

from __future__ import annotations

from mamori.slo.filter.syntax import Compare, InList, Like, Node, Not, parse

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
