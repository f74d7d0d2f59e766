"""The applied DeliveryPolicy, kept per runtime for a few seconds: webhooks arrive by the thousand and each
needs it; an applied change takes effect within `ttl` seconds."""

from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session

from mamori.delivery import kinds
from mamori.delivery.kinds import DeliveryPolicySpec


class PolicyCache:
    def __init__(self, ttl: float = 5.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._value: DeliveryPolicySpec | None = None
        self._read_at = 0.0

    def get(self, session: Session) -> DeliveryPolicySpec:
        with self._lock:
            if self._value is None or time.monotonic() - self._read_at > self.ttl:
                self._value, self._read_at = kinds.policy(session), time.monotonic()
            return self._value

    def clear(self) -> None:
        with self._lock:
            self._value = None
