"""Building many long-lived objects at once (OSV records, interval tables) without collector pauses."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for an allocation burst.

    Parsing tens of thousands of records allocates millions of objects that all survive; every full
    collection during that burst walks all of them again, for nothing. Reference counting still frees
    garbage at once; cycles made meanwhile are collected when the collector runs again.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
