"""GitHub's Checks API and pull-request comments: one check run per head commit and name, one summary comment
per pull request, both updated in place instead of added again.

A check run is found by its head commit and name (`GET /repos/{repo}/commits/{sha}/check-runs?check_name=`)
and PATCHed when it exists, else created. GitHub takes at most 50 annotations per request: the first 50 go
with the create (or update), the rest in further PATCHes of 50. GitHub adds the annotations of a PATCH to the
run's, so an update sends only the annotations the run does not carry yet (read back from
`GET /check-runs/{id}/annotations`); it cannot take one away.

The comment is the pull request's issue comment whose body starts with the caller's hidden marker (an HTML
comment); it is edited (`PATCH /issues/comments/{id}`), else created.

Every answer that is not a success becomes a `DeliveryError` saying what GitHub refused and why: a rate limit
(403 or 429 with `x-ratelimit-remaining: 0` or `retry-after`) with the time to retry, a 403 with the
permission the token lacks, a 422 with GitHub's field errors, a 401 or 404 with what to check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from mamori.core.config import Settings
from mamori.integrations.errors import DeliveryError

MAX_ANNOTATIONS = 50
"""Annotations GitHub takes per create or update request."""
MAX_COMMENT_PAGES = 30
"""Comment pages of 100 read when looking for the marker (3,000 comments)."""
MAX_ANNOTATION_PAGES = 20
REPO = re.compile(r"^[A-Za-z0-9_.-]{1,100}/[A-Za-z0-9_.-]{1,100}$")
SHA = re.compile(r"^[0-9a-fA-F]{7,64}$")
ANNOTATION_KEY = ("path", "start_line", "end_line", "annotation_level", "title", "message")


class RateLimitedError(DeliveryError):
    """GitHub's primary or secondary rate limit; `retry_at` is when it says to try again (if it says)."""

    def __init__(self, message: str, *, retry_at: datetime | None) -> None:
        super().__init__(message, permanent=False)
        self.retry_at = retry_at


@dataclass(frozen=True)
class CheckRunPosted:
    id: int
    url: str
    created: bool
    annotations_sent: int


@dataclass(frozen=True)
class CommentPosted:
    id: int
    url: str
    created: bool


def _message(response: httpx.Response) -> tuple[str, list[Any]]:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200].strip(), []
    if not isinstance(data, dict):
        return "", []
    errors = data.get("errors")
    return str(data.get("message") or ""), errors if isinstance(errors, list) else []


def _retry_at(response: httpx.Response, now: datetime) -> datetime | None:
    after = response.headers.get("retry-after", "")
    if after.isdigit():
        return datetime.fromtimestamp(now.timestamp() + int(after), UTC)
    reset = response.headers.get("x-ratelimit-reset", "")
    return datetime.fromtimestamp(int(reset), UTC) if reset.isdigit() else None


def _field_errors(errors: list[Any]) -> str:
    out = []
    for e in errors[:10]:
        if isinstance(e, dict):
            where = ".".join(str(e[k]) for k in ("resource", "field") if e.get(k))
            why = e.get("message") or e.get("code") or "invalid"
            out.append(f"{where}: {why}" if where else str(why))
        else:
            out.append(str(e))
    return "; ".join(out)


PERMISSION_HINT = {
    "checks": "the token needs the checks: write permission; check runs can only be written by a GitHub App "
    "(an installation token, such as GitHub Actions' GITHUB_TOKEN), not by a personal access token",
    "comments": "the token needs the pull-requests: write (or issues: write) permission on the repository",
}


