"""A stand-in for the parts of GitHub's REST API the checks client calls, answering with the shapes GitHub
documents (docs.github.com/rest/checks/runs, /checks/runs#list-check-run-annotations, /issues/comments):

- `GET /repos/{o}/{r}/commits/{ref}/check-runs?check_name=&filter=latest` -> `{"total_count", "check_runs"}`;
- `POST /repos/{o}/{r}/check-runs` -> 201 and the check run (`id`, `head_sha`, `name`, `html_url`, `output`...);
- `PATCH /repos/{o}/{r}/check-runs/{id}` -> 200; its `output.annotations` are ADDED to the run's;
- `GET /repos/{o}/{r}/check-runs/{id}/annotations` -> a list, paginated with a `Link` header;
- `GET|POST /repos/{o}/{r}/issues/{n}/comments` (list paginated by `Link`; create -> 201) and
  `PATCH /repos/{o}/{r}/issues/comments/{id}`;
- more than 50 annotations in one request -> 422 "Validation Failed" as GitHub answers it;
- `fail` makes the next requests to a path prefix answer a given status, body and headers (403, 422, rate
  limits), as recorded from GitHub's documentation.

It keeps every request (method, path, JSON body) for the tests to look at.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

VALIDATION_TOO_MANY = {
    "message": "Validation Failed",
    "errors": [{"resource": "CheckRun", "code": "invalid", "field": "output.annotations"}],
    "documentation_url": "https://docs.github.com/rest/checks/runs#update-a-check-run",
}


@dataclass
class Failure:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1


@dataclass
class FakeGitHub:
    token: str = "ghs_test"
    runs: dict[int, dict[str, Any]] = field(default_factory=dict)
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    fail: dict[str, Failure] = field(default_factory=dict)
    """Path prefix -> the failure its next requests get."""
    page_size_cap: int = 100
    _next_id: int = 1000
    _lock: threading.Lock = field(default_factory=threading.Lock)
    base: str = "http://127.0.0.1"

    def _id(self) -> int:
        self._next_id += 1
        return self._next_id

    def calls(self, method: str, contains: str = "") -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] == method and contains in r[1]]

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PATCH"])])

    async def _handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        body = await request.json() if request.method in ("POST", "PATCH") else None
        with self._lock:
            self.requests.append((request.method, path, body))
            if request.headers.get("authorization") != f"Bearer {self.token}":
                return JSONResponse(
                    {"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}, 401
                )
            for prefix, failure in list(self.fail.items()):
                if path.startswith(prefix) and failure.times > 0:
                    failure.times -= 1
                    return JSONResponse(failure.body, failure.status, headers=failure.headers)
            return self._route(request, path, body)

    def _route(self, request: Request, path: str, body: Any) -> Response:
        parts = path.strip("/").split("/")
        if len(parts) < 4 or parts[0] != "repos":
            return JSONResponse({"message": "Not Found"}, 404)
        repo, rest = f"{parts[1]}/{parts[2]}", parts[3:]
        method = request.method
        if method == "GET" and rest[0] == "commits" and rest[2:] == ["check-runs"]:
            name = request.query_params.get("check_name")
            runs = [r for r in self.runs.values() if r["head_sha"] == rest[1] and (name is None or r["name"] == name)]
            runs.sort(key=lambda r: -r["id"])
            if request.query_params.get("filter", "latest") == "latest":
                runs = [r for i, r in enumerate(runs) if all(o["name"] != r["name"] for o in runs[:i])]
            return JSONResponse({"total_count": len(runs), "check_runs": runs})
        if rest == ["check-runs"] and method == "POST":
            return self._create_run(repo, body)
        if rest[0] == "check-runs" and len(rest) == 2 and method == "PATCH":
            return self._update_run(int(rest[1]), body)
        if rest[0] == "check-runs" and rest[2:] == ["annotations"] and method == "GET" and int(rest[1]) in self.runs:
            return self._page(request, self.annotations[int(rest[1])])
        if rest[0] == "issues" and rest[2:] == ["comments"]:
            number = int(rest[1])
            if method == "GET":
                return self._page(request, self.comments.get(number, []))
            comment = self._comment(repo, number, body["body"])
            self.comments.setdefault(number, []).append(comment)
            return JSONResponse(comment, 201)
        if rest[:2] == ["issues", "comments"] and method == "PATCH":
            for comments in self.comments.values():
                for comment in comments:
                    if comment["id"] == int(rest[2]):
                        comment["body"] = body["body"]
                        comment["updated_at"] = "2026-12-08T00:00:00Z"
                        return JSONResponse(comment)
        return JSONResponse({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}, 404)

    def _create_run(self, repo: str, body: dict[str, Any]) -> Response:
        if len((body.get("output") or {}).get("annotations") or []) > 50:
            return JSONResponse(VALIDATION_TOO_MANY, 422)
        run_id = self._id()
        output = dict(body.get("output") or {})
        self.annotations[run_id] = list(output.pop("annotations", []))
        self.runs[run_id] = {
            "id": run_id, "node_id": f"CR_{run_id}", "head_sha": body["head_sha"], "name": body["name"],
            "external_id": body.get("external_id", ""), "status": body.get("status", "queued"),
            "conclusion": body.get("conclusion"), "url": f"{self.base}/repos/{repo}/check-runs/{run_id}",
            "html_url": f"https://github.com/{repo}/runs/{run_id}", "details_url": body.get("details_url"),
            "started_at": "2026-12-08T00:00:00Z", "completed_at": "2026-12-08T00:00:00Z",
            "output": {**output, "annotations_count": len(self.annotations[run_id]), "annotations_url": ""},
            "app": {"id": 1, "slug": "mamori", "name": "Mamori"}, "pull_requests": [],
        }  # fmt: skip
        return JSONResponse(self.runs[run_id], 201)

    def _update_run(self, run_id: int, body: dict[str, Any]) -> Response:
        run = self.runs.get(run_id)
        if run is None:
            return JSONResponse({"message": "Not Found"}, 404)
        output = dict(body.get("output") or {})
        added = output.pop("annotations", [])
        if len(added) > 50:
            return JSONResponse(VALIDATION_TOO_MANY, 422)
        if "output" in body and not (output.get("title") and output.get("summary")):
            error = {"resource": "CheckRun", "code": "missing_field", "field": "output.summary"}
            return JSONResponse({"message": "Validation Failed", "errors": [error]}, 422)
        self.annotations[run_id].extend(added)  # GitHub adds a PATCH's annotations to the run's
        for key in ("status", "conclusion", "name", "external_id", "details_url"):
            if key in body:
                run[key] = body[key]
        if output:
            run["output"] = {**run["output"], **output, "annotations_count": len(self.annotations[run_id])}
        return JSONResponse(run)

    def _comment(self, repo: str, number: int, text: str) -> dict[str, Any]:
        comment_id = self._id()
        return {
            "id": comment_id, "node_id": f"IC_{comment_id}", "body": text,
            "url": f"{self.base}/repos/{repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{repo}/pull/{number}#issuecomment-{comment_id}",
            "issue_url": f"{self.base}/repos/{repo}/issues/{number}",
            "user": {"login": "mamori[bot]", "type": "Bot"}, "created_at": "2026-12-08T00:00:00Z",
            "updated_at": "2026-12-08T00:00:00Z", "author_association": "NONE",
        }  # fmt: skip

    def _page(self, request: Request, items: list[dict[str, Any]]) -> Response:
        per_page = min(int(request.query_params.get("per_page", 30)), self.page_size_cap)
        page = int(request.query_params.get("page", 1))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(items):
            url = request.url.include_query_params(page=page + 1, per_page=per_page)
            headers["Link"] = f'<{url}>; rel="next"'
        return JSONResponse(chunk, headers=headers)

    def add_comment(self, repo: str, number: int, text: str, login: str = "someone") -> dict[str, Any]:
        comment = self._comment(repo, number, text)
        comment["user"] = {"login": login, "type": "User"}
        self.comments.setdefault(number, []).append(comment)
        return comment
