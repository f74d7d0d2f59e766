"""iCalendar export (secret feed URLs) and import as a schedule layer: folding, escaping, TZID/UTC/floating, DST."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from mamori.core import manifest
from mamori.core.errors import ValidationFailed
from mamori.core.runtime import Runtime
from mamori.incidents.kinds.documents import ScheduleSpec
from mamori.incidents.oncall import ical
from mamori.incidents.oncall.rotation import final_shifts, who
from tests.conftest import issue_token
from tests.incidents.examples import SCHEDULE
from tests.incidents.fakes import apply_config

EXAMPLE = ScheduleSpec.model_validate(yaml.safe_load(SCHEDULE)["spec"])
T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def z(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def vcal(*events: str) -> str:
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n"


def test_long_lines_fold_at_75_octets_without_splitting_characters() -> None:
    line = "SUMMARY:" + "Bereitschaft für Jürgen - 東京 on call; " * 6
    folded = ical.fold(line)
    physical = folded.split("\r\n")
    assert len(physical) > 3
    assert all(len(p.encode("utf-8")) <= 75 for p in physical)
    assert all(p.startswith(" ") for p in physical[1:])
    assert [text for _, text in ical.unfold(folded)] == [line]


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_text_escaping_round_trips(value: str) -> None:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    escaped = ical.escape_text(value)
    assert "\n" not in escaped and "\r" not in escaped
    assert ical.unescape_text(escaped) == value


def test_exported_schedule_reads_back_as_the_same_shifts_across_dst() -> None:
    start, end = z("2026-03-26T00:00:00Z"), z("2026-04-02T00:00:00Z")  # CET -> CEST on 29 March
    shifts = [s for s in final_shifts(EXAMPLE, start, end) if s.user]
    text = ical.calendar((("backend-primary", s) for s in shifts), name="On call, backend; primary", now=T0)
    assert text.endswith("END:VCALENDAR\r\n") and "\n" not in text.replace("\r\n", "")
    assert "X-WR-CALNAME:On call\\, backend\\; primary\r\n" in text
    events = ical.parse_events(text)
    assert [(e.start, e.end, e.user) for e in events] == [(s.start, s.end, s.user) for s in shifts]
    assert any(e.user == "frank@example.com" for e in events), "the override is exported"
    # a weekday-days shift after the change starts at local 09:00 = 07:00Z, before it 08:00Z
    dave_or_erin = [e.start for e in events if e.user in ("dave@example.com", "erin@example.com")]
    assert z("2026-03-27T08:00:00Z") in dave_or_erin and z("2026-03-30T07:00:00Z") in dave_or_erin
    assert len({e.uid for e in events}) == len(events)


JANE = 'ATTENDEE;CN="Doe: Jane":mailto:Jane@Example.com'


def test_import_reads_utc_tzid_floating_date_and_duration_forms() -> None:
    text = vcal(
        "UID:1\r\nDTSTART:20260328T080000Z\r\nDTEND:20260328T200000Z\r\n" + JANE,
        "DTSTART;TZID=Europe/Berlin:20260329T090000\r\nDURATION:PT9H\r\nSUMMARY:On call: bob@example.com",
        "DTSTART;VALUE=DATE:20260330\r\nDTEND;VALUE=DATE:20260331\r\nSUMMARY:carol@example.com\\, all day",
    )
    a, b, c = ical.parse_events(text)
    assert (a.start, a.end, a.user) == (z("2026-03-28T08:00:00Z"), z("2026-03-28T20:00:00Z"), "jane@example.com")
    assert b.start.astimezone(UTC) == z("2026-03-29T07:00:00Z")  # CEST already
    assert b.end.astimezone(UTC) == z("2026-03-29T16:00:00Z") and b.user == "bob@example.com"
    assert (c.start, c.end, c.user) == (datetime(2026, 3, 30), datetime(2026, 3, 31), "carol@example.com")
    assert c.start.tzinfo is None, "floating times stay local to the schedule"


@pytest.mark.parametrize(
    ("event", "message"),
    [
        ("DTEND:20260328T200000Z\r\nSUMMARY:a@b.io", "has no DTSTART"),
        ("DTSTART:20260328T080000Z\r\nSUMMARY:a@b.io", "neither DTEND nor DURATION"),
        ("DTSTART:20260328T080000Z\r\nDTEND:20260328T070000Z\r\nSUMMARY:a@b.io", "ends before it starts"),
        ("DTSTART;TZID=Mars/Olympus:20260328T080000\r\nDURATION:PT1H\r\nSUMMARY:a@b.io", "unknown TZID"),
        ("DTSTART:2026-03-28\r\nDURATION:PT1H\r\nSUMMARY:a@b.io", "is not an iCalendar date"),
        ("DTSTART:20260328T080000Z\r\nDURATION:PT1H\r\nSUMMARY:nobody", "cannot tell who is on call"),
        ("DTSTART:20260328T080000Z\r\nDURATION:PT1H\r\nSUMMARY:a@b.io\r\nRRULE:FREQ=WEEKLY", "recurring"),
    ],
)
def test_bad_events_are_refused_with_the_reason(event: str, message: str) -> None:
    with pytest.raises(ical.ICalError, match=message):
        ical.parse_events(vcal(event))


def test_not_a_calendar_is_refused() -> None:
    with pytest.raises(ical.ICalError, match="BEGIN:VCALENDAR"):
        ical.parse_events("hello")
    with pytest.raises(ical.ICalError, match="missing END:VEVENT"):
        ical.parse_events("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:20260101T000000Z\r\n")


IMPORTING = """\
apiVersion: mamori.dev/v1
kind: Schedule
metadata: {name: imported}
spec:
  timeZone: Europe/Berlin
  layers:
    - name: base
      start: 2026-01-05T09:00:00
      rotation: {type: weekly}
      users: [alice@example.com]
    - name: holiday-cover
      ical: cover.ics
