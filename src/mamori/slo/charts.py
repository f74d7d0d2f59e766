"""Server-side SVG charts for the SLO pages: a line over time with a time axis and value grid, a target line,
timeline markers at their time, and a hover value for each point (SVG <title>: the browser's own tooltip, no
script). No I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 900, 220, 58, 14, 14, 34
MARKER_COLOURS = {
    "deploy": "#2563eb",
    "flag_change": "#9333ea",
    "incident": "#dc2626",
    "slo_burn": "#ea580c",
    "slo_policy": "#0f766e",
}
TIME_STEPS = [timedelta(minutes=m) for m in (1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 4320, 10080, 20160)]
"""The spacings a time axis may use; the first that gives at most MAX_TICKS ticks wins."""
MAX_TICKS = 8
EPOCH = datetime(1970, 1, 5, tzinfo=UTC)
"""A Monday: weekly ticks fall on Mondays, daily ones at midnight UTC."""


@dataclass(frozen=True)
class Marker:
    at: datetime
    kind: str
    label: str


def _x(at: datetime, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds() or 1.0
    return PAD_LEFT + (WIDTH - PAD_LEFT - PAD_RIGHT) * (at - start).total_seconds() / span


def _y(value: float, low: float, high: float) -> float:
    span = (high - low) or 1.0
    clamped = min(max(value, low), high)
    return HEIGHT - PAD_BOTTOM - (HEIGHT - PAD_TOP - PAD_BOTTOM) * (clamped - low) / span


def time_ticks(start: datetime, end: datetime) -> tuple[list[datetime], str]:
    """Round instants between `start` and `end` (UTC) at a spacing giving 2..MAX_TICKS ticks, and the strftime
    format that labels them (times of day for spans within a day or two, dates beyond)."""
    span = end - start
    step = next((s for s in TIME_STEPS if span / s <= MAX_TICKS), TIME_STEPS[-1])
    offset = (start - EPOCH) % step
    first = start if not offset else start - offset + step
    ticks: list[datetime] = []
    at = first
    while at <= end:
        ticks.append(at)
        at += step
    fmt = "%d %b" if step >= timedelta(days=1) else "%H:%M" if span < timedelta(hours=24) else "%d %b %H:%M"
    return ticks, fmt


def value_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Evenly spaced values from `low` to `high` inclusive (the grid lines)."""
    if high <= low:
        return [low]
    return [low + (high - low) * i / count for i in range(count + 1)]


def _fmt(value: float, percent: bool, span: float) -> str:
    if not percent:
        return f"{value:g}"
    digits = 0 if span >= 0.2 else 1 if span >= 0.02 else 2 if span >= 0.002 else 3
    return f"{value * 100:.{digits}f}%"


