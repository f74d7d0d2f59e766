"""What the sast domain adds to Mamori (being built under its issue; see the domain's README section)."""

from __future__ import annotations

from mamori.core.runtime import Plugin


def plugin() -> Plugin:
    return Plugin(name="sast")
