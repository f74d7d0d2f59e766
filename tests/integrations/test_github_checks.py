"""The GitHub checks client against a fake GitHub on 127.0.0.1 answering with the documented shapes: one check
run per head commit and name (updated, not added, on the next run), annotations 50 per request, one marker
comment per pull request edited in place, and GitHub's refusals (403, 422, rate limits) as clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from mamori.core.config import load_settings
from mamori.integrations import DeliveryError
from mamori.integrations.github_checks import (
    GitHubChecks,
    RateLimitedError,
    checks_from_settings,
)
from tests.integrations.fake_github import Failure, FakeGitHub
from tests.support import serving

REPO, SHA, OTHER_SHA = "acme/api", "a" * 40, "b" * 40
MARKER = "<!-- mamori:test -->"
NOW = datetime(2026, 12, 8, 0, 0, tzinfo=UTC)


@pytest.fixture
def github() -> Iterator[tuple[FakeGitHub, GitHubChecks]]:
    fake = FakeGitHub()
    with serving(fake.app()) as url:
        fake.base = url
        yield fake, GitHubChecks(client=httpx.Client, api_url=url, token=fake.token, clock=lambda: NOW)


def _body(sha: str = SHA, conclusion: str = "failure", title: str = "2 new findings block this change") -> dict:
    return {
        "name": "Mamori SAST", "head_sha": sha, "status": "completed", "conclusion": conclusion,
        "output": {"title": title, "summary": "summary"},
    }  # fmt: skip


def _notes(n: int, start: int = 1) -> list[dict]:
    level = "failure"
    return [
        {
            "path": "app/x.py",
            "start_line": i,
            "end_line": i,
            "annotation_level": level,
            "title": "t",
            "message": f"m{i}",
        }
        for i in range(start, start + n)
    ]


def test_a_check_run_is_created_then_updated_for_the_same_head_and_annotations_go_50_at_a_time(github) -> None:  # type: ignore[no-untyped-def]
    fake, client = github
    first = client.post_check_run(REPO, _body(), _notes(120))
    assert first.created and first.annotations_sent == 120
    assert first.url == f"https://github.com/{REPO}/runs/{first.id}"
    posts, patches = fake.calls("POST", "/check-runs"), fake.calls("PATCH", "/check-runs/")
    assert len(posts) == 1 and len(patches) == 2
    assert [len(b["output"]["annotations"]) for _, _, b in posts + patches] == [50, 50, 20]
    assert all(b["output"]["title"] and b["output"]["summary"] for _, _, b in patches)  # GitHub requires both
    assert len(fake.annotations[first.id]) == 120

    # the same head again (a re-run): the run is found by head SHA and name, PATCHed, nothing added twice
    again = client.post_check_run(REPO, _body(conclusion="success", title="passed"), _notes(121))
    assert (again.id, again.created, again.annotations_sent) == (first.id, False, 1)
    assert len(fake.runs) == 1 and len(fake.annotations[first.id]) == 121
    assert fake.runs[first.id]["conclusion"] == "success" and fake.runs[first.id]["output"]["title"] == "passed"
    last_patch = fake.calls("PATCH", "/check-runs/")[-1][2]
    assert "head_sha" not in last_patch  # an update cannot move the run to another commit

    # a new push: another head commit gets its own run
    pushed = client.post_check_run(REPO, _body(sha=OTHER_SHA), _notes(3))
    assert pushed.created and pushed.id != first.id and len(fake.runs) == 2

    # a known id skips the look-up
    before = len(fake.calls("GET", "/commits/"))
    kept = client.post_check_run(REPO, _body(sha=OTHER_SHA), _notes(4), run_id=pushed.id)
    assert kept.id == pushed.id and not kept.created and len(fake.calls("GET", "/commits/")) == before


def test_the_comment_is_found_by_its_marker_across_pages_and_edited_in_place(github) -> None:  # type: ignore[no-untyped-def]
    fake, client = github
    for i in range(130):
        fake.add_comment(REPO, 7, f"review note {i}")
    fake.add_comment(REPO, 7, f"> {MARKER}\n> quoted by a reviewer")  # a quote is not the comment
    made = client.upsert_comment(REPO, 7, marker=MARKER, body=f"{MARKER}\nBlocked: 1")
    assert made.created
    edited = client.upsert_comment(REPO, 7, marker=MARKER, body=f"{MARKER}\nPassed")
    assert (edited.id, edited.created) == (made.id, False)
    ours = [c for c in fake.comments[7] if c["body"].startswith(MARKER)]
    assert [c["body"] for c in ours] == [f"{MARKER}\nPassed"]
    assert len(fake.calls("POST", "/comments")) == 1 and len(fake.calls("PATCH", "/issues/comments/")) == 1
    assert len([1 for m, p, _ in fake.requests if m == "GET" and p.endswith("/issues/7/comments")]) >= 4  # 2 pages x 2
    with pytest.raises(ValueError, match="marker"):
        client.upsert_comment(REPO, 7, marker=MARKER, body="no marker")


APP_ONLY = {
    "message": "You must authenticate via a GitHub App.",
    "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
    "status": "403",
}
NOT_ACCESSIBLE = {
    "message": "Resource not accessible by integration",
    "documentation_url": "https://docs.github.com/rest/issues/comments#create-an-issue-comment",
    "status": "403",
}
PRIMARY_LIMIT = {
    "message": "API rate limit exceeded for installation ID 4242.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api",
}
SECONDARY_LIMIT = {
    "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
    "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits",
}
NO_COMMIT = {
    "message": "Validation Failed",
    "errors": [{"resource": "CheckRun", "code": "invalid", "field": "head_sha", "message": "No commit found for SHA"}],
    "documentation_url": "https://docs.github.com/rest/checks/runs#create-a-check-run",
}


def test_githubs_refusals_become_clear_errors(github) -> None:  # type: ignore[no-untyped-def]
    fake, client = github
    fake.fail[f"/repos/{REPO}/check-runs"] = Failure(403, APP_ONLY)
    with pytest.raises(DeliveryError, match="checks: write permission") as exc:
        client.post_check_run(REPO, _body(), [])
    assert exc.value.permanent and "You must authenticate via a GitHub App." in str(exc.value)

    fake.fail[f"/repos/{REPO}/issues/7/comments"] = Failure(403, NOT_ACCESSIBLE, times=2)
    with pytest.raises(DeliveryError, match=r"Resource not accessible by integration.*pull-requests: write"):
        client.upsert_comment(REPO, 7, marker=MARKER, body=MARKER)

    fake.fail[f"/repos/{REPO}/check-runs"] = Failure(422, NO_COMMIT)
    with pytest.raises(DeliveryError, match=r"HTTP 422.*CheckRun.head_sha: No commit found for SHA") as exc:
        client.post_check_run(REPO, _body(), [])
    assert exc.value.permanent

    reset = int(NOW.timestamp()) + 600
    headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0", "x-ratelimit-used": "5000",
               "x-ratelimit-reset": str(reset), "x-ratelimit-resource": "core"}  # fmt: skip
    fake.fail[f"/repos/{REPO}/commits/"] = Failure(403, PRIMARY_LIMIT, headers)
    with pytest.raises(RateLimitedError, match=r"rate limit exceeded.*retry after 2026-12-08T00:10:00") as limited:
        client.post_check_run(REPO, _body(), [])
    assert not limited.value.permanent and limited.value.retry_at == datetime.fromtimestamp(reset, UTC)

    fake.fail[f"/repos/{REPO}/commits/"] = Failure(429, SECONDARY_LIMIT, {"retry-after": "60"})
    with pytest.raises(RateLimitedError, match=r"HTTP 429.*secondary rate limit.*00:01:00") as limited:
        client.post_check_run(REPO, _body(), [])
    assert limited.value.retry_at == datetime(2026, 12, 8, 0, 1, tzinfo=UTC)

    fake.fail[f"/repos/{REPO}/commits/"] = Failure(403, SECONDARY_LIMIT, {"retry-after": "30"})
    with pytest.raises(RateLimitedError, match="HTTP 403"):
        client.post_check_run(REPO, _body(), [])

    wrong = GitHubChecks(client=httpx.Client, api_url=fake.base, token="ghp_wrong")
    with pytest.raises(DeliveryError, match=r"HTTP 401.*Bad credentials.*MAMORI_GITHUB_TOKEN") as exc:
        wrong.post_check_run(REPO, _body(), [])
    assert exc.value.permanent

    fake.fail.clear()
    with pytest.raises(DeliveryError, match="HTTP 404"):
        client.annotations(REPO, 1)  # no such run
    assert not fake.runs and fake.comments == {}  # nothing was written by any refused request


def test_bad_names_are_refused_before_any_request_and_unreachable_github_is_transient(github) -> None:  # type: ignore[no-untyped-def]
    fake, client = github
    count = len(fake.requests)
    for repo, sha in (("acme/api/../../orgs", SHA), ("acme", SHA), (REPO, "not-a-sha"), (REPO, "a" * 40 + "/x")):
        with pytest.raises(DeliveryError, match=r"owner/name|commit SHA") as exc:
            client.post_check_run(repo, _body(sha=sha), [])
        assert exc.value.permanent
    assert len(fake.requests) == count
    down = GitHubChecks(client=httpx.Client, api_url="http://127.0.0.1:9", token="t")
    with pytest.raises(DeliveryError) as exc:
        down.post_check_run(REPO, _body(), [])
    assert not exc.value.permanent


def test_the_client_is_built_from_settings_only_with_a_token() -> None:
    assert checks_from_settings(load_settings(env={}), httpx.Client).github is None
    configured = checks_from_settings(
        load_settings(env={"MAMORI_GITHUB_TOKEN": "t", "MAMORI_GITHUB_API_URL": "https://ghe.example/api/v3/"}),
        httpx.Client,
    )
    assert configured.github is not None and configured.github.root == "https://ghe.example/api/v3"
