"""The one ticket tracker: Jira Cloud (REST v3) and GitHub Issues behind one Protocol, filed at most once.

Every caller (an error-budget policy action, a postmortem action item, a finding's SLA breach) describes
what to file as a `TicketRequest` whose `marker` names it. The marker travels as a label on the issue,
in Jira and in GitHub alike, so that a retry after a lost answer finds the issue it already made
(`file_once`) instead of filing a second one. GitHub is asked through its issues list filtered by label,
which is consistent at once, not through the search index, which lags behind a fresh issue.

The wiring builds the runtime's `Trackers` from settings; tests put `InMemoryTracker` twins in its place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Protocol

import httpx

from mamori.core.config import Settings
from mamori.core.errors import ValidationFailed
from mamori.integrations.errors import DeliveryError

TRACKERS = ("jira", "github")
MARKER = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
RETRYABLE_STATUSES = (408, 425, 429)
"""4xx answers that a later attempt may get past; every other 4xx is permanent, every 5xx is retried."""


@dataclass(frozen=True)
class TicketRequest:
    """What to file. `facts` are short "name: value" lines shown under the body (owner, incident link)."""

    marker: str
    title: str
    body: str
    labels: tuple[str, ...] = ()
    facts: tuple[tuple[str, str], ...] = ()
    due: date | None = None
    issue_type: str = "Task"

    def __post_init__(self) -> None:
        if not MARKER.match(self.marker):
            raise ValueError(f"ticket marker must be lowercase letters, digits and -_. only: {self.marker!r}")

    @property
    def all_labels(self) -> list[str]:
        return [*dict.fromkeys([*self.labels, self.marker])]


@dataclass(frozen=True)
class Ticket:
    key: str
    url: str
    existing: bool = False


class TicketTracker(Protocol):
    """An issue tracker. `project` is a Jira project key or a GitHub owner/repo."""

    name: str

    def find(self, project: str, marker: str) -> Ticket | None: ...

    def create(self, project: str, request: TicketRequest) -> Ticket: ...


def file_once(tracker: TicketTracker, project: str, request: TicketRequest, *, look_first: bool = True) -> Ticket:
    """The issue for this request: the one already carrying its marker, else a new one. A first attempt that
    knows no earlier attempt ran may skip the look-up (`look_first=False`)."""
    if look_first:
        found = tracker.find(project, request.marker)
        if found is not None:
            return found
    return tracker.create(project, request)


def _raise_for(response: httpx.Response, what: str) -> None:
    if response.is_success:
        return
    code = response.status_code
    raise DeliveryError(
        f"{what} failed: HTTP {code}: {response.text[:300]}",
        permanent=400 <= code < 500 and code not in RETRYABLE_STATUSES,
    )


def adf(text: str) -> dict[str, Any]:
    """Atlassian Document Format, as Jira Cloud v3 wants descriptions: a paragraph per block of lines
    separated by a blank line, the lines inside a block joined by hard breaks."""
    content: list[dict[str, Any]] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        inline: list[dict[str, Any]] = []
        for i, line in enumerate(block.splitlines()):
            if i:
                inline.append({"type": "hardBreak"})
            if line:
                inline.append({"type": "text", "text": line})
        if inline:
            content.append({"type": "paragraph", "content": inline})
    return {"type": "doc", "version": 1, "content": content}


class _Http:
    """Sending one request through the runtime's pooled client, with one error policy for both trackers."""

    label = ""
    root = ""

    def __init__(self, client: Callable[[], httpx.Client]) -> None:
        self.client = client

    def send(self, what: str, method: str, url: str, **kw: Any) -> Any:
        try:
            with self.client() as http:
                response = http.request(method, url, **kw)
            _raise_for(response, what)
            return response.json()
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.label} {self.root}: {exc}") from None
        except ValueError as exc:  # a 2xx that is not the tracker's JSON (a proxy's page)
            raise DeliveryError(f"{self.label} {self.root}: unexpected answer (not JSON: {exc})") from None

    def unexpected(self, exc: Exception) -> DeliveryError:
        return DeliveryError(f"{self.label} {self.root}: unexpected answer ({type(exc).__name__}: {exc})")