def error_for(response: httpx.Response, what: str, *, scope: str, now: datetime | None = None) -> DeliveryError:
    """The DeliveryError for a GitHub answer that is not a success, saying what to do about it."""
    code = response.status_code
    message, errors = _message(response)
    said = f" ({message})" if message else ""
    limited = response.headers.get("x-ratelimit-remaining") == "0" or "retry-after" in response.headers
    if code in (403, 429) and (limited or "rate limit" in message.lower()):
        at = _retry_at(response, now or datetime.now(UTC))
        when = f"; retry after {at.isoformat(timespec='seconds')}" if at else ""
        return RateLimitedError(f"{what}: GitHub rate limit exceeded (HTTP {code}){said}{when}", retry_at=at)
    if code == 401:
        return DeliveryError(
            f"{what}: GitHub refused the token (HTTP 401){said}; check MAMORI_GITHUB_TOKEN", permanent=True
        )
    if code == 403:
        return DeliveryError(f"{what}: forbidden (HTTP 403){said}: {PERMISSION_HINT[scope]}", permanent=True)
    if code == 404:
        return DeliveryError(
            f"{what}: not found (HTTP 404){said}: check the repository, commit or pull request, and that the token "
            "can see the repository", permanent=True,
        )  # fmt: skip
    if code == 422:
        detail = _field_errors(errors)
        detail = f": {detail}" if detail else ""
        return DeliveryError(f"{what}: GitHub refused the request (HTTP 422){said}{detail}", permanent=True)
    return DeliveryError(f"{what}: HTTP {code}{said}", permanent=400 <= code < 500 and code not in (408, 425))


