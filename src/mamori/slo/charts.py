"""Server-side SVG charts for the SLO pages: a line over time with a target line and timeline markers. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

WIDTH, HEIGHT, PAD_LEFT, PAD_RIGHT, PAD_Y = 720, 180, 48, 12, 18
MARKER_COLOURS = {
    "deploy": "#2563eb",
    "flag_change": "#9333ea",
    "incident": "#dc2626",
    "slo_burn": "#ea580c",
    "slo_policy": "#0f766e",
}


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
    return HEIGHT - PAD_Y - (HEIGHT - 2 * PAD_Y) * (clamped - low) / span


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
    """An accessible SVG: the series (gaps where None), an optional reference line, and vertical markers."""

    def fmt(value: float) -> str:
        return f"{value * 100:.2f}%" if percent else f"{value:g}"

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<rect x="{PAD_LEFT}" y="{PAD_Y}" width="{WIDTH - PAD_LEFT - PAD_RIGHT}" '
        f'height="{HEIGHT - 2 * PAD_Y}" fill="none" stroke="#d4d4d8"/>',
        f'<text x="4" y="{PAD_Y + 4}" font-size="10">{escape(fmt(high))}</text>',
        f'<text x="4" y="{HEIGHT - PAD_Y}" font-size="10">{escape(fmt(low))}</text>',
    ]
    if reference is not None:
        y = _y(reference, low, high)
        parts.append(
            f'<line class="reference" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="#16a34a" stroke-dasharray="4 3"><title>{escape(fmt(reference))}</title></line>'
        )
    for marker in markers or []:
        if not start <= marker.at <= end:
            continue
        x = _x(marker.at, start, end)
        colour = MARKER_COLOURS.get(marker.kind, "#71717a")
        parts.append(
            f'<line class="marker {escape(marker.kind)}" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_Y}" '
            f'y2="{HEIGHT - PAD_Y}" stroke="{colour}"><title>{escape(marker.label)}</title></line>'
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
            f'<polyline class="series" fill="none" stroke="#18181b" stroke-width="1.5" points="{" ".join(seg)}"/>'
        )
    parts.append(
        f'<text x="{PAD_LEFT}" y="{HEIGHT - 2}" font-size="10">{start:%Y-%m-%d %H:%M}</text>'
        f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 2}" font-size="10" text-anchor="end">'
        f"{end:%Y-%m-%d %H:%M}</text></svg>"
    )
    return "".join(parts)


def budget_bar(remaining: float) -> str:
    """A small horizontal bar of the budget left (red when overspent)."""
    share = min(max(remaining, 0.0), 1.0)
    colour = "#16a34a" if remaining > 0.25 else "#ea580c" if remaining > 0 else "#dc2626"
    return (
        f'<svg class="budget-bar" viewBox="0 0 100 10" width="120" height="12" role="img" '
        f'aria-label="{remaining * 100:.1f}% of the error budget left" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="100" height="10" fill="#e4e4e7"/><rect width="{share * 100:.1f}" height="10" '
        f'fill="{colour}"/></svg>'
    )
