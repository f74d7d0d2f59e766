"""Character classes shared by the version orderings: only ASCII digits are digits.

Python's `str.isdigit` and regex `\\d` also accept other scripts' digits and superscripts (U+00B2, U+0661),
which `int()` then refuses or which no ecosystem treats as numbers; every ordering uses these instead.
"""

from __future__ import annotations


def is_digits(text: str) -> bool:
    """True for a non-empty run of ASCII 0-9."""
    return text.isascii() and text.isdigit()
