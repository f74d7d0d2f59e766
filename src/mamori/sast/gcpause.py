"""Pausing Python's cyclic garbage collector while a large report is read and stored.

Reading a 50,000-result SARIF log allocates millions of dicts, lists and dataclasses that all stay alive
until the scan is stored; each automatic collection of the oldest generation walks all of them again, which
measured more than half the time of ingesting such a log (benchmarks/results_sast.md). None of these objects
form reference cycles, so reference counting frees them either way; the pause only delays collecting other
cycles in the process until the upload ends. Nested and concurrent uploads share one pause: the collector
resumes when the last one ends, and only if it was enabled before the first began."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pause:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.resume = False


_PAUSE = _Pause()


@contextmanager
def paused() -> Iterator[None]:
    with _PAUSE.lock:
        if _PAUSE.depth == 0:
            _PAUSE.resume = gc.isenabled()
            gc.disable()
        _PAUSE.depth += 1
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.depth -= 1
            if _PAUSE.depth == 0 and _PAUSE.resume:
                gc.enable()
