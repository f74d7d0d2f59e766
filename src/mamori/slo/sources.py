"""SLI sources that Mamori queries instead of counting events itself: Prometheus (PromQL) and Datadog (metrics).

A source answers one question: how much good (or bad) and total there was over `[end - window, end)`.
Prometheus queries carry the window as `{{.window}}` (as in Sloth), e.g.
`sum(increase(http_requests_total{code!~"5.."}[{{.window}}]))`; with `rate` instead of `increase` the
ratio, and so the SLI and burn rates, are the same. Datadog queries (`...as_count()`) are summed over
the window's points.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import httpx

from mamori.core.duration import format_duration
from mamori.slo.definitions import CompiledObjective

_WINDOW = re.compile(r"\{\{\s*\.window\s*\}\}")


class SourceError(Exception):
    """A source could not answer (unreachable, bad query, bad response)."""


@dataclass(frozen=True)
class RatioQuery:
    good: str | None
    bad: str | None
    total: str


class SliSource(Protocol):
    def amounts(self, query: RatioQuery, *, end: datetime, window: timedelta) -> tuple[float, float]:
        """(good, total) over [end - window, end)."""
        ...


def _scalar(data: Any, query: str) -> float:
    """The single value of an instant-vector or scalar result; an empty vector is 0 (no traffic)."""
    if not isinstance(data, Mapping) or data.get("status") != "success":
        raise SourceError(f"Prometheus answered an error for {query!r}: {data!r:.300}")
    result = data["data"]
    kind, value = result.get("resultType"), result.get("result")
    if kind == "scalar":
        number = float(value[1])
    elif kind == "vector":
        if len(value) > 1:
            raise SourceError(f"query {query!r} returned {len(value)} series; aggregate it to one (e.g. sum(...))")
        number = float(value[0]["value"][1]) if value else 0.0
    else:
        raise SourceError(f"query {query!r} returned a {kind}, expected an instant vector or scalar")
    return 0.0 if math.isnan(number) else number


class PrometheusSource:
    def __init__(self, client: httpx.Client, base_url: str) -> None:
        self.client, self.base_url = client, base_url.rstrip("/")

    def _query(self, query: str, *, end: datetime, window: timedelta) -> float:
        text = _WINDOW.sub(format_duration(window), query)
        try:
            response = self.client.get(
                f"{self.base_url}/api/v1/query", params={"query": text, "time": f"{end.timestamp():.3f}"}
            )
        except httpx.HTTPError as exc:
            raise SourceError(f"Prometheus at {self.base_url} cannot be reached: {exc}") from None
        try:
            data = response.json()
        except ValueError:
            raise SourceError(f"Prometheus answered HTTP {response.status_code} without JSON") from None
        return _scalar(data, text)

    def amounts(self, query: RatioQuery, *, end: datetime, window: timedelta) -> tuple[float, float]:
        total = self._query(query.total, end=end, window=window)
        if query.good is not None:
            return self._query(query.good, end=end, window=window), total
        assert query.bad is not None
        return total - self._query(query.bad, end=end, window=window), total


class DatadogSource:
    """Datadog's metrics query API (`GET /api/v1/query`); the window's points are summed."""

    def __init__(self, client: httpx.Client, base_url: str, *, api_key: str, app_key: str) -> None:
        self.client, self.base_url = client, base_url.rstrip("/")
        self.headers = {"DD-API-KEY": api_key, "DD-APPLICATION-KEY": app_key, "Accept": "application/json"}

    def _query(self, query: str, *, end: datetime, window: timedelta) -> float:
        start = end - window
        try:
            response = self.client.get(
                f"{self.base_url}/api/v1/query",
                headers=self.headers,
                params={"from": int(start.timestamp()), "to": int(end.timestamp()) - 1, "query": query},
            )
        except httpx.HTTPError as exc:
            raise SourceError(f"Datadog cannot be reached: {exc}") from None
        if response.status_code != 200:
            raise SourceError(f"Datadog answered HTTP {response.status_code}: {response.text[:300]}")
        data = response.json()
        if data.get("status") == "error":
            raise SourceError(f"Datadog query {query!r} failed: {data.get('error')}")
        total = 0.0
        for series in data.get("series") or []:
            for ts_ms, value in series.get("pointlist") or []:
                if value is not None and start.timestamp() * 1000 <= ts_ms < end.timestamp() * 1000:
                    total += float(value)
        return total

    def amounts(self, query: RatioQuery, *, end: datetime, window: timedelta) -> tuple[float, float]:
        total = self._query(query.total, end=end, window=window)
        if query.good is not None:
            return self._query(query.good, end=end, window=window), total
        assert query.bad is not None
        return total - self._query(query.bad, end=end, window=window), total


@dataclass
class SourceStore:
    """A CountStore over remote sources: each window is one query per side, at the window's end."""

    sources: dict[str, tuple[SliSource, RatioQuery]]

    def totals(self, series: str, start: int, end: int) -> tuple[float, float]:
        source, query = self.sources[series]
        return source.amounts(query, end=datetime.fromtimestamp(end * 60, UTC), window=timedelta(minutes=end - start))

    def minutes(self, series: str, start: int, end: int) -> list[tuple[int, int, int]]:
        raise SourceError("Timeslices budgeting needs per-minute counts; use the mamori source for it")


def source_for(objective: CompiledObjective, client: httpx.Client) -> tuple[SliSource, RatioQuery] | None:
    """The source and queries of a queried objective; None for the built-in (event) source."""
    kind = (objective.source_type or "").lower()
    if kind not in SLI_SOURCES or "total" not in objective.queries:
        return None
    query = RatioQuery(
        good=objective.queries.get("good"), bad=objective.queries.get("bad"), total=objective.queries["total"]
    )
    details = objective.connection
    if kind == "prometheus":
        url = details.get("url") or details.get("address")
        if not url:
            raise SourceError(f"{objective.slo}: Prometheus source needs url (in the DataSource or metric spec)")
        return PrometheusSource(client, str(url)), query
    api_key, app_key = details.get("apiKey"), details.get("appKey")
    if not api_key or not app_key:
        raise SourceError(f"{objective.slo}: Datadog source needs apiKey and appKey in its DataSource")
    site = str(details.get("url") or "https://api.datadoghq.com")
    return DatadogSource(client, site, api_key=str(api_key), app_key=str(app_key)), query


SLI_SOURCES: dict[str, type[PrometheusSource] | type[DatadogSource]] = {
    "prometheus": PrometheusSource,
    "datadog": DatadogSource,
}