def line_chart(
    points: list[tuple[datetime, float | None]],
    *,
    start: datetime,
    end: datetime,
    low: float,
    high: float,
    title: str,
    reference: float | None = None,
    markers: list[Marker] | None = None,
    percent: bool = True,
) -> str:
    """An accessible SVG: value grid and time axis with ticks, the series (gaps where None), an optional
    reference line, vertical markers with their time and label as a tooltip, a hover value per point."""

    def value_text(value: float) -> str:
        return f"{value * 100:.3f}%" if percent else f"{value:g}"

    right, bottom = WIDTH - PAD_RIGHT, HEIGHT - PAD_BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="system-ui, sans-serif">'
        f"<title>{escape(title)}</title>",
        f'<rect x="{PAD_LEFT}" y="{PAD_TOP}" width="{right - PAD_LEFT}" height="{bottom - PAD_TOP}" fill="#fff" '
        f'stroke="#d4d4d8"/>',
    ]
    for tick in value_ticks(low, high):
        y = _y(tick, low, high)
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f3"/>'
            f'<text class="y-tick" x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#5b6475">'
            f"{escape(_fmt(tick, percent, high - low))}</text>"
        )
    ticks, fmt = time_ticks(start, end)
    for at in ticks:
        x = _x(at, start, end)
        parts.append(
            f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 5}" stroke="#9aa1ad"/>'
            f'<text class="x-tick" x="{x:.1f}" y="{bottom + 18}" text-anchor="middle" fill="#5b6475">'
            f"<tspan>{at.astimezone(UTC).strftime(fmt)}</tspan><title>{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC</title>"
            "</text>"
        )
    parts.append(f'<text x="{right}" y="{HEIGHT - 2}" text-anchor="end" fill="#9aa1ad" font-size="10">UTC</text>')
    if reference is not None:
        y = _y(reference, low, high)
        parts.append(
            f'<line class="reference" x1="{PAD_LEFT}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#16a34a" stroke-dasharray="5 4"><title>target {escape(value_text(reference))}</title></line>'
        )
    segment: list[str] = []
    segments: list[list[str]] = []
    for at, value in points:
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        segment.append(f"{_x(at, start, end):.1f},{_y(value, low, high):.1f}")
    if segment:
        segments.append(segment)
    for seg in segments:
        parts.append(
            f'<polyline class="series" fill="none" stroke="#18181b" stroke-width="1.6" points="{" ".join(seg)}"/>'
        )
    parts.extend(_hover(points, start=start, end=end, low=low, high=high, text=value_text))
    for marker in markers or []:
        if not start <= marker.at <= end:
            continue
        x = _x(marker.at, start, end)
        colour = MARKER_COLOURS.get(marker.kind, "#71717a")
        label = escape(f"{marker.kind} · {marker.label}")
        parts.append(
            f'<g class="marker {escape(marker.kind)}"><title>{label}</title>'
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_TOP}" y2="{bottom}" stroke="{colour}" stroke-opacity=".55"/>'
            f'<path d="M{x - 5:.1f},{PAD_TOP - 1} L{x + 5:.1f},{PAD_TOP - 1} L{x:.1f},{PAD_TOP + 7}" fill="{colour}"/>'
            f'<rect x="{x - 4:.1f}" y="{PAD_TOP}" width="8" height="{bottom - PAD_TOP}" fill="transparent"/></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _hover(
    points: list[tuple[datetime, float | None]],
    *,
    start: datetime,
    end: datetime,
    low: float,
    high: float,
    text: Callable[[float], str],
) -> list[str]:
    """A transparent band per point, as wide as the gap to its neighbours, whose tooltip tells its time and
    value; a dot shows on hover (CSS)."""
    shown = [(at, v) for at, v in points if v is not None and start <= at <= end]
    out: list[str] = []
    xs = [_x(at, start, end) for at, _ in shown]
    for i, (at, value) in enumerate(shown):
        left = (xs[i - 1] + xs[i]) / 2 if i else max(xs[i] - 4, PAD_LEFT)
        right = (xs[i] + xs[i + 1]) / 2 if i + 1 < len(xs) else min(xs[i] + 4, WIDTH - PAD_RIGHT)
        y = _y(value, low, high)
        label = f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC: {text(value)}"
        out.append(
            f'<g class="point"><title>{escape(label)}</title>'
            f'<rect x="{left:.1f}" y="{PAD_TOP}" width="{max(right - left, 1):.1f}" '
            f'height="{HEIGHT - PAD_TOP - PAD_BOTTOM}" fill="transparent"/>'
            f'<circle cx="{xs[i]:.1f}" cy="{y:.1f}" r="3.5" fill="#2d5bd7"/></g>'
        )
    return out


def budget_bar(remaining: float) -> str:
    """A small horizontal bar of the budget left (amber below a quarter, red when overspent)."""
    share = min(max(remaining, 0.0), 1.0)
    colour = "#16a34a" if remaining > 0.25 else "#ea580c" if remaining > 0 else "#dc2626"
    return (
        f'<svg class="budget-bar" viewBox="0 0 100 10" width="120" height="12" role="img" '
        f'aria-label="{remaining * 100:.1f}% of the error budget left" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="100" height="10" fill="#e4e4e7"/><rect width="{share * 100:.1f}" height="10" '
        f'fill="{colour}"/></svg>'
    )
