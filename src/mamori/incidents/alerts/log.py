"""The intake log: webhook payloads made durable by group commit before their 2xx.

A webhook request checks its payload in memory (the integration's spec is cached for `SPEC_TTL_SECONDS`)
and hands the intake row to `IntakeLog.submit`. One writer thread per server process takes every row
waiting, inserts them in ONE transaction together with ONE processing job for the lot, commits, and only
then completes each request's future: a 2xx always means the payload is on disk (SQLite WAL or PostgreSQL
commit), and a SIGKILL before the commit loses only payloads that got no answer, which the sender retries.
Under load, a commit carries as many payloads as arrived while the previous one was being written, so the
number of transactions (and fsyncs) per second stays flat while the payloads per second grow.

Processing is a normal durable job (`incidents.process_intake` with an id range), leased and fenced like
every job, so several server processes can share one database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future
from typing import Any

from sqlalchemy import insert

from mamori.core import jobs, worker
from mamori.core.runtime import Runtime
from mamori.incidents.alerts import service
from mamori.incidents.kinds import stored as config
from mamori.incidents.kinds.documents import IntegrationSpec
from mamori.incidents.models import Intake

log = logging.getLogger(__name__)

SPEC_TTL_SECONDS = 5.0
"""How long a server process uses an integration's spec before reading it again: a changed or deleted
Integration applies to webhooks within this time (processing always reads the stored spec)."""
MAX_BATCH = 500
"""At most this many payloads per commit."""


class IntakeLog:
    """Group commit of accepted (and rejected) webhook payloads; one per runtime (`Plugin.states`)."""

    def __init__(self, runtime: Runtime, *, spec_ttl: float = SPEC_TTL_SECONDS) -> None:
        self.runtime = runtime
        self.spec_ttl = spec_ttl
        self._pending: deque[tuple[dict[str, Any], Future[int]]] = deque()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._specs: dict[str, tuple[float, IntegrationSpec]] = {}
        self.commits = 0
        """Transactions written so far (the benchmark reports payloads per commit)."""

    # ------------------------------------------------------------------ integration specs

    def cached_spec(self, integration: str) -> IntegrationSpec | None:
        """The integration's spec if read less than `spec_ttl` ago; None means: call `load_spec` (blocking)."""
        hit = self._specs.get(integration)
        if hit is not None and time.monotonic() - hit[0] < self.spec_ttl:
            return hit[1]
        return None

    def load_spec(self, integration: str) -> IntegrationSpec:
        """Read the spec from the database (NotFound when there is no such Integration) and cache it."""
        with self.runtime.sessions() as session:
            spec = config.integration(session, integration)
        self._specs[integration] = (time.monotonic(), spec)
        return spec

    # ------------------------------------------------------------------ group commit

    def submit(self, row: dict[str, Any]) -> Future[int]:
        """Queue one intake row; the future gets its id once the row's transaction committed (or the error)."""
        future: Future[int] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the intake log is closed (the server is stopping)")
            self._pending.append((row, future))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, daemon=True, name="mamori-intake-log")
                self._thread.start()
            self._cond.notify()
        return future

    def write(self, rows: list[dict[str, Any]]) -> list[int]:
        """Insert `rows` and one processing job for the accepted ones, in one transaction; their ids in order."""
        now = self.runtime.clock.now()
        with worker.write_turn(self.runtime.engine), self.runtime.sessions.begin() as session:
            ids = list(session.scalars(insert(Intake).returning(Intake.id, sort_by_parameter_order=True), rows).all())
            accepted = [i for i, row in zip(ids, rows, strict=True) if row["status"] == "accepted"]
            if accepted:
                jobs.enqueue(
                    session,
                    kind=service.PROCESS_JOB,
                    now=now,
                    payload={"intake_id": min(accepted), "last_id": max(accepted)},
                    max_attempts=8,
                )
        self.commits += 1
        if accepted:
            worker.wake()  # an in-process worker polling an idle queue looks now rather than at its next tick
        return ids

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                if not self._pending:
                    return
                batch = [self._pending.popleft() for _ in range(min(len(self._pending), MAX_BATCH))]
            try:
                ids = self.write([row for row, _ in batch])
            except Exception as exc:  # nothing of this batch is stored: every request of it gets an error
                log.exception("intake log: a batch of %d payloads could not be stored", len(batch))
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), ident in zip(batch, ids, strict=True):
                future.set_result(ident)

    def close(self, timeout: float = 10.0) -> None:
        """Write what is queued, then stop the writer (the server is stopping)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=timeout)
        with self._cond:  # a runtime may serve another app later (tests do): the next submit starts a writer
            if self._thread is thread and (thread is None or not thread.is_alive()):
                self._thread, self._closed = None, False
