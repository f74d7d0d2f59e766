"""Small readers of JSON fields that turn a wrong or missing value into a `RecordProblem` (no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any


class FieldError(ValueError):
    """A field of one record is missing or has the wrong type; `loc` is its path inside the record."""

    def __init__(self, loc: str, msg: str) -> None:
        super().__init__(f"{loc}: {msg}")
        self.loc = loc
        self.msg = msg


def obj(value: Any, loc: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FieldError(loc, f"expected an object, got {type_name(value)}")
    return value


def text(record: dict[str, Any], name: str, loc: str, *, required: bool = True) -> str:
    value = record.get(name)
    if value is None or value == "":
        if required:
            raise FieldError(f"{loc}.{name}", "required field is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError(f"{loc}.{name}", f"expected a string, got {type_name(value)}")
    return str(value)


def items(record: dict[str, Any], name: str, loc: str, *, required: bool = False) -> list[Any]:
    value = record.get(name)
    if value is None:
        if required:
            raise FieldError(f"{loc}.{name}", "required field is missing")
        return []
    if not isinstance(value, list):
        raise FieldError(f"{loc}.{name}", f"expected a list, got {type_name(value)}")
    return value


def number(value: Any, loc: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise FieldError(loc, "expected a number, got a boolean")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise FieldError(loc, f"expected a number, got {value!r}") from None


def timestamp(value: Any, loc: str, *, required: bool = True) -> datetime | None:
    """An ISO 8601 time (a `Z` suffix is UTC) or epoch seconds/milliseconds, as an aware datetime."""
    if value is None or value == "":
        if required:
            raise FieldError(loc, "required field is missing")
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if not isinstance(value, str):
        raise FieldError(loc, f"expected an ISO 8601 time, got {type_name(value)}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise FieldError(loc, f"expected an ISO 8601 time, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def type_name(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def arn_part(arn: str, index: int) -> str:
    """Part `index` of an ARN (3 region, 4 account); empty when `arn` is not an ARN."""
    parts = arn.split(":", 5)
    return parts[index] if arn.startswith("arn:") and len(parts) > index else ""


def sub(record: Any, name: str) -> dict[str, Any]:
    """An optional nested object: the object when there is one, else an empty one (never an error)."""
    value = record.get(name) if isinstance(record, dict) else None
    return value if isinstance(value, dict) else {}
