"""The Datadog SLI source against recorded metrics-query responses (GET /api/v1/query)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from mamori.slo.sources import DatadogSource, RatioQuery, SourceError

END = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
GOOD_Q = "sum:trace.http.request.hits.by_http_status{http.status_code:200}.as_count()"
TOTAL_Q = "sum:trace.http.request.hits.by_http_status{*}.as_count()"


def _recorded(query: str, points: list[tuple[datetime, float | None]]) -> dict[str, Any]:
    start, end = points[0][0], points[-1][0]
    return {
        "status": "ok",
        "res_type": "time_series",
        "resp_version": 1,
        "query": query,
        "from_date": int(start.timestamp() * 1000),
        "to_date": int(end.timestamp() * 1000),
        "series": [
            {
                "unit": [
                    {
                        "family": "general",
                        "name": "hit",
                        "plural": "hits",
                        "scale_factor": 1.0,
                        "short_name": None,
                        "id": 39,
                    },
                    None,
                ],
                "query_index": 0,
                "aggr": "sum",
                "metric": "trace.http.request.hits.by_http_status",
                "tag_set": [],
                "expression": query,
                "scope": "*",
                "interval": 60,
                "length": len(points),
                "start": int(start.timestamp() * 1000),
                "end": int(end.timestamp() * 1000),
                "pointlist": [[t.timestamp() * 1000, v] for t, v in points],
                "display_name": query,
                "attributes": {},
            }
        ],
        "values": [],
        "times": [],
        "message": "",
        "group_by": [],
    }


def _handler(seen: list[httpx.Request]) -> httpx.MockTransport:
    minutes = [END - timedelta(minutes=m) for m in range(5, 0, -1)]

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.headers.get("DD-API-KEY") != "api" or request.headers.get("DD-APPLICATION-KEY") != "app":
            return httpx.Response(403, json={"errors": ["Forbidden"]})
        query = request.url.params["query"]
        if query == GOOD_Q:
            return httpx.Response(200, json=_recorded(query, [(t, 95.0) for t in minutes[:-1]] + [(minutes[-1], None)]))
        if query == TOTAL_Q:
            return httpx.Response(200, json=_recorded(query, [(t, 100.0) for t in minutes]))
        return httpx.Response(400, json={"errors": ["Error parsing query"]})

    return httpx.MockTransport(handle)


def test_datadog_points_are_summed_over_the_window() -> None:
    seen: list[httpx.Request] = []
    with httpx.Client(transport=_handler(seen)) as client:
        source = DatadogSource(client, "https://api.datadoghq.eu", api_key="api", app_key="app")
        good, total = source.amounts(
            RatioQuery(good=GOOD_Q, bad=None, total=TOTAL_Q), end=END, window=timedelta(minutes=5)
        )
    assert (good, total) == (380.0, 500.0)
    assert seen[0].url.path == "/api/v1/query" and seen[0].url.host == "api.datadoghq.eu"
    assert seen[0].url.params["from"] == str(int((END - timedelta(minutes=5)).timestamp()))


def test_datadog_errors_are_reported() -> None:
    with httpx.Client(transport=_handler([])) as client:
        wrong_key = DatadogSource(client, "https://api.datadoghq.com", api_key="nope", app_key="app")
        with pytest.raises(SourceError, match="HTTP 403"):
            wrong_key.amounts(RatioQuery(good=GOOD_Q, bad=None, total=TOTAL_Q), end=END, window=timedelta(hours=1))
        source = DatadogSource(client, "https://api.datadoghq.com", api_key="api", app_key="app")
        with pytest.raises(SourceError, match="Error parsing query"):
            source.amounts(RatioQuery(good=None, bad="bad(", total=TOTAL_Q), end=END, window=timedelta(hours=1))
