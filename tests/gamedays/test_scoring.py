"""Scoring is pure: a scenario and a timeline in, each expectation met, late, partial, missed or pending out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mamori.gamedays import scoring
from mamori.gamedays.scenario import GameDaySpec
from mamori.gamedays.scoring import Entry

T0 = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def spec(*expectations: dict[str, Any], injects: list[dict[str, Any]] | None = None) -> GameDaySpec:
    return GameDaySpec.model_validate(
        {
            "title": "t",
            "kind": "outage",
            "participants": [
                {"user": "gm@x.io", "role": "game-master"},
                {"user": "bob@x.io"},
                {"user": "alice@x.io"},
            ],
            "injects": injects or [{"id": "page", "at": "1m", "alert": {"integration": "i", "title": "down"}}],
            "expectations": list(expectations),
        }
    )


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def e(minutes: float, kind: str, actor: str | None = None, **data: Any) -> Entry:
    return Entry(at=at(minutes), kind=kind, actor=actor, data=data)


FIRED = e(1, scoring.INJECT_FIRED, inject="page", inject_kind="alert")


def only(result: scoring.Score) -> scoring.Outcome:
    (outcome,) = result.outcomes
    return outcome


def test_an_ack_inside_the_deadline_counted_from_the_inject_is_met_and_credits_who_acked() -> None:
    s = spec({"id": "ack", "after": "page", "acknowledge": {"within": "5m"}})
    result = scoring.score(s, [FIRED, e(5.5, scoring.ACKNOWLEDGED, "bob@x.io")], start=T0, end=at(30), now=at(30))
    outcome = only(result)
    assert (outcome.outcome, outcome.points, outcome.took) == ("met", 1.0, timedelta(minutes=4.5))
    assert outcome.deadline == at(6) and outcome.credited == ("bob@x.io",)
    bob = next(p for p in result.participants if p.user == "bob@x.io")
    assert bob.points == 1.0 and bob.acknowledged == 1 and result.team_percent == 100.0


def test_an_ack_after_the_deadline_is_late_for_half_the_points() -> None:
    s = spec({"id": "ack", "after": "page", "acknowledge": {"within": "5m"}})
    outcome = only(scoring.score(s, [FIRED, e(7, scoring.ACKNOWLEDGED, "bob@x.io")], start=T0, end=at(30), now=at(30)))
    assert (outcome.outcome, outcome.points) == ("late", 0.5)


def test_no_ack_is_pending_while_the_deadline_is_ahead_and_missed_after() -> None:
    s = spec({"id": "ack", "acknowledge": {"within": "5m"}})
    assert only(scoring.score(s, [FIRED], start=T0, end=None, now=at(3))).outcome == "pending"
    assert only(scoring.score(s, [FIRED], start=T0, end=None, now=at(6))).outcome == "missed"
    assert only(scoring.score(s, [FIRED], start=T0, end=at(2), now=at(3))).outcome == "missed"  # the drill ended


def test_an_expectation_after_an_inject_that_never_fired_is_missed_and_says_why() -> None:
    s = spec({"id": "ack", "after": "page", "acknowledge": {"within": "5m"}})
    outcome = only(scoring.score(s, [e(2, scoring.ACKNOWLEDGED, "bob@x.io")], start=T0, end=at(30), now=at(30)))
    assert outcome.outcome == "missed" and "never fired" in outcome.note


@pytest.mark.parametrize(
    ("declared", "points", "outcome"),
    [("SEV2", 1.0, "met"), ("SEV1", 0.75, "partial"), ("SEV3", 0.25, "partial"), ("SEV4", 0.0, "missed")],
)
def test_declaring_too_low_costs_more_than_declaring_too_high(declared: str, points: float, outcome: str) -> None:
    s = spec({"id": "d", "declare": {"severity": "SEV2", "within": "10m"}})
    got = only(
        scoring.score(s, [e(4, scoring.DECLARED, "bob@x.io", severity=declared)], start=T0, end=at(30), now=at(30))
    )
    assert (got.points, got.outcome) == (points, outcome)


def test_a_severity_corrected_before_the_deadline_counts_as_corrected() -> None:
    s = spec({"id": "d", "declare": {"severity": "SEV2", "within": "10m"}})
    timeline = [
        e(4, scoring.DECLARED, "bob@x.io", severity="SEV3"),
        e(8, scoring.SEVERITY_CHANGED, "alice@x.io", severity="SEV2"),
    ]
    got = only(scoring.score(s, timeline, start=T0, end=at(30), now=at(30)))
    assert (got.outcome, got.points) == ("met", 1.0)
    assert got.credited == ("bob@x.io", "alice@x.io")
    late_fix = [
        e(4, scoring.DECLARED, "bob@x.io", severity="SEV3"),
        e(12, scoring.SEVERITY_CHANGED, "alice@x.io", severity="SEV2"),
    ]
    assert only(scoring.score(s, late_fix, start=T0, end=at(30), now=at(30))).points == 0.25


def test_a_role_counts_for_the_person_who_holds_it_and_the_one_who_gave_it() -> None:
    s = spec({"id": "ic", "assignRole": {"role": "commander", "within": "10m"}})
    timeline = [
        e(3, scoring.ROLE_ASSIGNED, "bob@x.io", role="scribe", person="bob@x.io"),
        e(6, scoring.ROLE_ASSIGNED, "bob@x.io", role="commander", person="alice@x.io"),
    ]
    result = scoring.score(s, timeline, start=T0, end=at(30), now=at(30))
    got = only(result)
    assert (got.outcome, got.met_at, got.credited) == ("met", at(6), ("alice@x.io", "bob@x.io"))
    alice = next(p for p in result.participants if p.user == "alice@x.io")
    assert alice.incident_roles == ("commander",)


def test_status_updates_score_the_first_update_and_the_share_of_intervals_within_cadence() -> None:
    s = spec({"id": "u", "statusUpdates": {"firstWithin": "15m", "cadence": "30m"}})
    timeline = [
        e(10, scoring.STATUS_UPDATED, "alice@x.io", status="investigating"),
        e(30, scoring.STATUS_UPDATED, "alice@x.io", status="identified"),  # gap 20m: kept
        e(80, scoring.STATUS_UPDATED, "alice@x.io", status="monitoring"),  # gap 50m: not kept
        e(90, scoring.INCIDENT_RESOLVED, "alice@x.io"),  # gap 10m to the resolution: kept
    ]
    got = only(scoring.score(s, timeline, start=T0, end=at(120), now=at(120)))
    assert got.outcome == "partial"
    assert got.points == pytest.approx(0.5 + 0.5 * 2 / 3, abs=1e-4)
    assert len(got.evidence) == 3


def test_a_kill_switch_needs_the_named_flag_and_a_postmortem_stays_pending_for_days() -> None:
    s = spec(
        {"id": "k", "killSwitch": {"flag": "checkout-v2", "within": "20m"}},
        {"id": "pm", "postmortem": {"within": "5d"}},
    )
    timeline = [
        e(5, scoring.FLAG_CHANGED, "bob@x.io", flag="other"),
        e(9, scoring.FLAG_CHANGED, "bob@x.io", flag="checkout-v2"),
    ]
    result = scoring.score(s, timeline, start=T0, end=at(60), now=at(60 * 24))
    kill, postmortem = result.outcomes
    assert (kill.outcome, kill.met_at) == ("met", at(9))
    assert postmortem.outcome == "pending" and postmortem.deadline == T0 + timedelta(days=5)
    done = scoring.score(
        s, [*timeline, e(60 * 48, scoring.POSTMORTEM, "alice@x.io")], start=T0, end=at(60), now=at(60 * 49)
    )
    assert done.outcomes[1].outcome == "met"


def test_entries_after_an_abort_do_not_count() -> None:
    s = spec({"id": "ack", "acknowledge": {"within": "30m"}})
    outcome = only(scoring.score(s, [e(10, scoring.ACKNOWLEDGED, "bob@x.io")], start=T0, end=at(5), now=at(20)))
    assert outcome.outcome == "missed"


def test_team_percent_weighs_expectations_and_times_are_measured_from_the_first_alert() -> None:
    s = spec(
        {"id": "ack", "acknowledge": {"within": "5m"}},
        {"id": "rotate", "action": {"name": "rotate-credential", "within": "30m"}, "weight": 3},
    )
    timeline = [
        FIRED,
        e(3, scoring.ACKNOWLEDGED, "bob@x.io"),
        e(9, scoring.DECLARED, "bob@x.io", severity="SEV2"),
        e(20, scoring.STATUS_UPDATED, "bob@x.io", status="monitoring"),
    ]
    result = scoring.score(s, timeline, start=T0, end=at(60), now=at(60))
    assert result.points == 1.0 and result.possible == 4.0 and result.team_percent == 25.0
    assert result.time_to_acknowledge == timedelta(minutes=2)
    assert result.time_to_declare == timedelta(minutes=8)
    assert result.time_to_mitigate == timedelta(minutes=19)


def test_rescoring_the_same_timeline_with_a_changed_rule_changes_only_that_outcome() -> None:
    timeline = [FIRED, e(8, scoring.ACKNOWLEDGED, "bob@x.io")]
    strict = spec({"id": "ack", "acknowledge": {"within": "5m"}})
    lenient = spec({"id": "ack", "acknowledge": {"within": "10m"}})
    assert only(scoring.score(strict, timeline, start=T0, end=at(30), now=at(30))).outcome == "late"
    assert only(scoring.score(lenient, timeline, start=T0, end=at(30), now=at(30))).outcome == "met"


def test_a_team_gets_each_expectation_one_of_its_members_is_credited_with_once() -> None:
    s = spec(
        {"id": "ack", "acknowledge": {"within": "5m"}},
        {"id": "ic", "assignRole": {"role": "commander", "within": "10m"}},
        {"id": "rotate", "action": {"name": "rotate", "within": "10m"}, "weight": 2},
    )
    timeline = [
        e(2, scoring.ACKNOWLEDGED, "bob@x.io"),
        e(4, scoring.ROLE_ASSIGNED, "bob@x.io", role="commander", person="alice@x.io"),
    ]
    result = scoring.score(s, timeline, start=T0, end=at(30), now=at(30))
    teams = scoring.team_scores(result, {"bob@x.io": ["backend"], "alice@x.io": ["backend", "security"]})
    assert [(t.team, t.points, t.percent, t.credited) for t in teams] == [
        ("backend", 2.0, 50.0, ("ack", "ic")),
        ("security", 1.0, 25.0, ("ic",)),
    ]


def test_updates_without_a_status_change_keep_the_cadence_and_a_change_posted_with_its_update_counts_once() -> None:
    s = spec({"id": "u", "statusUpdates": {"firstWithin": "15m", "cadence": "30m"}})
    timeline = [
        e(10, scoring.STATUS_UPDATED, "alice@x.io", status="identified", incident_id="i1"),
        e(10, scoring.UPDATE_POSTED, "alice@x.io", audience="internal", incident_id="i1"),  # the same act
        e(35, scoring.UPDATE_POSTED, "alice@x.io", audience="internal", incident_id="i1"),  # no change: counts
        e(60, scoring.UPDATE_POSTED, "alice@x.io", audience="internal", incident_id="i1"),
        e(80, scoring.STATUS_UPDATED, "bob@x.io", status="monitoring", incident_id="i1"),  # a change, no update
    ]
    got = only(scoring.score(s, timeline, start=T0, end=at(100), now=at(100)))
    assert got.outcome == "met" and got.met_at == at(10)
    assert [(x.at, x.kind) for x in got.evidence] == [
        (at(10), scoring.UPDATE_POSTED),
        (at(35), scoring.UPDATE_POSTED),
        (at(60), scoring.UPDATE_POSTED),
        (at(80), scoring.STATUS_UPDATED),
    ]
    assert got.credited == ("alice@x.io", "bob@x.io")
    # without the updates that changed nothing, the gaps 10 -> 80 and the first update alone would miss the cadence
    fewer = [x for x in timeline if not (x.kind == scoring.UPDATE_POSTED and x.at != at(10))]
    worse = only(scoring.score(s, fewer, start=T0, end=at(100), now=at(100)))
    assert worse.points == pytest.approx(0.5 + 0.5 * 1 / 2, abs=1e-4)
