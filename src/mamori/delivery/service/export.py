"""Sending every delivery figure on: the samples of every service, the Prometheus exposition, and the Datadog
v2 series export (each payload's attempts in the delivery log; 429 and 5xx are retried with backoff)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core import deliveries
from mamori.core.manifest import stored_specs
from mamori.delivery.kinds import DatadogSink, DeliveryPolicySpec
from mamori.delivery.models import DeliveryDeploy, DeliveryRun, DeliveryTestRun
from mamori.delivery.service import health, measures, queries
from mamori.delivery.sinks import datadog, exposition, otlp
from mamori.delivery.sinks.samples import Sample, StepFigure, TestFigures, service_samples
from mamori.integrations import DeliveryError, webhooks

log = logging.getLogger(__name__)
SUBJECT = "delivery:metrics:datadog"


def services(session: Session) -> list[str]:
    names: set[str] = set()
    for model in (DeliveryDeploy, DeliveryRun, DeliveryTestRun):
        names.update(session.scalars(select(model.service).distinct()))
    return sorted(names)


def collect(session: Session, *, now: datetime, policy: DeliveryPolicySpec) -> list[Sample]:
    """Every figure of every service over the policy's window."""
    start = now - timedelta(days=policy.window_days)
    owners = {name: spec.get("owner") for name, spec in stored_specs(session, kind="Service").items()}
    out: list[Sample] = []
    for service in services(session):
        m = measures.measure(session, service=service, start=start, end=now, policy=policy)
        steps = [
            StepFigure(s.job, s.step, s.median_s, s.cache_hit_ratio)
            for s in queries.step_trends(session, service=service, since=start)
        ]
        h = health.health(session, service=service, since=start)
        tests = TestFigures(h.pass_rate, len(h.flaky), h.total_median_s, h.coverage[-1][1] if h.coverage else None)
        owner = owners.get(service)
        out += service_samples(
            m,
            team=owner if isinstance(owner, str) else None,
            steps=steps,
            tests=tests if h.reports or h.coverage else None,
        )
    return out


def prometheus_text(session: Session, *, now: datetime, policy: DeliveryPolicySpec) -> str:
    return exposition.render(collect(session, now=now, policy=policy))


@dataclass(frozen=True)
class ExportResult:
    payloads: int
    sent: int
    failed: int
    series: int


def send_datadog(
    session: Session,
    *,
    client: httpx.Client,
    sink: DatadogSink,
    api_key: str,
    samples: list[Sample],
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = 4,
    max_bytes: int = datadog.MAX_PAYLOAD_BYTES,
    allow_private: bool = False,
) -> ExportResult:
    """POST the series in payloads under Datadog's size limit; a payload that keeps failing is logged as
    failed and the others are still sent."""
    bodies = datadog.payloads(samples, timestamp=int(now.timestamp()), extra_tags=sink.tags, max_bytes=max_bytes)
    sent = failed = 0
    headers = {"DD-API-KEY": api_key, "Content-Type": "application/json", "Accept": "application/json"}
    for body in bodies:
        if _post(
            session,
            client=client,
            url=sink.endpoint,
            headers=headers,
            body=body,
            channel="datadog",
            now=now,
            sleep=sleep,
            max_attempts=max_attempts,
            allow_private=allow_private,
        ):
            sent += 1
        else:
            failed += 1
    return ExportResult(payloads=len(bodies), sent=sent, failed=failed, series=len(samples))


def send_otlp(
    session: Session,
    *,
    client: httpx.Client,
    endpoint: str,
    samples: list[Sample],
    now: datetime,
    headers: dict[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    max_attempts: int = 4,
    allow_private: bool = False,
) -> bool:
    """POST the figures to an OTLP/HTTP collector's /v1/metrics as JSON (retrying 429 and 5xx)."""
    body = json.dumps(otlp.request(samples, time_unix_nano=int(now.timestamp()) * 1_000_000_000)).encode()
    url = endpoint.rstrip("/") + otlp.METRICS_PATH
    sent = {"Content-Type": "application/json", **(headers or {})}
    return _post(
        session,
        client=client,
        url=url,
        headers=sent,
        body=body,
        channel="otlp",
        now=now,
        sleep=sleep,
        max_attempts=max_attempts,
        allow_private=allow_private,
    )


def _post(
    session: Session,
    *,
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    body: bytes,
    channel: str,
    now: datetime,
    sleep: Callable[[float], None],
    max_attempts: int,
    allow_private: bool,
) -> bool:
    for attempt in range(1, max_attempts + 1):
        try:
            response = webhooks.post_checked(client, url, body, headers=headers, allow_private=allow_private)
        except DeliveryError as exc:  # the private-address guard refused the URL: no retry can help
            _log(session, now=now, channel=channel, url=url, ok=False, detail=str(exc), attempt=attempt)
            log.warning("%s: %s", channel, exc)
            return False
        except httpx.HTTPError as exc:
            status, answer, wait = 0, f"{type(exc).__name__}: {exc}", datadog.retry_after(503, {}, attempt)
        else:
            status, answer = response.status_code, response.text[:300]
            wait = datadog.retry_after(status, {k.lower(): v for k, v in response.headers.items()}, attempt)
        ok = 200 <= status < 300
        _log(
            session, now=now, channel=channel, url=url, ok=ok, attempt=attempt,
            detail=f"HTTP {status}: {answer}" if status else answer,
        )  # fmt: skip
        if ok:
            return True
        if wait is None or attempt == max_attempts:
            log.warning("%s refused a metrics payload (%s): %s", channel, status, answer)
            return False
        sleep(wait)
    return False


def _log(session: Session, *, now: datetime, channel: str, url: str, ok: bool, detail: str, attempt: int) -> None:
    deliveries.record(
        session,
        at=now,
        source="delivery",
        kind="webhook",
        channel=channel,
        target=url,
        subject=f"delivery:metrics:{channel}",
        ok=ok,
        detail=detail,
        attempt=attempt,
    )


def send_deploy_event(
    session: Session,
    *,
    client: httpx.Client,
    sink: DatadogSink,
    api_key: str,
    event: dict[str, object],
    now: datetime,
    sleep: Callable[[float], None] = time.sleep,
    allow_private: bool = False,
) -> bool:
    base = (sink.url or datadog.SITES[sink.site]).rstrip("/")
    headers = {"DD-API-KEY": api_key, "Content-Type": "application/json", "Accept": "application/json"}
    return _post(
        session,
        client=client,
        url=base + datadog.EVENTS_PATH,
        headers=headers,
        body=json.dumps(event).encode(),
        channel="datadog",
        now=now,
        sleep=sleep,
        max_attempts=4,
        allow_private=allow_private,
    )
