"""Dashboard pages of the sast domain: findings per repository."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from mamori.sast.models import SastFinding
from mamori.web.deps import Principal, SessionDep, require
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
Viewer = Annotated[Principal, Depends(require("read"))]


@router.get("/sast", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, _: Viewer) -> HTMLResponse:
    rows = session.scalars(select(SastFinding).order_by(SastFinding.repo, SastFinding.path).limit(1000)).all()
    return render(request, "sast/findings.html", {"findings": rows})
