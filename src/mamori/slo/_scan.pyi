"""Types of the compiled scanner (src/mamori/slo/_scan.c)."""

from typing import Any

KIND_TEXT: int
KIND_RAW: int
KIND_NUMBER: int

class Scanner:
    def __init__(self, fields: list[tuple[tuple[str, ...], int, tuple[int | float, ...]]], missing: object) -> None: ...
    def count(self, lines: list[bytes]) -> list[tuple[tuple[Any, ...], int]] | None: ...
