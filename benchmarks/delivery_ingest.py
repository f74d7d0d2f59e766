"""Delivery benchmark: a year of GitHub webhooks for a 30-developer org through the signed intake (one
transaction per delivery, as the hook runs it), then every measure of every service; against DuckDB computing
the same aggregates from the same rows in the same run. `python -m benchmarks delivery_ingest [events]`."""

from __future__ import annotations

import csv
import json
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mamori.core import migrate
from mamori.core.clock import FixedClock
from mamori.core.config import load_settings
from mamori.delivery import kinds
from mamori.delivery.models import DeliveryCommit, DeliveryDeploy, DeliveryJob, DeliveryRun, DeliveryStep
from mamori.delivery.parsers import github
from mamori.delivery.service import export, intake
from mamori.delivery.service.cache import PolicyCache
from mamori.wiring import build_runtime

DEVELOPERS = 30
REPOS = 10
DEFAULT_EVENTS = 200_000
START = datetime(2025, 12, 1, tzinfo=UTC)
STEPS = [
    "Set up job",
    "Checkout",
    "bundle install",
    "yarn install",
    "webpack compile",
    "docker build",
    "push image",
    "smoke tests",
]


def _iso(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _repo(name: str) -> dict[str, Any]:
    return {"full_name": f"bench-org/{name}", "name": name}


def events(total: int, seed: int = 7) -> Iterator[tuple[str, dict[str, Any]]]:
    """(event, payload) pairs, in time order, until `total` are made: each change is a push, a PR opened,
    a review, a merge, a workflow run with a job of eight steps, and (most days) a production deploy."""
    rnd = random.Random(seed)
    made = 0
    heads = {f"svc-{r}": "0" * 40 for r in range(REPOS)}
    number = 0
    at = START
    while made < total:
        at += timedelta(minutes=rnd.randint(5, 40))
        name = f"svc-{rnd.randrange(REPOS)}"
        repo = _repo(name)
        number += 1
        dev = f"dev{rnd.randrange(DEVELOPERS)}"
        branch_sha = f"{number:040x}"
        merge_sha = f"{number + 10_000_000:040x}"
        created = at
        pr = {
            "number": number,
            "title": f"Change {number}",
            "user": {"login": dev},
            "state": "open",
            "labels": [],
            "base": {"ref": "main"},
            "head": {"ref": f"{dev}/c{number}", "sha": branch_sha},
            "merged_at": None,
            "closed_at": None,
            "created_at": _iso(created),
            "updated_at": _iso(created),
            "additions": 40,
            "deletions": 8,
            "changed_files": 3,
            "merge_commit_sha": None,
        }
        yield (
            "push",
            {
                "ref": f"refs/heads/{dev}/c{number}",
                "before": "0" * 40,
                "repository": repo,
                "commits": [
                    {
                        "id": branch_sha,
                        "timestamp": _iso(created - timedelta(hours=2)),
                        "message": "wip",
                        "author": {"username": dev},
                    }
                ],
            },
        )
        yield "pull_request", {"action": "opened", "pull_request": pr, "repository": repo}
        reviewed = created + timedelta(minutes=rnd.randint(10, 400))
        yield (
            "pull_request_review",
            {
                "action": "submitted",
                "repository": repo,
                "pull_request": {**pr, "updated_at": _iso(created)},
                "review": {"user": {"login": "reviewer"}, "state": "APPROVED", "submitted_at": _iso(reviewed)},
            },
        )
        merged = reviewed + timedelta(minutes=rnd.randint(5, 120))
        yield (
            "pull_request",
            {
                "action": "closed",
                "repository": repo,
                "pull_request": {
                    **pr,
                    "state": "closed",
                    "merged_at": _iso(merged),
                    "closed_at": _iso(merged),
                    "updated_at": _iso(merged),
                    "merge_commit_sha": merge_sha,
                },
            },
        )
        yield (
            "push",
            {
                "ref": "refs/heads/main",
                "before": heads[name],
                "repository": repo,
                "commits": [
                    {
                        "id": merge_sha,
                        "timestamp": _iso(merged),
                        "message": f"Merge #{number}",
                        "author": {"username": dev},
                    }
                ],
            },
        )
        heads[name] = merge_sha
        run_id = number
        started = merged + timedelta(minutes=1)
        yield (
            "workflow_run",
            {
                "action": "requested",
                "repository": repo,
                "workflow_run": {
                    "id": run_id,
                    "name": "ci",
                    "head_branch": "main",
                    "head_sha": merge_sha,
                    "status": "queued",
                    "conclusion": None,
                    "run_attempt": 1,
                    "created_at": _iso(started),
                    "updated_at": _iso(started),
                },
            },
        )
        t = started
        steps = []
        for i, step in enumerate(STEPS, start=1):
            seconds = rnd.randint(2, 240)
            steps.append(
                {
                    "name": step,
                    "number": i,
                    "status": "completed",
                    "conclusion": "success",
                    "started_at": _iso(t),
                    "completed_at": _iso(t + timedelta(seconds=seconds)),
                }
            )
            t += timedelta(seconds=seconds)
        yield (
            "workflow_job",
            {
                "action": "completed",
                "repository": repo,
                "workflow_job": {
                    "id": run_id,
                    "run_id": run_id,
                    "name": "build",
                    "workflow_name": "ci",
                    "head_branch": "main",
                    "head_sha": merge_sha,
                    "status": "completed",
                    "conclusion": "success",
                    "created_at": _iso(started),
                    "started_at": _iso(started),
                    "completed_at": _iso(t),
                    "steps": steps,
                },
            },
        )
        yield (
            "workflow_run",
            {
                "action": "completed",
                "repository": repo,
                "workflow_run": {
                    "id": run_id,
                    "name": "ci",
                    "head_branch": "main",
                    "head_sha": merge_sha,
                    "status": "completed",
                    "conclusion": "success",
                    "run_attempt": 1,
                    "created_at": _iso(started),
                    "run_started_at": _iso(started),
                    "updated_at": _iso(t),
                },
            },
        )
        made += 8
        if rnd.random() < 0.7:
            deploy = {"id": number, "environment": "production", "sha": merge_sha, "ref": "main", "created_at": _iso(t)}
            yield "deployment", {"action": "created", "repository": repo, "deployment": deploy}
            state = "failure" if rnd.random() < 0.05 else "success"
            yield (
                "deployment_status",
                {
                    "action": "created",
                    "repository": repo,
                    "deployment": deploy,
                    "deployment_status": {
                        "state": state,
                        "created_at": _iso(t + timedelta(minutes=4)),
                        "environment": "production",
                    },
                },
            )
            made += 2


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(total: int, reuse: Path | None = None) -> dict[str, float]:
    """Ingest `total` events into a fresh database, then measure; with `reuse` (the data folder of an earlier
    run, printed as `data`), measure that database again without ingesting."""
    folder = reuse or Path(tempfile.mkdtemp(prefix="mamori-bench-delivery-"))
    settings = load_settings(env={}, data_dir=folder, secret_key="bench-secret-key-0123456789")
    runtime = build_runtime(settings, clock=FixedClock(START + timedelta(days=366)))
    migrate.upgrade(runtime.engine)
    secret = github.integration_secret(settings.signing_key(), "default")
    bodies = [] if reuse else [(event, json.dumps(payload).encode()) for event, payload in events(total)]
    print(f"            data: {folder}")
    began = time.perf_counter()
    for i, (event, body) in enumerate(bodies):
        request = intake.WebhookRequest(
            event=event, delivery_id=f"d-{i}", signature=github.sign(secret, body), body=body
        )
        with runtime.sessions.begin() as session:  # as the hook runs it: the policy from the per-runtime cache
            policy = runtime.state(PolicyCache).get(session)
            intake.accept_github(
                session, bus=runtime.bus, secret=secret, request=request, now=runtime.now(), policy=policy
            )
    ingest_s = time.perf_counter() - began
    began = time.perf_counter()
    with runtime.sessions() as session:
        policy = kinds.policy(session).model_copy(update={"window_days": 366})
        samples = export.collect(session, now=runtime.now(), policy=policy)
    measure_s = time.perf_counter() - began
    duck = duckdb_side(runtime, policy_window_days=366)
    return {
        "events": float(len(bodies)),
        "ingest_s": ingest_s,
        "measure_s": measure_s,
        "samples": float(len(samples)),
        "rss_mb": _rss_mb(),
        **duck,
    }


def duckdb_side(runtime: Any, *, policy_window_days: int) -> dict[str, float]:
    """The same aggregates in DuckDB from the same rows: deploys per service, lead time median (commit to the
    deploy that shipped it along the first-parent chain), step duration medians and cache ratios."""
    import duckdb

    with runtime.sessions() as session:
        deploys = session.execute(
            select(
                DeliveryDeploy.id,
                DeliveryDeploy.service,
                DeliveryDeploy.repo,
                DeliveryDeploy.sha,
                DeliveryDeploy.status,
                DeliveryDeploy.production,
                DeliveryDeploy.finished_at,
            )
        ).all()
        commits = session.execute(
            select(DeliveryCommit.repo, DeliveryCommit.sha, DeliveryCommit.parent_sha, DeliveryCommit.authored_at)
        ).all()
        steps = session.execute(
            select(
                DeliveryRun.service,
                DeliveryJob.name,
                DeliveryStep.name,
                DeliveryStep.started_at,
                DeliveryStep.finished_at,
                DeliveryStep.cached,
            )
            .join(DeliveryJob, DeliveryStep.job_id == DeliveryJob.id)
            .join(DeliveryRun, DeliveryJob.run_id == DeliveryRun.id)
        ).all()
    began = time.perf_counter()
    con = duckdb.connect()
    folder = Path(tempfile.mkdtemp(prefix="mamori-bench-duckdb-"))
    tables = {
        "deploys": (
            "id text, service text, repo text, sha text, status text, production boolean, finished_at timestamptz",
            deploys,
        ),
        "commits": ("repo text, sha text, parent_sha text, authored_at timestamptz", commits),
        "steps": (
            "service text, job text, step text, started_at timestamptz, finished_at timestamptz, cached boolean",
            steps,
        ),
    }
    for name, (columns, rows) in tables.items():
        path = folder / f"{name}.csv"
        with path.open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows(rows)
        con.execute(f"create table {name} ({columns})")
        con.execute(f"insert into {name} select * from read_csv('{path}', header = false, nullstr = '')")
    load_s = time.perf_counter() - began
    began = time.perf_counter()
    con.execute("""
        with recursive prod as (select *, lag(sha) over (partition by service order by finished_at) as prev_sha
                      from deploys where production and status = 'success'),
        chain as (
            select p.id as deploy_id, p.service, p.finished_at, c.sha, c.parent_sha, c.authored_at,
                   p.prev_sha, 0 as depth
            from prod p join commits c on c.repo = p.repo and c.sha = p.sha where p.prev_sha is not null
            union all
            select ch.deploy_id, ch.service, ch.finished_at, c.sha, c.parent_sha, c.authored_at,
                   ch.prev_sha, ch.depth + 1
            from chain ch join commits c on c.sha = ch.parent_sha where ch.parent_sha <> ch.prev_sha and ch.depth < 5000
        )
        select service, quantile_disc(epoch(finished_at) - epoch(authored_at), 0.5) from chain group by service
    """).fetchall()
    con.execute(
        "select service, count(*), count(distinct cast(finished_at as date)) from deploys"
        " where production and status = 'success' group by service"
    ).fetchall()
    con.execute("""select service, job, step, quantile_disc(epoch(finished_at) - epoch(started_at), 0.5),
                          avg(cast(cached as int))
                   from steps group by service, job, step""").fetchall()
    query_s = time.perf_counter() - began
    con.close()
    return {"duckdb_load_s": load_s, "duckdb_query_s": query_s}


def main() -> None:
    """`python -m benchmarks delivery_ingest [events] [--reuse <data folder>]`."""
    total = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2].isdigit() else DEFAULT_EVENTS
    reuse = Path(sys.argv[sys.argv.index("--reuse") + 1]) if "--reuse" in sys.argv[:-1] else None
    result = run(total, reuse)
    for key, value in result.items():
        print(f"{key:>16}: {value:,.3f}")
    mamori_s = result["measure_s"]
    duck_s = result["duckdb_load_s"] + result["duckdb_query_s"]
    print(
        f"measures: Mamori {mamori_s:.3f} s vs DuckDB {duck_s:.3f} s"
        f" (load {result['duckdb_load_s']:.3f} + query {result['duckdb_query_s']:.3f})"
    )


if __name__ == "__main__":
    main()
