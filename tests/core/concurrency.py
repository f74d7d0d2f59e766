"""Helpers of the concurrency tests: let a second transaction reach its first lock while a first one holds it."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from mamori.core.runtime import Runtime

WAITING = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"


def until_blocked_or_done(runtime: Runtime, thread: threading.Thread, timeout: float = 20.0) -> None:
    """Return once `thread`'s transaction waits for a lock, or has finished.

    On PostgreSQL that is seen in pg_stat_activity, so the test holds its transaction exactly as long as
    needed, however loaded the machine. SQLite waits in the driver's busy handler, which SQL cannot see;
    there a short pause has to do (its transactions take the write lock up front, so nothing interleaves)."""
    if runtime.engine.dialect.name != "postgresql":
        thread.join(timeout=0.5)
        return
    deadline = time.monotonic() + timeout
    with runtime.engine.connect() as conn:
        while thread.is_alive():
            if conn.execute(text(WAITING)).scalar_one():
                return
            conn.rollback()  # pg_stat_activity is a snapshot per transaction
            assert time.monotonic() < deadline, "the second transaction neither waited for a lock nor finished"
            time.sleep(0.01)
