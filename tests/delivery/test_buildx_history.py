"""`docker buildx history inspect --format json` records as builds. The samples are written here from the
fields Docker's CLI reference documents for that JSON output (docs.docker.com/reference/cli/docker/buildx/
history/inspect, "Format the output (--format)": Ref, Name, VCSRepository, VCSRevision, StartedAt, CompletedAt,
Duration in nanoseconds, Status, NumCompletedSteps, NumTotalSteps, NumCachedSteps) and buildx's `Error` object."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from mamori.core.runtime import Runtime
from mamori.delivery.models import DeliveryRun
from mamori.delivery.parsers import buildx_history
from mamori.delivery.parsers.buildkit import BuildKitError
from tests.conftest import issue_token


def record(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "Name": "jobs-api (image)",
        "Ref": "k2v7cq1h0x3mbd5ywz8rjt4ne",
        "Context": ".",
        "Dockerfile": "Dockerfile",
        "VCSRepository": "https://github.com/acme/jobs-api.git",
        "VCSRevision": "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
        "Target": "image",
        "Platform": ["linux/amd64"],
        "StartedAt": "2026-11-27T09:30:00.123456789+01:00",
        "CompletedAt": "2026-11-27T09:33:20.623456789+01:00",
        "Duration": 200_500_000_000,
        "Status": "completed",
        "NumCompletedSteps": 20,
        "NumTotalSteps": 20,
        "NumCachedSteps": 15,
        "Config": {"ImageResolveMode": "local"},
    }
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def _bytes(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


def test_a_completed_record_reads_as_a_build_with_its_cache_ratio_commit_and_repository() -> None:
    r = buildx_history.history_inspect(_bytes(record()))
    assert (r.ref, r.name, r.repo, r.sha[:7] if r.sha else None) == (
        "k2v7cq1h0x3mbd5ywz8rjt4ne", "jobs-api (image)", "acme/jobs-api", "0a1b2c3",
    )  # fmt: skip
    assert r.finished_at is not None and (r.finished_at - r.started_at).total_seconds() == 200.5
    assert r.started_at.isoformat() == "2026-11-27T08:30:00.123456+00:00"
    assert (r.status, r.conclusion, r.cache_hit_ratio) == ("completed", "success", 0.75)


def test_failed_running_and_duration_only_records() -> None:
    failed = buildx_history.history_inspect(
        _bytes(record(Status="failed", NumCompletedSteps=7, NumCachedSteps=2, Error={"Message": "exit code: 1"}))
    )
    assert (failed.conclusion, failed.error, failed.cache_hit_ratio) == ("failure", "exit code: 1", 0.1)
    running = buildx_history.history_inspect(_bytes(record(Status="running", CompletedAt=None, NumCompletedSteps=3,
                                                           NumCachedSteps=1)))  # fmt: skip
    assert (running.status, running.conclusion, running.finished_at) == ("in_progress", None, None)
    by_duration = buildx_history.history_inspect(_bytes(record(CompletedAt=None)))
    assert by_duration.finished_at is not None
    assert (by_duration.finished_at - by_duration.started_at).total_seconds() == 200.5
    ssh = buildx_history.history_inspect(_bytes(record(VCSRepository="git@github.com:acme/jobs-web.git")))
    assert ssh.repo == "acme/jobs-web"


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"not json", "not JSON"),
        (_bytes(record(Ref=None)), "Ref: missing"),
        (_bytes(record(Status="exploded")), "Status"),
        (_bytes(record(StartedAt="yesterday")), "StartedAt"),
        (_bytes(record(NumCachedSteps=21)), "NumCachedSteps <= NumCompletedSteps"),
        (_bytes(record(NumTotalSteps="20")), "NumTotalSteps: expected a whole number"),
        (_bytes(record(CompletedAt="2026-11-27T07:00:00Z")), "before StartedAt"),
    ],
)
def test_bad_records_are_refused_with_the_field(doc: bytes, message: str) -> None:
    with pytest.raises(BuildKitError, match=message):
        buildx_history.history_inspect(doc)


def test_the_api_stores_the_build_once_refuses_bad_records_and_the_scrape_shows_its_cache_ratio(
    client: TestClient, runtime: Runtime
) -> None:
    headers = {"Authorization": f"Bearer {issue_token(runtime, 'ingest')}"}
    url = "/api/v1/delivery/buildx-history?service=jobs-api"
    running = record(Status="running", CompletedAt=None, NumCompletedSteps=4, NumCachedSteps=1)
    first = client.post(url, content=_bytes(running), headers=headers)
    assert first.status_code == 201 and first.json()["status"] == "in_progress"
    done = client.post(url, content=_bytes(record()), headers=headers)
    assert done.status_code == 201
    body = done.json()
    assert (body["run"], body["seconds"], body["cache_hit_ratio"]) == (first.json()["run"], 200.5, 0.75)
    bad = client.post(url, content=_bytes(record(Ref="other", NumCachedSteps=99)), headers=headers)
    assert bad.status_code == 422 and "NumCachedSteps" in bad.text
    with runtime.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DeliveryRun)) == 1
        run = session.scalars(select(DeliveryRun)).one()
        assert (run.kind, run.repo, run.conclusion, run.steps_total, run.steps_cached) == (
            "build", "acme/jobs-api", "success", 20, 15,
        )  # fmt: skip
    text = client.get("/metrics", headers={"Authorization": f"Bearer {issue_token(runtime, 'read')}"}).text
    ratio = [
        s.value
        for fam in text_string_to_metric_families(text)
        if fam.name == "mamori_delivery_build_cache_hit_ratio"
        for s in fam.samples
        if s.labels == {"service": "jobs-api"}
    ]
    assert ratio == [0.75]