def _next_link(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return link.get("url") if link else None


def annotation_key(annotation: dict[str, Any]) -> tuple[object, ...]:
    return tuple(annotation.get(k) for k in ANNOTATION_KEY)


class GitHubChecks:
    """The Checks API and issue comments of one GitHub (github.com or an Enterprise Server's /api/v3)."""

    name = "GitHub"

    def __init__(
        self,
        *,
        client: Callable[[], httpx.Client],
        api_url: str,
        token: str,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.client, self.root = client, api_url.rstrip("/")
        self.clock = clock or (lambda: datetime.now(UTC))
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def _send(self, what: str, method: str, url: str, *, scope: str, **kw: Any) -> tuple[Any, httpx.Response]:
        try:
            with self.client() as http:
                response = http.request(method, url, headers=self.headers, **kw)
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{what}: {self.root}: {exc}") from None
        if not response.is_success:
            raise error_for(response, what, scope=scope, now=self.clock())
        try:
            return response.json(), response
        except ValueError as exc:
            raise DeliveryError(f"{what}: unexpected answer from {self.root} (not JSON: {exc})") from None

    @staticmethod
    def _check(repo: str, sha: str | None = None) -> None:
        if not REPO.match(repo):
            raise DeliveryError(f"repository must be owner/name, not {repo!r}", permanent=True)
        if sha is not None and not SHA.match(sha):
            raise DeliveryError(f"head_sha must be a commit SHA (hex), not {sha!r}", permanent=True)

    def find_check_run(self, repo: str, *, head_sha: str, name: str) -> int | None:
        """The id of the latest check run of this name on the commit, if any."""
        self._check(repo, head_sha)
        data, _ = self._send(
            "GitHub list check runs", "GET", f"{self.root}/repos/{repo}/commits/{head_sha}/check-runs",
            scope="checks", params={"check_name": name, "filter": "latest", "per_page": 100},
        )  # fmt: skip
        try:
            runs = [r for r in data["check_runs"] if r.get("name") == name and r.get("head_sha", head_sha) == head_sha]
            return int(runs[0]["id"]) if runs else None
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise self._unexpected("GitHub list check runs", exc) from None

    def annotations(self, repo: str, run_id: int) -> list[dict[str, Any]]:
        """The annotations a check run carries (every page)."""
        url: str | None = f"{self.root}/repos/{repo}/check-runs/{run_id}/annotations?per_page=100"
        out: list[dict[str, Any]] = []
        for _ in range(MAX_ANNOTATION_PAGES):
            if url is None:
                break
            data, response = self._send("GitHub list annotations", "GET", url, scope="checks")
            if not isinstance(data, list):
                raise self._unexpected("GitHub list annotations", TypeError("expected a list"))
            out += [a for a in data if isinstance(a, dict)]
            url = _next_link(response)
        return out

    def post_check_run(
        self, repo: str, body: dict[str, Any], annotations: list[dict[str, Any]], *, run_id: int | None = None
    ) -> CheckRunPosted:
        """Create the run (or update `run_id`, or the run found by head SHA and name), then send the remaining
        annotations 50 at a time. `body` is the Checks API body without `output.annotations`."""
        self._check(repo, str(body.get("head_sha", "")))
        found = (
            run_id if run_id is not None else self.find_check_run(repo, head_sha=body["head_sha"], name=body["name"])
        )
        if found is not None:
            have = {annotation_key(a) for a in self.annotations(repo, found)}
            annotations = [a for a in annotations if annotation_key(a) not in have]
        output = dict(body.get("output") or {})
        batches = [annotations[i : i + MAX_ANNOTATIONS] for i in range(0, len(annotations), MAX_ANNOTATIONS)]
        first = {**body, "output": {**output, "annotations": batches[0] if batches else []}}
        if found is None:
            url = f"{self.root}/repos/{repo}/check-runs"
            data, _ = self._send("GitHub create check run", "POST", url, scope="checks", json=first)
        else:
            update = {k: v for k, v in first.items() if k != "head_sha"}  # an update cannot move the run
            url = f"{self.root}/repos/{repo}/check-runs/{found}"
            data, _ = self._send("GitHub update check run", "PATCH", url, scope="checks", json=update)
        try:
            posted_id, url = int(data["id"]), str(data.get("html_url") or "")
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unexpected("GitHub check run", exc) from None
        for batch in batches[1:]:
            self._send(
                "GitHub add annotations", "PATCH", f"{self.root}/repos/{repo}/check-runs/{posted_id}", scope="checks",
                json={"output": {**output, "annotations": batch}},
            )  # fmt: skip
        return CheckRunPosted(posted_id, url, found is None, len(annotations))

    def find_comment(self, repo: str, number: int, marker: str) -> int | None:
        """The first comment on the pull request whose body starts with `marker` (a quote of it does not)."""
        self._check(repo)
        url: str | None = f"{self.root}/repos/{repo}/issues/{int(number)}/comments?per_page=100"
        for _ in range(MAX_COMMENT_PAGES):
            if url is None:
                break
            data, response = self._send("GitHub list comments", "GET", url, scope="comments")
            if not isinstance(data, list):
                raise self._unexpected("GitHub list comments", TypeError("expected a list"))
            for comment in data:
                if isinstance(comment, dict) and str(comment.get("body") or "").lstrip().startswith(marker):
                    return int(comment["id"])
            url = _next_link(response)
        return None

    def upsert_comment(self, repo: str, number: int, *, marker: str, body: str) -> CommentPosted:
        """Edit the pull request's comment carrying `marker`, else add it (`body` must start with the marker)."""
        if not body.lstrip().startswith(marker):
            raise ValueError("the comment body must start with its marker")
        found = self.find_comment(repo, number, marker)
        if found is None:
            data, _ = self._send(
                "GitHub create comment", "POST", f"{self.root}/repos/{repo}/issues/{int(number)}/comments",
                scope="comments", json={"body": body},
            )  # fmt: skip
        else:
            data, _ = self._send(
                "GitHub update comment", "PATCH", f"{self.root}/repos/{repo}/issues/comments/{found}",
                scope="comments", json={"body": body},
            )  # fmt: skip
        try:
            return CommentPosted(int(data["id"]), str(data.get("html_url") or ""), found is None)
        except (KeyError, TypeError, ValueError) as exc:
            raise self._unexpected("GitHub comment", exc) from None

    def _unexpected(self, what: str, exc: Exception) -> DeliveryError:
        return DeliveryError(f"{what}: unexpected answer from {self.root} ({type(exc).__name__}: {exc})")


@dataclass(frozen=True)
class Checks:
    """The runtime's GitHub checks client, or what to set to have one (built by the wiring from settings)."""

    github: GitHubChecks | None = None
    missing: str = "GitHub is not configured: set MAMORI_GITHUB_TOKEN"


def checks_from_settings(
    settings: Settings, client: Callable[[], httpx.Client], clock: Callable[[], datetime] | None = None
) -> Checks:
    if settings.github_token is None:
        return Checks()
    token = settings.github_token.get_secret_value()
    return Checks(GitHubChecks(client=client, api_url=settings.github_api_url, token=token, clock=clock))
