"""Server-rendered SVG charts of the scorecards page: TPR and FPR bars per tool, and each tool's score
over time. Pure: values in, escaped SVG text out (no script, no external asset)."""

from __future__ import annotations

from datetime import datetime
from html import escape

PALETTE = ("#2f6fdf", "#d9534f", "#3a9d5d", "#b7791f", "#7b61c4", "#2c8c99")


def bars(rows: list[tuple[str, float, float]], *, width: int = 600) -> str:
    """One group per tool: (name, TPR, FPR), each 0..1, as two horizontal bars with their percentages."""
    row_h, label_w = 44, 180
    height = row_h * len(rows) + 28
    scale = width - label_w - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>True and false positive rates per tool</title>'
    ]
    for i, (name, tpr, fpr) in enumerate(rows):
        y = 8 + i * row_h
        parts.append(f'<text x="0" y="{y + 22}" font-size="13">{escape(name)}</text>')
        for j, (value, colour, label) in enumerate(((tpr, "#3a9d5d", "TPR"), (fpr, "#d9534f", "FPR"))):
            bar_y = y + j * 18
            length = max(0.0, min(1.0, value)) * scale
            parts.append(
                f'<rect x="{label_w}" y="{bar_y}" width="{length:.1f}" height="14" fill="{colour}">'
                f"<title>{label} {value:.1%}</title></rect>"
                f'<text x="{label_w + length + 4:.1f}" y="{bar_y + 12}" font-size="11">{label} {value:.1%}</text>'
            )
    parts.append(
        f'<text x="{label_w}" y="{height - 4}" font-size="11" fill="#555">green: true positive rate, '
        "red: false positive rate</text></svg>"
    )
    return "".join(parts)


def trend(series: dict[str, list[tuple[datetime, float]]], *, width: int = 520, height: int = 180) -> str:
    """Each tool's score (TPR - FPR, -1..1) over time as a line, with the zero line drawn."""
    points = [at for values in series.values() for at, _ in values]
    if not points:
        return ""
    start, end = min(points), max(points)
    span = (end - start).total_seconds() or 1.0
    left, top, plot_w, plot_h = 40, 10, width - 150, height - 30

    def xy(at: datetime, value: float) -> str:
        x = left + (at - start).total_seconds() / span * plot_w
        y = top + (1 - (max(-1.0, min(1.0, value)) + 1) / 2) * plot_h
        return f"{x:.1f},{y:.1f}"

    zero = top + plot_h / 2
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}"><title>Score (TPR - FPR) over time per tool</title>'
        f'<line x1="{left}" y1="{zero}" x2="{left + plot_w}" y2="{zero}" stroke="#999" stroke-dasharray="4 3"/>'
        f'<text x="0" y="{top + 10}" font-size="11">+100%</text><text x="8" y="{zero + 4}" font-size="11">0</text>'
        f'<text x="0" y="{top + plot_h}" font-size="11">-100%</text>'
    ]
    for i, (tool, values) in enumerate(sorted(series.items())):
        colour = PALETTE[i % len(PALETTE)]
        line = " ".join(xy(at, v) for at, v in values)
        parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for at, v in values:
            x, y = xy(at, v).split(",")
            parts.append(
                f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"><title>{escape(tool)} {at:%Y-%m-%d}: '
                f"{v:+.1%}</title></circle>"
            )
        parts.append(
            f'<text x="{left + plot_w + 10}" y="{top + 14 + 16 * i}" font-size="12" fill="{colour}">'
            f"{escape(tool)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