"""


def test_an_ical_file_becomes_a_layer_that_beats_the_layers_before_it(tmp_path: Path, make_kinds: object) -> None:
    (tmp_path / "schedule.yaml").write_text(IMPORTING)
    (tmp_path / "cover.ics").write_text(
        vcal(
            # floating local times: Sunday 29 March 09:00 Berlin is already CEST
            "DTSTART:20260329T090000\r\nDTEND:20260329T180000\r\nATTENDEE:mailto:bob@example.com",
            "DTSTART:20260328T080000Z\r\nDTEND:20260328T100000Z\r\nSUMMARY:carol@example.com",
        )
    )
    bundle = manifest.load(tmp_path, make_kinds)  # type: ignore[arg-type]
    spec: ScheduleSpec = bundle.documents[0].model
    assert who(spec, z("2026-03-29T06:59:00Z")).user == "alice@example.com"
    assert who(spec, z("2026-03-29T07:00:00Z")).user == "bob@example.com"
    assert who(spec, z("2026-03-29T07:00:00Z")).layer == "holiday-cover"
    assert who(spec, z("2026-03-29T16:00:00Z")).user == "alice@example.com"
    assert who(spec, z("2026-03-28T09:00:00Z")).user == "carol@example.com"
    stored = bundle.documents[0].spec["layers"][1]
    assert stored["ical"] == "cover.ics" and len(stored["shifts"]) == 2, "the events are kept with the spec"


def test_an_unreadable_ical_layer_is_a_problem_naming_the_field(tmp_path: Path, make_kinds: object) -> None:
    (tmp_path / "schedule.yaml").write_text(IMPORTING)
    with pytest.raises(ValidationFailed) as missing:
        manifest.load(tmp_path, make_kinds)  # type: ignore[arg-type]
    assert [p.loc for p in missing.value.problems] == ["spec.layers[1].ical"]
    (tmp_path / "cover.ics").write_text(vcal("DTSTART:20260328T080000Z\r\nSUMMARY:a@b.io"))
    with pytest.raises(ValidationFailed) as bad:
        manifest.load(tmp_path, make_kinds)  # type: ignore[arg-type]
    assert "cover.ics" in bad.value.problems[0].msg and "neither DTEND nor DURATION" in bad.value.problems[0].msg


@pytest.fixture
def make_kinds() -> object:
    from mamori.core.config import load_settings
    from mamori.wiring import build_runtime

    rt = build_runtime(load_settings(env={}, database_url="sqlite://"))
    yield rt.kinds
    rt.engine.dispose()


def test_secret_feed_urls_serve_schedule_and_personal_calendars(
    runtime: Runtime, client: TestClient, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply_config(runtime, tmp_path / "c")
    got = client.get("/api/v1/oncall/schedules/backend-primary/ical", headers=auth_headers)
    assert got.status_code == 200
    path = got.json()["url"].split("://", 1)[1].split("/", 1)[1]
    feed = client.get(f"/{path}")  # no credentials: the token in the URL is the secret
    assert feed.status_code == 200 and feed.headers["content-type"].startswith("text/calendar")
    events = ical.parse_events(feed.text)
    assert {e.user for e in events} >= {"bob@example.com", "dave@example.com"}
    now_shift = [e for e in events if e.start <= runtime.now() < e.end]
    assert [e.user for e in now_shift] == ["bob@example.com"]

    token = path.rsplit("/", 1)[1].removesuffix(".ics")
    body, mac = token.split(".")
    assert client.get(f"/hooks/oncall/ical/{body}.{mac[:-2]}AA.ics").status_code == 403
    assert client.get("/api/v1/oncall/schedules/nope/ical", headers=auth_headers).status_code == 404

    bob = issue_token(runtime, "read", email="bob@example.com", role="viewer")
    assert (
        client.get(
            "/api/v1/oncall/users/carol@example.com/ical", headers={"Authorization": f"Bearer {bob}"}
        ).status_code
        == 403
    )
    mine = client.get("/api/v1/oncall/users/bob@example.com/ical", headers={"Authorization": f"Bearer {bob}"})
    assert mine.status_code == 200
    personal = client.get("/" + mine.json()["url"].split("://", 1)[1].split("/", 1)[1])
    users = {e.user for e in ical.parse_events(personal.text)}
    assert users == {"bob@example.com"}
