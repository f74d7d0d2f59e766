"""The SLO charts as a reader meets them: a time axis with round ticks, value grid labels, markers at their
time with a tooltip, a hover value per point, and the window picker of the SLO page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.slo import charts, service
from tests.slo.helpers import CHECKOUT_SLO, write

T0 = datetime(2026, 3, 2, 9, 7, tzinfo=UTC)


def test_a_four_week_axis_ticks_at_midnights_and_an_hour_axis_at_round_minutes() -> None:
    ticks, fmt = charts.time_ticks(T0, T0 + timedelta(days=28))
    assert 2 <= len(ticks) <= charts.MAX_TICKS and fmt == "%d %b"
    assert all(t.hour == 0 and t.minute == 0 for t in ticks)
    assert all(T0 <= t <= T0 + timedelta(days=28) for t in ticks)
    ticks, fmt = charts.time_ticks(T0, T0 + timedelta(hours=1))
    assert fmt == "%H:%M" and [t.minute for t in ticks][:3] == [10, 20, 30]
    ticks, fmt = charts.time_ticks(T0, T0 + timedelta(days=2))
    assert fmt == "%d %b %H:%M" and all(t.minute == 0 and t.hour % 6 == 0 for t in ticks)


def test_markers_sit_at_their_time_and_every_point_tells_its_value_on_hover() -> None:
    end = T0 + timedelta(hours=10)
    points = [(T0 + timedelta(hours=h), 0.99 + h / 1000) for h in range(10)] + [(end, None)]
    svg = charts.line_chart(
        points,
        start=T0,
        end=end,
        low=0.98,
        high=1.0,
        title="SLI",
        reference=0.995,
        markers=[charts.Marker(T0 + timedelta(hours=5), "deploy", "v2 <new>")],
    )
    x = re.search(r'<g class="marker deploy"><title>deploy · v2 &lt;new&gt;</title><line x1="([\d.]+)"', svg)
    assert x is not None, svg
    middle = charts.PAD_LEFT + (charts.WIDTH - charts.PAD_LEFT - charts.PAD_RIGHT) / 2
    assert abs(float(x.group(1)) - middle) < 0.2  # 5 h into a 10 h chart: halfway
    hovers = re.findall(r'<g class="point"><title>([^<]+)</title>', svg)
    assert len(hovers) == 10 and hovers[3] == "2026-03-02 12:07 UTC: 99.300%"
    assert re.findall(r'class="x-tick"[^>]*><tspan>([^<]+)</tspan>', svg)[:2] == ["10:00", "12:00"]
    assert ">98.0%<" in svg and ">100.0%<" in svg  # the value grid's labels
    assert "<title>target 99.500%</title>" in svg


def _seed(runtime: Runtime, tmp_path: Path) -> None:
    write(tmp_path / "cfg", "slo.yaml", CHECKOUT_SLO)
    manifest.apply(runtime, manifest.load(tmp_path / "cfg", runtime.kinds), actor=Actor(name="t", source="config"))
    lines = []
    for days_ago, bad in ((5, 40), (0, 2)):  # most of the budget went five days ago
        ts = (runtime.now() - timedelta(days=days_ago, minutes=3)).isoformat().replace("+00:00", "Z")
        lines += [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 200}] * 1000
        lines += [{"ts": ts, "service": "jobs-api", "route": "/apply", "status": 500}] * bad
    with runtime.sessions.begin() as session:
        service.ingest(session, data=b"\n".join(orjson.dumps(x) for x in lines))
    Worker(runtime).run_until_idle()


def _last_budget(html: str) -> str:
    budget = html[html.index("Error budget burn-down") :]
    return re.findall(r'<g class="point"><title>[^<]+ UTC: ([^<]+)</title>', budget)[-1]


def test_the_window_picker_zooms_the_charts_and_keeps_the_budget_of_the_whole_window(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    _seed(runtime, tmp_path)
    whole = client.get("/slos/apply-for-job", headers=auth_headers)
    day = client.get("/slos/apply-for-job?window=1d", headers=auth_headers)
    assert whole.status_code == day.status_code == 200
    assert 'href="?window=1d" class="active"' in day.text
    assert re.search(r'class="x-tick"[^>]*><tspan>\d\d \w\w\w<', whole.text)  # dates over the whole window
    assert re.search(r'class="x-tick"[^>]*><tspan>\d\d \w\w\w \d\d:\d\d<', day.text)  # times over a day
    # zoomed in, the budget left still counts the errors of five days ago
    assert _last_budget(day.text) == _last_budget(whole.text)
    assert float(_last_budget(day.text).rstrip("%")) < 0
    wrong = client.get("/slos/apply-for-job?window=3y", headers=auth_headers)
    assert wrong.status_code == 400 and "window: one of 1h, 6h, 1d, 7d" in wrong.text
