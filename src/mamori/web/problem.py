"""RFC 9457 problem details: every error the HTTP edge returns has this one shape."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from mamori.core.errors import MamoriError

PROBLEM_TYPE = "application/problem+json"


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    instance: str | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def from_error(exc: MamoriError, *, instance: str | None = None) -> JSONResponse:
    errors = [
        {k: v for k, v in {"loc": p.loc, "msg": p.msg, "file": p.file, "document": p.document}.items() if v}
        for p in exc.problems
    ]
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem_response(exc.status, exc.title, exc.detail, errors=errors, headers=headers, instance=instance)
