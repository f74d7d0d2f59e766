"""Fixtures the sast tests share with the web tests: a logged-in browser session."""

from __future__ import annotations

from tests.web.conftest import login  # noqa: F401  (re-exported fixture)
