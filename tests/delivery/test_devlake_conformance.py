"""Mamori's deploy history, PR phases and incident attribution agree with DevLake's DORA e2e expectations."""

from __future__ import annotations

import csv
import math
from datetime import UTC, datetime
from pathlib import Path

from mamori.delivery import changesets, dora, prphases
from tests.support import peers

E2E = ("delivery", "apache+incubator-devlake", "backend", "plugins", "dora", "e2e")


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _time(text: str) -> datetime | None:
    """DevLake's CSVs write times both as 2023-04-10T06:51:47.000+00:00 and as 2023-4-10 6:51:47 (UTC)."""
    if not text:
        return None
    if "T" in text:
        return datetime.fromisoformat(text).astimezone(UTC)
    day, clock = text.split(" ")
    y, m, d = (int(x) for x in day.split("-"))
    hh, mm, ss = (int(x) for x in clock.split(":"))
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


def _points(rows: list[dict[str, str]]) -> list[changesets.DeployPoint]:
    out = []
    for r in rows:
        if not r["environment"]:
            continue  # DevLake leaves deploys without an environment out of the history
        started = _time(r["started_date"])
        assert started is not None
        out.append(
            changesets.DeployPoint(
                id=r["id"],
                scope=(r["cicd_scope_id"], r["repo_url"], r["environment"]),
                sha=r["commit_sha"],
                started_at=started,
                finished_at=_time(r["finished_date"]),
                succeeded=r["result"] == "SUCCESS",
            )
        )
    return out


def test_previous_successful_deploy_matches_devlake() -> None:
    folder = peers(*E2E, "prev_success_deployment_commit")
    before = _rows(folder / "cicd_deployment_commits_before.csv")
    expected = {
        r["id"]: r["prev_success_deployment_commit_id"] or None
        for r in _rows(folder / "cicd_deployment_commits_after.csv")
    }
    got = changesets.previous_success(_points(before))
    got.update({r["id"]: None for r in before if not r["environment"]})
    assert len(expected) == len(before) == 16
    assert got == expected


def _minutes(seconds: float | None) -> str:
    """DevLake stores phases as whole minutes, rounded up."""
    return "" if seconds is None else str(math.ceil(seconds / 60))


def test_pull_request_phases_and_cycle_time_match_devlake() -> None:
    folder = peers(*E2E, "change_lead_time")
    deploy_rows = _rows(folder / "cicd_deployment_commits.csv")
    scopes_of = {
        r["row_id"]: r["project_name"] for r in _rows(folder / "project_mapping.csv") if r["table"] == "cicd_scopes"
    }
    production = [
        r for r in deploy_rows if r["environment"] == "PRODUCTION" and scopes_of.get(r["cicd_scope_id"]) == "project1"
    ]
    points = {p.id: p for p in _points(deploy_rows)}
    diffs: dict[tuple[str, str], list[str]] = {}
    for r in _rows(folder / "commits_diffs.csv"):
        diffs.setdefault((r["old_commit_sha"], r["new_commit_sha"]), []).append(r["commit_sha"])
    mine = [points[r["id"]] for r in production]
    shipped = changesets.shipped(mine, lambda old, new: diffs.get((old, new), []))
    stored = {r["id"]: r["prev_success_deployment_commit_id"] or None for r in production}
    assert changesets.previous_success(mine) == stored, "the history DevLake stored is the one Mamori works out"
    commits: dict[str, list[datetime]] = {}
    for r in _rows(folder / "pull_request_commits.csv"):
        at = _time(r["commit_authored_date"])
        assert at is not None
        commits.setdefault(r["pull_request_id"], []).append(at)
    reviews: dict[str, list[prphases.Review]] = {}
    for r in _rows(folder / "pull_request_comments.csv"):
        at = _time(r["created_date"])
        assert at is not None
        reviews.setdefault(r["pull_request_id"], []).append(prphases.Review(id=r["id"], by=r["account_id"], at=at))
    expected = {r["id"]: r for r in _rows(folder / "project_pr_metrics.csv")}
    seen = 0
    for pr in _rows(folder / "pull_requests.csv"):
        merged, created = _time(pr["merged_date"]), _time(pr["created_date"])
        if merged is None:
            assert pr["id"] not in expected, "an unmerged PR has no metrics"
            continue
        assert created is not None
        deploy_id = shipped.get(pr["merge_commit_sha"])
        deployed = points[deploy_id].finished_at if deploy_id else None
        got = prphases.phases(
            created_at=created,
            merged_at=merged,
            author=pr["author_id"] or None,
            first_commit_at=min(commits.get(pr["id"], []), default=None),
            reviews=reviews.get(pr["id"], []),
            deployed_at=deployed,
        )
        want = expected[pr["id"]]
        assert (
            _minutes(got.coding_s),
            got.first_review_id or "",
            _minutes(got.pickup_s),
            _minutes(got.review_s),
            deploy_id or "",
            _minutes(got.deploy_s),
            _minutes(got.cycle_s),
        ) == (
            want["pr_coding_time"],
            want["first_review_id"],
            want["pr_pickup_time"],
            want["pr_review_time"],
            want["deployment_commit_id"],
            want["pr_deploy_time"],
            want["pr_cycle_time"],
        ), pr["id"]
        seen += 1
    assert seen == len(expected) == 6


def test_incidents_are_attributed_to_the_deploy_devlake_links_them_to() -> None:
    folder = peers(*E2E, "connect_incident_to_deployment")
    deploy_rows = _rows(folder / "prev_success_deployment_commit" / "cicd_deployment_commits_after.csv")
    mapping = _rows(folder / "raw_tables" / "project_mapping.csv")
    project_of = {(r["table"], r["row_id"]): r["project_name"] for r in mapping}
    # DevLake runs the subtask for project1: its production successes, one deploy per pipeline (cicd_deployment_id)
    deploys = []
    for r in deploy_rows:
        finished = _time(r["finished_date"])
        if (
            r["result"] == "SUCCESS"
            and r["environment"] == "PRODUCTION"
            and project_of.get(("cicd_scopes", r["cicd_scope_id"])) == "project1"
        ):
            assert finished is not None
            deploys.append(dora.Deploy(id=f"{r['cicd_deployment_id']}#{r['id']}", finished_at=finished))
    incidents = []
    for r in _rows(folder / "raw_tables" / "incidents.csv"):
        if project_of.get((r["table"], r["scope_id"])) == "project1":
            declared = _time(r["created_date"])
            assert declared is not None
            incidents.append(dora.Incident(id=r["id"], declared_at=declared, resolved_at=_time(r["updated_date"])))
    got = {k: v.split("#")[0] for k, v in dora.attribute(deploys, incidents).items()}
    want = {
        r["id"]: r["deployment_id"]
        for r in _rows(folder / "snapshot_tables" / "project_incident_deployment_relationships.csv")
    }
    assert len(want) == 6
    assert got == want
