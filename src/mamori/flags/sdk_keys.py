"""SDK keys (`flags:evaluate` tokens) checked for the OFREP hot path: in memory, re-checked off the event loop.

An answer for a key (its environment, or why it is refused) is used for at most `ttl` seconds after it was read
from the database: a revoked, expired or deleted key stops working within `ttl` (10 s), in every process, with
no event needed. A key in use is re-checked in the background once its answer is half that old, so that no
evaluation waits for the database while the key keeps working; only a key seen for the first time (or not for
`ttl`) waits for its one check, which concurrent requests with the same key share.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future

from mamori.core import auth
from mamori.core.errors import Forbidden, MamoriError, Unauthenticated
from mamori.core.runtime import Runtime
from mamori.flags.serving import BACKGROUND

logger = logging.getLogger(__name__)
KEY_TTL_SECONDS = 10.0
NO_KEY = "send an SDK key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'"
NOT_AN_SDK_KEY = "this token is not an SDK key; create one with --scope flags:evaluate --environment ENV"
Answer = str | MamoriError
"""A key's environment, or the Unauthenticated / Forbidden error that refuses it."""


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def check_key(runtime: Runtime, raw: str) -> Answer:
    """The database's answer for a presented key (a blocking call: run it off the event loop)."""
    with runtime.sessions() as session:
        try:
            token = auth.authenticate_token(session, raw, now=runtime.now())
        except Unauthenticated as exc:
            return exc
        session.commit()
        if "flags:evaluate" not in token.scopes or not token.environment:
            return Forbidden(NOT_AN_SDK_KEY)
        return token.environment


class SdkKeyCache:
    """sha256(key) -> (answer, when it was read), per runtime; refusals are kept apart so that a flood of
    made-up keys never pushes out the good ones."""

    MAX_KEYS = 10_000

    def __init__(self, clock: Callable[[], float] = time.monotonic, ttl: float = KEY_TTL_SECONDS) -> None:
        self.clock, self.ttl = clock, ttl
        self._lock = threading.Lock()
        self._good: dict[str, tuple[str, float]] = {}
        self._refused: dict[str, tuple[MamoriError, float]] = {}
        self._pending: dict[str, Future[Answer]] = {}

    def answer_blocking(self, runtime: Runtime, raw: str, key_digest: str) -> Answer:
        """The same for a caller already off the event loop (checks in the calling thread)."""
        entry: tuple[Answer, float] | None = self._good.get(key_digest) or self._refused.get(key_digest)
        if entry is not None and self.clock() - entry[1] < self.ttl:
            return entry[0]
        checked_at = self.clock()
        found = check_key(runtime, raw)
        self.put(key_digest, found, checked_at)
        return found

    async def answer(self, runtime: Runtime, raw: str, key_digest: str) -> Answer:
        """The key's environment or its refusal: from memory when fresh enough, else from one database check."""
        entry: tuple[Answer, float] | None = self._good.get(key_digest) or self._refused.get(key_digest)
        if entry is not None:
            age = self.clock() - entry[1]
            if age < self.ttl:
                if age >= self.ttl / 2:
                    self.check_soon(runtime, raw, key_digest)
                return entry[0]
        return await asyncio.wrap_future(self.check_soon(runtime, raw, key_digest))

    def check_soon(self, runtime: Runtime, raw: str, key_digest: str) -> Future[Answer]:
        with self._lock:
            future = self._pending.get(key_digest)
            if future is None:
                future = BACKGROUND.submit(self._check, runtime, raw, key_digest)
                self._pending[key_digest] = future
        return future

    def _check(self, runtime: Runtime, raw: str, key_digest: str) -> Answer:
        try:
            checked_at = self.clock()
            found = check_key(runtime, raw)
            self.put(key_digest, found, checked_at)
            return found
        except Exception:
            logger.warning("could not check an SDK key against the database", exc_info=True)
            raise
        finally:
            with self._lock:
                self._pending.pop(key_digest, None)

    def put(self, key_digest: str, found: Answer, checked_at: float | None = None) -> None:
        at = self.clock() if checked_at is None else checked_at
        with self._lock:
            if isinstance(found, str):
                self._refused.pop(key_digest, None)
                if len(self._good) >= self.MAX_KEYS and key_digest not in self._good:
                    self._good.clear()
                self._good[key_digest] = (found, at)
            else:
                self._good.pop(key_digest, None)
                if len(self._refused) >= self.MAX_KEYS and key_digest not in self._refused:
                    self._refused.clear()
                self._refused[key_digest] = (found, at)
