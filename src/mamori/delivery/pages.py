"""Dashboard pages of the delivery domain: the services overview, a service's DORA tiles and deploys, and a
CI run's build waterfall."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from mamori.delivery import kinds, waterfall
from mamori.delivery.service import effects, health, incidents, measures, queries
from mamori.delivery.service import inquiries as inquiry_service
from mamori.web.deps import Principal, RuntimeDep, SessionDep, require
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]


@router.get("/delivery", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    policy = kinds.policy(session)
    since = runtime.now() - timedelta(days=policy.window_days)
    return render(
        request,
        "delivery/overview.html",
        {
            "services": queries.service_summaries(session, since=since),
            "policy": policy,
            "inquiries": inquiry_service.load(session, since=since),
        },
    )


@router.get("/delivery/services/{service}", response_class=HTMLResponse)
def service_page(request: Request, service: str, session: SessionDep, runtime: RuntimeDep, _: Viewer) -> HTMLResponse:
    policy = kinds.policy(session)
    end = runtime.now()
    start = end - timedelta(days=policy.window_days)
    result = measures.measure(session, service=service, start=start, end=end, policy=policy)
    return render(
        request,
        "delivery/service.html",
        {
            "service": service,
            "m": result,
            "bands": result.dora.bands(),
            "deploys": queries.recent_deploys(session, service=service, limit=50),
            "deploy_groups": queries.deploys_by_branch_and_env(session, service=service, since=start),
            "runs": queries.recent_runs(session, service=service, limit=20),
            "step_trends": queries.step_trends(session, service=service, since=start),
            "health": health.health(session, service=service, since=start),
            "effects": [
                effects.effect_of(session, improvement_id=i.id)
                for i in effects.list_improvements(session, service=service)
            ],
            "regressions": effects.find_regressions(session, service=service, since=start),
            "paged": incidents.pages_per_person(session, since=start, service=service),
            "images": queries.image_sizes(session, service=service, since=start),
            "sizes": queries.code_stats(session, service=service, kind="size", since=start),
            "lints": queries.code_stats(session, service=service, kind="lint", since=start),
            "failed": set(result.dora.failed_ids),
            "unplanned": set(result.dora.unplanned_ids),
        },
    )


@router.get("/delivery/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, session: SessionDep, _: Viewer) -> HTMLResponse:
    run, jobs = queries.get_run(session, run_id=run_id)
    return render(request, "delivery/run.html", {"run": run, "chart": waterfall.layout(jobs)})
