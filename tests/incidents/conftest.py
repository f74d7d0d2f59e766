"""Collect garbage after each incidents test, so that an unclosed database connection is reported by
the test that left it (pytest turns the ResourceWarning into an error) rather than by a later one."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    yield
    gc.collect()
