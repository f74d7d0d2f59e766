"""The grouping key of an event, as generated Python code: one key function per configuration. No I/O.

Whether an event is counted, and whether it is good, depends only on the few fields the SLIs read. Ingest
therefore reduces each event to a key -- service, minute, and for each field read by any SLI its value and
type, or, for a field only ever ordered against numeric constants, its position among those constants --
counts the keys (in C, with collections' counter), and then judges one event rebuilt from each distinct key
with the ordinary compiled filters. The key code is generated once per configuration from the parsed filters
(field paths are inserted with repr(), constants passed as values), never from raw filter text.
"""

from __future__ import annotations

from mamori.slo import filter as event_filter

MISSING_FIELD = object()
"""Stands for a field an event does not have (in keys, structs and rebuilt events)."""
_INLINE_CONSTS = 3

Path = tuple[str, ...]
Use = tuple[int | float, ...] | str | None  # sorted numeric constants, "text", or None (raw value and type)


def key_lines(paths: list[tuple[Path, Use]], indent: str) -> tuple[list[str], str]:
    """Statements computing v0.. from event `e`, and the tuple expression of the field part of the key."""
    lines, parts = [], []
    for i, (path, use) in enumerate(paths):
        v = f"v{i}"
        if use == event_filter.TEXT and len(path) == 1:  # inline: every non-string gives the same verdict
            parts.append(f"e.get({path[0]!r}, M)")
            continue
        lines.append(f"{indent}{v} = e.get({path[0]!r}, M)")
        for part in path[1:]:
            lines.append(f"{indent}{v} = {v}.get({part!r}, M) if {v}.__class__ is dict else M")
        if use == event_filter.TEXT:
            parts.append(v)
        elif use is None or isinstance(use, str):
            parts += [v, f"{v}.__class__"]
        else:
            # A number becomes 2 x (constants below it) + (1 if equal to one): an int, never equal to the
            # (value, type) tuple that any other value becomes.
            lines.append(f"{indent}if {v}.__class__ is int or {v}.__class__ is float:")
            if len(use) <= _INLINE_CONSTS:  # a few comparisons are cheaper than a call
                terms = " + ".join(f"({v} > C{i}_{j}) + ({v} >= C{i}_{j})" for j in range(len(use)))
                lines.append(f"{indent}    {v} = {terms}")
            else:
                lines.append(f"{indent}    {v} = 2 * bisect(C{i}, {v}) + ({v} in S{i})")
            lines.append(f"{indent}else:")
            lines.append(f"{indent}    {v} = ({v}, {v}.__class__)")
            parts.append(v)
    return lines, "".join(p + ", " for p in parts)


def scanner_source(paths: list[tuple[Path, Use]]) -> str:
    body, fields = key_lines(paths, " " * 16)
    slow_body, _ = key_lines(paths, "    ")
    return "\n".join(
        [
            "def keyof(e, svc, m):",
            *slow_body,
            f"    return (svc, m, {fields})",
            "",
            "def scan(lines, slow):",
            "    for number, line in enumerate(lines, 1):",
            "        try:",
            "            e = loads(line)",
            '            ts = e["ts"]',
            '            svc = e["service"]',
            # a non-string ts fails here (TypeError) and goes the careful way; a bad service is caught after
            "            if ts[16:] in tails and (m := ts[:16]) in prefixes:",
            *body,
            f"                yield (svc, m, {fields})",
            "                continue",
            "        except Exception:",
            "            pass",
            "        key = slow(number, line)",
            "        if key is not None:",
            "            yield key",
            "",
        ]
    )
