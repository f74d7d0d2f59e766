"""A drill's report as Markdown: the scenario, each expectation met or missed with its evidence, the points
per participant, the timeline, and the debrief's notes and action items. Pure: everything comes in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from mamori.gamedays.scoring import Entry, Score

ICONS = {"met": "met", "late": "late", "partial": "partial", "missed": "MISSED", "pending": "pending"}


def _took(delta: timedelta | None) -> str:
    if delta is None:
        return "-"
    minutes, seconds = divmod(int(delta.total_seconds()), 60)
    return f"{minutes}m{seconds:02d}s"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(
    *,
    title: str,
    drill_id: str,
    status: str,
    started_at: datetime | None,
    ended_at: datetime | None,
    abort_reason: str | None,
    score: Score,
    entries: Sequence[Entry],
    texts: dict[int, str],
    notes: str,
    action_items: Sequence[str],
) -> str:
    """`texts` maps entry ids to their timeline text."""
    lines = [f"# [DRILL] {_cell(title)}", "", f"Drill `{drill_id}`: {status}."]
    if started_at:
        lines.append(f"Started {started_at.isoformat()}" + (f", ended {ended_at.isoformat()}." if ended_at else "."))
    if abort_reason:
        lines.append(f"Aborted: {_cell(abort_reason)}")
    lines += ["", f"Team score: **{score.team_percent:g}%** ({score.points:g} of {score.possible:g} points).", ""]
    lines += ["## Expectations", "", "| expectation | outcome | took | points | evidence |", "|---|---|---|---|---|"]
    for o in score.outcomes:
        evidence = "; ".join(_cell(texts.get(e.ref or -1, e.kind)) for e in o.evidence) or "-"
        if o.note:
            evidence += f" ({_cell(o.note)})"
        lines.append(
            f"| {o.expectation} ({o.kind}) | {ICONS[o.outcome]} | {_took(o.took)} "
            f"| {o.points:g}/{o.weight:g} | {evidence} |"
        )
    lines += [
        "",
        "## Participants",
        "",
        "| person | role | points | credited | incident roles | acks |",
        "|---|---|---|---|---|---|",
    ]
    for p in score.participants:
        lines.append(
            f"| {_cell(p.user)} | {p.role or 'not listed'} | {p.points:g} | {', '.join(p.credited) or '-'} "
            f"| {', '.join(p.incident_roles) or '-'} | {p.acknowledged} |"
        )
    lines += [
        "",
        f"Time to acknowledge {_took(score.time_to_acknowledge)}, to declare {_took(score.time_to_declare)}, "
        f"to mitigate {_took(score.time_to_mitigate)}.",
        "",
        "## Timeline",
        "",
    ]
    lines += [f"- {e.at.isoformat()} {_cell(texts.get(e.ref or -1, e.kind))}" for e in entries]
    lines += ["", "## Debrief notes", "", notes.strip() or "(none yet)", "", "## Action items", ""]
    lines += [f"- [ ] {_cell(item)}" for item in action_items] or ["(none yet)"]
    return "\n".join(lines) + "\n"
