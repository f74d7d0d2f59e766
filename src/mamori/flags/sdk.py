"""In-process OpenFeature provider for Python services: evaluates Mamori flag sets locally.

    from openfeature import api
    from mamori.flags.sdk import MamoriProvider
    api.set_provider(MamoriProvider("https://mamori.example", sdk_key="mmr_...", environment="production",
                                    cache_path="/var/cache/app/flags.json"))

It loads `GET /api/v1/flags/{environment}/flagd.json`, follows changes over the OFREP event stream
(SSE) and falls back to polling; when Mamori cannot be reached it keeps the last good flag set, and
with `cache_path` it starts from the file cache. After `os.fork()` (gunicorn `--preload`) the child
restarts its own background threads on first use. Evaluation counts per flag and variant are
reported back every `report_interval` seconds.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
from openfeature.evaluation_context import EvaluationContext
from openfeature.event import ProviderEventDetails
from openfeature.exception import OpenFeatureError, ProviderNotReadyError
from openfeature.flag_evaluation import FlagResolutionDetails, FlagValueType
from openfeature.provider import AbstractProvider, Metadata

from mamori.flags.evaluator import FlagEvaluator

logger = logging.getLogger(__name__)
FRACTIONAL_HEADER = "X-Mamori-Fractional"


class MamoriProvider(AbstractProvider):
    def __init__(
        self,
        base_url: str,
        *,
        sdk_key: str,
        environment: str,
        cache_path: str | Path | None = None,
        poll_interval: float = 30.0,
        use_sse: bool = True,
        report_interval: float = 60.0,
        timeout: float = 5.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.environment = environment
        self.cache_path = Path(cache_path) if cache_path else None
        self.poll_interval, self.use_sse, self.report_interval = poll_interval, use_sse, report_interval
        self._headers = {"X-API-Key": sdk_key}
        self._timeout, self._transport = timeout, transport
        self._evaluator: FlagEvaluator | None = None
        self._etag: str | None = None
        self._scheme = "cbor"
        self._counts: Counter[tuple[str, str]] = Counter()
        self._reset_process_state()
        os.register_at_fork(after_in_child=self._reset_process_state)

    # --- lifecycle --------------------------------------------------------------------------

    def _reset_process_state(self) -> None:
        """Fresh locks and no threads: what a forked child must start from (threads do not survive fork)."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pid = os.getpid()
        self._started = False
        self._counts = Counter()

    def get_metadata(self) -> Metadata:
        return Metadata(name="Mamori in-process provider")

    def initialize(self, evaluation_context: EvaluationContext) -> None:
        try:
            self.refresh()
        except (httpx.HTTPError, OpenFeatureError, ValueError) as exc:
            if not self._load_cache():
                raise ProviderNotReadyError(f"cannot load flags from Mamori and no cache: {exc}") from exc
            logger.warning("Mamori unreachable (%s); serving the cached flag set", exc)
        self._ensure_threads()

    def shutdown(self) -> None:
        self._stop.set()
        with contextlib.suppress(httpx.HTTPError):
            self.report_counts()
        for thread in self._threads:
            thread.join(timeout=2)

    def _ensure_threads(self) -> None:
        if self._pid != os.getpid():
            self._reset_process_state()
        if self._started:
            return
        self._started = True
        targets = [self._follow_changes, self._report_loop]
        for target in targets:
            thread = threading.Thread(target=target, daemon=True, name=f"mamori-flags-{target.__name__}")
            thread.start()
            self._threads.append(thread)

    def _client(self, timeout: float | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.base_url, headers=self._headers, transport=self._transport, timeout=timeout or self._timeout
        )

    # --- the flag set ---------------------------------------------------------------------

    def refresh(self) -> bool:
        """Fetch the flag set if it changed; True when a new set was loaded. Keeps the last good set on error."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        with self._client() as client:
            response = client.get(f"/api/v1/flags/{self.environment}/flagd.json", headers=headers)
        if response.status_code == 304:
            return False
        response.raise_for_status()
        self._install(response.text, response.headers.get(FRACTIONAL_HEADER, "cbor"), response.headers.get("ETag"))
        self._write_cache(response.text)
        return True

    def _install(self, text: str, scheme: str, etag: str | None) -> None:
        evaluator = FlagEvaluator(fractional="legacy" if scheme == "legacy" else "cbor")
        changed = evaluator.set_flags_and_get_changed_keys(text)  # raises on a bad set: the old one stays
        had = self._evaluator is not None
        with self._lock:
            self._evaluator, self._etag, self._scheme = evaluator, etag, scheme
        if had:
            self.emit_provider_configuration_changed(ProviderEventDetails(flags_changed=changed))

    def _write_cache(self, text: str) -> None:
        if self.cache_path is None:
            return
        try:
            tmp = self.cache_path.with_suffix(".tmp")
            tmp.write_text(json.dumps({"scheme": self._scheme, "etag": self._etag, "flagd": text}), encoding="utf-8")
            tmp.replace(self.cache_path)
        except OSError as exc:
            logger.warning("cannot write the flag cache %s: %s", self.cache_path, exc)

    def _load_cache(self) -> bool:
        if self.cache_path is None or not self.cache_path.exists():
            return False
        try:
            cached = json.loads(self.cache_path.read_text(encoding="utf-8"))
            self._install(cached["flagd"], cached.get("scheme", "cbor"), cached.get("etag"))
        except (OSError, ValueError, KeyError, OpenFeatureError) as exc:
            logger.warning("cannot read the flag cache %s: %s", self.cache_path, exc)
            return False
        return True

    # --- background: change events, polling, count reports -----------------------------------------

    def _follow_changes(self) -> None:
        while not self._stop.is_set():
            if self.use_sse:
                try:
                    self._listen()
                except httpx.HTTPError as exc:
                    logger.info("flag change stream unavailable (%s); polling", exc)
            try:
                self.refresh()
            except (httpx.HTTPError, OpenFeatureError, ValueError) as exc:
                logger.warning("cannot refresh flags from Mamori (%s); keeping the last good set", exc)
            self._stop.wait(self.poll_interval)

    def _listen(self) -> None:
        """Refresh on each change event; a line that is not a JSON event is skipped (the stream goes on)."""
        with self._client(timeout=None) as client, client.stream("GET", "/ofrep/v1/events") as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith("data:") and _event_type(line[5:]) == "refetchEvaluation":
                    try:
                        self.refresh()
                    except (httpx.HTTPError, OpenFeatureError, ValueError) as exc:
                        logger.warning("refetch after a change event failed: %s", exc)

    def _report_loop(self) -> None:
        while not self._stop.wait(self.report_interval):
            try:
                self.report_counts()
            except httpx.HTTPError as exc:
                logger.info("cannot report evaluation counts (%s); will retry", exc)

    def report_counts(self) -> int:
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        body = {"counts": [{"flag": f, "variant": v, "count": n} for (f, v), n in counts.items()]}
        try:
            with self._client() as client:
                client.post(f"/api/v1/flags/{self.environment}/evaluations", json=body).raise_for_status()
        except httpx.HTTPError:
            with self._lock:
                self._counts.update(counts)
            raise
        return sum(counts.values())

    # --- resolution --------------------------------------------------------------------------

    def _resolve(self, method: str, key: str, default: Any, ctx: EvaluationContext | None) -> Any:
        if self._pid != os.getpid() or not self._started:
            self._ensure_threads()
        evaluator = self._evaluator
        if evaluator is None:
            raise ProviderNotReadyError("the Mamori flag set is not loaded yet")
        details = getattr(evaluator, method)(key, default, ctx)
        with self._lock:
            self._counts[(key, details.variant or "")] += 1
        return details

    def resolve_boolean_details(
        self, flag_key: str, default_value: bool, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[bool]:
        result: FlagResolutionDetails[bool] = self._resolve(
            "resolve_boolean_value", flag_key, default_value, evaluation_context
        )
        return result

    def resolve_string_details(
        self, flag_key: str, default_value: str, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[str]:
        result: FlagResolutionDetails[str] = self._resolve(
            "resolve_string_value", flag_key, default_value, evaluation_context
        )
        return result

    def resolve_integer_details(
        self, flag_key: str, default_value: int, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[int]:
        result: FlagResolutionDetails[int] = self._resolve(
            "resolve_integer_value", flag_key, default_value, evaluation_context
        )
        return result

    def resolve_float_details(
        self, flag_key: str, default_value: float, evaluation_context: EvaluationContext | None = None
    ) -> FlagResolutionDetails[float]:
        result: FlagResolutionDetails[float] = self._resolve(
            "resolve_float_value", flag_key, default_value, evaluation_context
        )
        return result

    def resolve_object_details(
        self,
        flag_key: str,
        default_value: Sequence[FlagValueType] | Mapping[str, FlagValueType],
        evaluation_context: EvaluationContext | None = None,
    ) -> FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]]:
        result: FlagResolutionDetails[Sequence[FlagValueType] | Mapping[str, FlagValueType]] = self._resolve(
            "resolve_object_value", flag_key, default_value, evaluation_context
        )
        return result


__all__ = ["MamoriProvider"]


def _event_type(data: str) -> str | None:
    """The `type` of a server-sent event's JSON data, or None when it is not a JSON object."""
    try:
        event = json.loads(data)
    except ValueError:
        return None
    return event.get("type") if isinstance(event, dict) else None