class JiraCloud(_Http):
    name = label = "Jira"

    def __init__(self, *, client: Callable[[], httpx.Client], url: str, email: str, token: str) -> None:
        super().__init__(client)
        self.root, self.auth = url.rstrip("/"), httpx.BasicAuth(email, token)

    def payload(self, project: str, request: TicketRequest) -> dict[str, Any]:
        text = request.body
        if request.facts:
            text += "\n\n" + "\n".join(f"{name}: {value}" for name, value in request.facts)
        fields: dict[str, Any] = {
            "project": {"key": project},
            "issuetype": {"name": request.issue_type},
            "summary": request.title[:250],
            "description": adf(text),
            "labels": request.all_labels,
        }
        if request.due is not None:
            fields["duedate"] = request.due.isoformat()
        return {"fields": fields}

    def find(self, project: str, marker: str) -> Ticket | None:
        jql = f'labels = "{marker}" AND project = "{project}"' if project else f'labels = "{marker}"'
        data = self.send(
            "Jira search",
            "GET",
            f"{self.root}/rest/api/3/search/jql",
            params={"jql": jql, "fields": "key"},
            auth=self.auth,
            headers={"Accept": "application/json"},
        )
        try:
            issues = data.get("issues") or []
            return Ticket(str(issues[0]["key"]), f"{self.root}/browse/{issues[0]['key']}", True) if issues else None
        except (KeyError, TypeError, AttributeError, IndexError) as exc:
            raise self.unexpected(exc) from None

    def create(self, project: str, request: TicketRequest) -> Ticket:
        data = self.send(
            "Jira create issue",
            "POST",
            f"{self.root}/rest/api/3/issue",
            json=self.payload(project, request),
            auth=self.auth,
            headers={"Accept": "application/json"},
        )
        try:
            return Ticket(str(data["key"]), f"{self.root}/browse/{data['key']}")
        except (KeyError, TypeError) as exc:
            raise self.unexpected(exc) from None


class GitHubIssues(_Http):
    name = label = "GitHub"

    def __init__(self, *, client: Callable[[], httpx.Client], api_url: str, token: str) -> None:
        super().__init__(client)
        self.root = api_url.rstrip("/")
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
        }

    def payload(self, request: TicketRequest) -> dict[str, Any]:
        lines = [request.body]
        facts = list(request.facts)
        if request.due is not None:
            facts.append(("Due", request.due.isoformat()))
        if facts:
            lines += ["", *(f"- {name}: {value}" for name, value in facts)]
        return {"title": request.title[:250], "body": "\n".join(lines), "labels": request.all_labels}

    def find(self, project: str, marker: str) -> Ticket | None:
        data = self.send(
            "GitHub list issues",
            "GET",
            f"{self.root}/repos/{project}/issues",
            params={"labels": marker, "state": "all"},
            headers=self.headers,
        )
        try:
            first = data[0] if data else None
            return Ticket(f"{project}#{first['number']}", str(first["html_url"]), True) if first else None
        except (KeyError, TypeError, IndexError) as exc:
            raise self.unexpected(exc) from None

    def create(self, project: str, request: TicketRequest) -> Ticket:
        data = self.send(
            "GitHub create issue", "POST", f"{self.root}/repos/{project}/issues", json=self.payload(request),
            headers=self.headers,
        )  # fmt: skip
        try:
            return Ticket(f"{project}#{data['number']}", str(data["html_url"]))
        except (KeyError, TypeError) as exc:
            raise self.unexpected(exc) from None


@dataclass
class InMemoryTracker:
    """A tracker twin for tests and offline runs: keeps what was filed; `fail_next` makes the next creates
    raise (a transient error unless `permanent`), after storing the issue when `lose_answer` (a lost reply)."""

    name: str = "memory"
    filed: list[tuple[str, TicketRequest, Ticket]] = field(default_factory=list)
    fail_next: int = 0
    permanent: bool = False
    lose_answer: bool = False

    def find(self, project: str, marker: str) -> Ticket | None:
        for filed_project, request, ticket in self.filed:
            if filed_project == project and request.marker == marker:
                return Ticket(ticket.key, ticket.url, existing=True)
        return None

    def create(self, project: str, request: TicketRequest) -> Ticket:
        ticket = Ticket(f"{project}-{len(self.filed) + 1}", f"memory://{project}/{len(self.filed) + 1}")
        if self.fail_next:
            self.fail_next -= 1
            if self.lose_answer:
                self.filed.append((project, request, ticket))
            raise DeliveryError(f"{self.name} create issue failed: simulated", permanent=self.permanent)
        self.filed.append((project, request, ticket))
        return ticket


@dataclass
class Trackers:
    """The runtime's trackers by name (built by the wiring from settings; a test passes twins), and for each
    tracker not configured, what to set."""

    given: dict[str, TicketTracker] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def get(self, name: str) -> TicketTracker:
        if name in self.given:
            return self.given[name]
        if name in self.missing:
            raise ValidationFailed(self.missing[name])
        raise ValidationFailed(f"tracker must be one of {', '.join(TRACKERS)}, not {name!r}")


def trackers_from_settings(settings: Settings, client: Callable[[], httpx.Client]) -> Trackers:
    given: dict[str, TicketTracker] = {}
    missing: dict[str, str] = {}
    s = settings
    if s.jira_url and s.jira_email and s.jira_token:
        given["jira"] = JiraCloud(
            client=client, url=s.jira_url, email=s.jira_email, token=s.jira_token.get_secret_value()
        )
    else:
        missing["jira"] = "Jira is not configured: set MAMORI_JIRA_URL, MAMORI_JIRA_EMAIL, MAMORI_JIRA_TOKEN"
    if s.github_token is not None:
        given["github"] = GitHubIssues(client=client, api_url=s.github_api_url, token=s.github_token.get_secret_value())
    else:
        missing["github"] = "GitHub is not configured: set MAMORI_GITHUB_TOKEN"
    return Trackers(given, missing)
