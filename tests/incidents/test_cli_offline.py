from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mamori.cli import app
from tests.incidents.examples import write_config

runner = CliRunner()


def test_alerts_route_prints_the_issue_fields_for_each_alert(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    payload = tmp_path / "payload.json"
    payload.write_text(
        json.dumps(
            {
                "version": "4",
                "status": "firing",
                "alerts": [
                    {
                        "status": "firing",
                        "labels": {"alertname": "HighLatency", "service": "jobs-api", "severity": "critical"},
                    },
                    {"status": "firing", "labels": {"alertname": "Other", "service": "jobs-web"}},
                ],
            }
        )
    )
    result = runner.invoke(
        app, ["alerts", "route", "--config", str(config), "--payload", str(payload), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert [set(r) for r in rows] == [
        {"fingerprint", "group_key", "service", "team", "severity", "escalation_policy", "route_index"}
    ] * 2
    assert rows[0]["route_index"] == 0 and rows[0]["severity"] == "SEV2"
    assert rows[1]["route_index"] is None and rows[1]["severity"] == "SEV3" and rows[1]["service"] == "jobs-web"


def test_alerts_route_refuses_a_payload_without_labels(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    payload = tmp_path / "payload.json"
    payload.write_text(json.dumps({"alerts": [{"status": "firing"}]}))
    result = runner.invoke(app, ["alerts", "route", "--config", str(config), "--payload", str(payload)])
    assert result.exit_code == 2
    assert "alerts[0].labels" in result.output


def test_oncall_who_prints_schedule_at_users_and_layer(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    result = runner.invoke(
        app,
        [
            "oncall",
            "who",
            "--config",
            str(config),
            "--schedule",
            "backend-primary",
            "--at",
            "2026-03-29T12:00:00Z",
            "--format",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "schedule": "backend-primary",
        "at": "2026-03-29T12:00:00Z",
        "users": ["frank@example.com"],
        "layer": "override",
    }


def test_oncall_shifts_lists_final_shifts(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    result = runner.invoke(
        app,
        [
            "oncall",
            "shifts",
            "--config",
            str(config),
            "--schedule",
            "backend-primary",
            "--from",
            "2026-03-28T00:00:00Z",
            "--to",
            "2026-03-31T00:00:00Z",
        ],
    )
    assert result.exit_code == 0, result.output
    shifts = json.loads(result.stdout)["shifts"]
    assert {
        "start": "2026-03-28T19:00:00Z",
        "end": "2026-03-30T07:00:00Z",
        "user": "frank@example.com",
        "layer": "override",
    } in shifts


def test_oncall_shifts_as_ical_reads_back_as_the_json_shifts(tmp_path: Path) -> None:
    from datetime import datetime

    from mamori.incidents.oncall import ical

    config = write_config(tmp_path / "config")
    base = ["oncall", "shifts", "--config", str(config), "--schedule", "backend-primary"]
    window = ["--from", "2026-03-28T00:00:00Z", "--to", "2026-03-31T00:00:00Z"]
    as_json = runner.invoke(app, [*base, *window])
    as_ical = runner.invoke(app, [*base, *window, "--format", "ical"])
    assert as_ical.exit_code == 0, as_ical.output
    raw = as_ical.stdout_bytes.decode()
    assert raw.startswith("BEGIN:VCALENDAR\r\n") and raw.endswith("END:VCALENDAR\r\n"), "RFC 5545 CRLF lines"
    events = ical.parse_events(raw)
    expected = [s for s in json.loads(as_json.stdout)["shifts"] if s["user"]]
    assert [(e.start, e.end, e.user) for e in events] == [
        (datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"]), s["user"]) for s in expected
    ]
    bad = runner.invoke(app, [*base, *window, "--format", "yaml"])
    assert bad.exit_code == 2 and "unsupported --format" in bad.output


def test_oncall_who_with_unknown_schedule_names_the_known_ones(tmp_path: Path) -> None:
    config = write_config(tmp_path / "config")
    result = runner.invoke(
        app, ["oncall", "who", "--config", str(config), "--schedule", "nope", "--at", "2026-03-29T12:00:00Z"]
    )
    assert result.exit_code == 4
    assert "backend-primary" in result.output
