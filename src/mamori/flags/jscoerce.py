"""JavaScript's coercions as JsonLogic applies them: truthiness, numbers, strings, loose equality,
ordering across types, and looking a dotted key up in the data."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

NAN = float("nan")
Data = Any


def truthy(value: Any) -> bool:
    if value is True:
        return True
    if value is None or value is False:
        return False
    if isinstance(value, float):
        return not math.isnan(value) and value != 0.0
    if isinstance(value, str | int | list):
        return bool(value)
    return True


def to_number(value: Any) -> float | int:
    if isinstance(value, int | float):
        return value
    if value is None:
        return 0
    if isinstance(value, list):
        if not value:
            return 0
        return to_number(value[0]) if len(value) == 1 else NAN
    if isinstance(value, dict):
        return NAN
    text = str(value)
    if text.strip().lower() in ("inf", "-inf", "+inf"):
        return NAN
    try:
        return float(text)
    except ValueError:
        return NAN


def to_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return "%.15g" % value  # noqa: UP031 - JavaScript-like shortest form
    if isinstance(value, int):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, list):
        return ",".join(to_string(item) for item in value)
    return "[object Object]"


def loose_equals(a: Any, b: Any) -> bool:
    if type(a) is type(b):
        return a is b if isinstance(a, list | dict) else bool(a == b)
    numeric = (int, float)
    if isinstance(a, numeric):
        return bool(a == (b if isinstance(b, numeric) else to_number(b)))
    if isinstance(b, numeric):
        return bool(to_number(a) == b)
    if a is None or b is None:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return bool(to_number(a) == to_number(b))
    if isinstance(a, str) and isinstance(b, list | dict):
        return a == to_string(b)
    if isinstance(b, str) and isinstance(a, list | dict):
        return to_string(a) == b
    return False


def compare_values(a: Any, b: Any, op: Callable[[Any, Any], bool]) -> bool:
    if isinstance(a, int | float):
        return op(a, to_number(b))
    if isinstance(b, int | float):
        return op(to_number(a), b)
    if isinstance(a, str):
        return op(a, to_string(b))
    if isinstance(b, str):
        return op(to_string(a), b)
    return op(to_number(a), to_number(b))


def lookup(data: Data, key: Any, default: Any = None) -> Any:
    """JsonLogic `var`: dotted paths into mappings, numeric indexes into lists and strings."""
    if key is None or key == "":
        return data
    if isinstance(key, int | float) and not isinstance(key, bool):
        if isinstance(data, dict):
            found = data.get(key)
            return default if found is None else found
        key = to_string(key)
    for part in to_string(key).split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list | str):
            if part == "length":
                return len(data)
            if not part.isdigit() or str(int(part)) != part or int(part) >= len(data):
                return default
            data = data[int(part)]
        else:
            return default
    return default if data is None else data
