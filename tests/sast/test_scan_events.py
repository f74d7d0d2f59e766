"""What a stored scan tells the rest of Mamori: its counts per tool and severity reach the delivery domain's
static-analysis counts through `ScanImported` (the worker delivers it), and every finding it opens from low
up lands on the timeline, with a summary per scan."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from mamori.core import manifest
from mamori.core.audit import Actor
from mamori.core.models import TimelineEvent
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.delivery.models import DeliveryCodeStat
from mamori.delivery.service import queries as delivery_queries
from mamori.demo import DEMO_CONFIG
from mamori.sast import demo
from mamori.sast.service import intake
from mamori.sast.service.scans import Upload

REPO = "jobly-example/jobs-api"  # the demo catalog's jobs-api service


def _sarif(levels: list[tuple[str, str, int, bool]]) -> bytes:
    results = []
    for rule, level, line, suppressed in levels:
        where = {"artifactLocation": {"uri": "app/x.py"}, "region": {"startLine": line}}
        result = {
            "ruleId": rule, "level": level, "message": {"text": f"{rule} at {line}"},
            "locations": [{"physicalLocation": where}],
        }  # fmt: skip
        if suppressed:
            result["suppressions"] = [{"kind": "inSource", "status": "accepted"}]
        results.append(result)
    run = {"tool": {"driver": {"name": "Lintel"}}, "results": results}
    return json.dumps({"version": "2.1.0", "runs": [run]}).encode()


def _store(runtime: Runtime, payload: bytes, commit: str, **kw: object) -> None:
    with runtime.sessions.begin() as session:
        intake.upload(
            session, payload=payload, upload=Upload(repo=REPO, commit=commit, **kw),  # type: ignore[arg-type]
            now=runtime.now(), bus=runtime.bus,
        )  # fmt: skip


def _apply_catalog(runtime: Runtime) -> None:
    manifest.apply(runtime, manifest.load(DEMO_CONFIG, runtime.kinds), actor=Actor(name="t", source="config"))


def test_scan_counts_per_tool_and_severity_reach_delivery_by_event(runtime: Runtime) -> None:
    _apply_catalog(runtime)
    demo.seed(runtime)  # bandit and semgrep on main (BASE), then on pull request 42 (HEAD)
    with runtime.sessions() as session:
        assert session.scalars(select(DeliveryCodeStat)).all() == []  # only the worker delivers the event
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        lints = delivery_queries.code_stats(
            session, service="jobs-api", kind="lint", since=runtime.now() - timedelta(days=30)
        )
        got = {tool: [(r.sha, r.counts, r.total) for r in rows] for tool, rows in lints.items()}
    # the pull request's scans are not the service's code: only main's are counted
    assert got == {
        "bandit": [(demo.BASE, {"high": 2, "low": 1}, 3)],
        "semgrep": [(demo.BASE, {"high": 1}, 1)],
    }

    payload = _sarif([("L1", "error", 3, False), ("L2", "warning", 5, False), ("L3", "note", 7, True)])
    _store(runtime, payload, "e" * 40, branch="main")
    _store(runtime, payload, "f" * 40, scanned_paths=["app/x.py"])  # partial: not a count of the service
    _store(runtime, payload, "1" * 40, pr=43)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        rows = session.scalars(select(DeliveryCodeStat).where(DeliveryCodeStat.tool == "lintel")).all()
        assert [(r.service, r.sha, r.counts) for r in rows] == [("jobs-api", "e" * 40, {"high": 1, "medium": 1})]


def test_a_scan_without_a_catalog_service_counts_nowhere(runtime: Runtime) -> None:
    _store(runtime, _sarif([("L1", "error", 3, False)]), "e" * 40)
    Worker(runtime).run_until_idle()
    with runtime.sessions() as session:
        assert session.scalars(select(DeliveryCodeStat)).all() == []


def test_every_finding_from_low_up_is_on_the_timeline_with_a_summary_per_scan(runtime: Runtime) -> None:
    _apply_catalog(runtime)
    levels = [("L1", "note", 3, False), ("L2", "error", 5, False), ("L3", "warning", 7, False),
              ("L4", "none", 9, False), ("L5", "warning", 11, True)]  # fmt: skip
    _store(runtime, _sarif(levels), "e" * 40)
    with runtime.sessions() as session:
        events = session.scalars(select(TimelineEvent).where(TimelineEvent.source == "sast").order_by(TimelineEvent.id))
        titles = [(e.title, e.service) for e in events]
    summary = "lintel on jobly-example/jobs-api@eeeeeeeeeeee: 5 new, 0 fixed (opened: 1 high, 2 medium, 1 low, 1 info)"
    assert titles[0] == (summary, "jobs-api")
    itemized = [t for t, _ in titles[1:]]
    assert itemized == [
        "New high code finding: L2 at 5",
        "New medium code finding: L3 at 7",
        "New medium code finding: L5 at 11",
        "New low code finding: L1 at 3",
    ]  # most severe first; the info one is only counted

    # a rescan that opens nothing adds only its summary; a reopened finding is itemized as reopened
    _store(runtime, _sarif(levels), "f" * 40)
    _store(runtime, _sarif(levels[1:]), "a" * 40)
    _store(runtime, _sarif(levels), "b" * 40)
    with runtime.sessions() as session:
        later = session.scalars(
            select(TimelineEvent.title).where(TimelineEvent.source == "sast").order_by(TimelineEvent.id)
        ).all()[5:]
    assert later == [
        "lintel on jobly-example/jobs-api@ffffffffffff: 0 new, 0 fixed",
        "lintel on jobly-example/jobs-api@aaaaaaaaaaaa: 0 new, 1 fixed",
        "lintel on jobly-example/jobs-api@bbbbbbbbbbbb: 0 new, 0 fixed (opened: 1 low)",
        "Reopened low code finding: L1 at 3",
    ]
