"""The incident figures as Prometheus families: MTTA and MTTR of alert groups, incidents by severity, and
on-call load per person over the last 28 days (the on-call health page's window). Drills (label
`mamori_drill`) never count: `response.metrics` leaves them out."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mamori.core.exposition import MetricFamily
from mamori.incidents.response import metrics

WINDOW = timedelta(days=28)


def families(session: Session, now: datetime) -> list[MetricFamily]:
    since = now - WINDOW
    window = {"window": "28d"}
    times = metrics.response_times(session, since=since, until=now)
    mtta = MetricFamily("mamori_incidents_mtta_seconds", "Mean time from an alert group opening to its acknowledgement")
    mttr = MetricFamily("mamori_incidents_mttr_seconds", "Mean time from an alert group opening to its resolution")
    groups = MetricFamily("mamori_incidents_alert_groups", "Alert groups opened in the window (drills left out)")
    incidents = MetricFamily("mamori_incidents_declared", "Incidents declared in the window, per severity")
    mtta.add(times["mtta_seconds"], window)
    mttr.add(times["mttr_seconds"], window)
    groups.add(times["alert_groups"], window)
    for severity, n in sorted(times["incidents_by_severity"].items()):
        incidents.add(n, {**window, "severity": severity})
    pages = MetricFamily("mamori_oncall_pages", "Pages per person in the window (one per escalation step)")
    weekly = MetricFamily("mamori_oncall_pages_per_week", "Pages per person per week over the window")
    night = MetricFamily("mamori_oncall_pages_out_of_hours", "Pages outside 09:00-18:00 Mon-Fri in the person's zone")
    for person in metrics.oncall_load(session, since=since, until=now):
        labels = {**window, "person": person.user}
        pages.add(person.pages, labels)
        weekly.add(person.pages_per_week, labels)
        night.add(person.out_of_hours, labels)
    return [mtta, mttr, groups, incidents, pages, weekly, night]
