"""A readable diff of two JSON values, one line per changed path (what audit entries and the timeline show)."""

from __future__ import annotations

import json
from typing import Any

MAX_VALUE_CHARS = 120


def _show(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= MAX_VALUE_CHARS else text[: MAX_VALUE_CHARS - 3] + "..."


def diff_lines(before: Any, after: Any, path: str = "") -> list[str]:
    """`+ path: value`, `- path: value`, `~ path: old -> new`, walking into objects."""
    here = path or "."
    if before == after:
        return []
    if before is None:
        return [f"+ {here}: {_show(after)}"]
    if after is None:
        return [f"- {here}: {_show(before)}"]
    if isinstance(before, dict) and isinstance(after, dict):
        lines: list[str] = []
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in after:
                lines.append(f"- {sub}: {_show(before[key])}")
            elif key not in before:
                lines.append(f"+ {sub}: {_show(after[key])}")
            else:
                lines.extend(diff_lines(before[key], after[key], sub))
        return lines
    return [f"~ {here}: {_show(before)} -> {_show(after)}"]
