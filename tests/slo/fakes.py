"""In-memory Jira Cloud, GitHub and webhook receivers behind httpx.MockTransport, built from their documented
payloads (Jira REST v3 `POST /rest/api/3/issue`, `GET /rest/api/3/search/jql`; GitHub `POST/GET
/repos/{owner}/{repo}/issues`)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any

import httpx

JIRA = "https://acme.atlassian.net"


@dataclass
class FakeTrackers:
    jira_issues: list[dict[str, Any]] = field(default_factory=list)
    github_issues: list[dict[str, Any]] = field(default_factory=list)
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    requests: list[httpx.Request] = field(default_factory=list)
    lose_next_jira_response: bool = False
    jira_down: int = 0

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        url = str(request.url)
        if url.startswith(JIRA):
            return self._jira(request)
        if request.url.host == "api.github.com":
            return self._github(request)
        if request.url.host == "hooks.example.com":
            self.webhooks.append(json.loads(request.content))
            return httpx.Response(204)
        return httpx.Response(404, json={"message": "Not Found"})

    def _jira(self, request: httpx.Request) -> httpx.Response:
        expected = "Basic " + base64.b64encode(b"bot@jobs.example:jira-token").decode()
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, json={"errorMessages": ["Client must be authenticated"]})
        if self.jira_down:
            self.jira_down -= 1
            return httpx.Response(503, text="Service Unavailable")
        if request.method == "GET" and request.url.path == "/rest/api/3/search/jql":
            label = re.search(r'labels = "([^"]+)"', request.url.params["jql"])
            hits = [i for i in self.jira_issues if label and label.group(1) in i["fields"]["labels"]]
            return httpx.Response(
                200, json={"issues": [{"id": i["id"], "key": i["key"]} for i in hits], "isLast": True}
            )
        if request.method == "POST" and request.url.path == "/rest/api/3/issue":
            body = json.loads(request.content)
            fields = body["fields"]
            if "project" not in fields or "issuetype" not in fields or "summary" not in fields:
                return httpx.Response(400, json={"errorMessages": [], "errors": {"project": "required"}})
            number = len(self.jira_issues) + 1
            issue = {"id": str(10000 + number), "key": f"{fields['project']['key']}-{number}", "fields": fields}
            self.jira_issues.append(issue)
            if self.lose_next_jira_response:
                self.lose_next_jira_response = False
                return httpx.Response(502, text="Bad Gateway")
            return httpx.Response(
                201, json={"id": issue["id"], "key": issue["key"], "self": f"{JIRA}/rest/api/3/issue/{issue['id']}"}
            )
        return httpx.Response(404, json={"errorMessages": ["not found"]})

    def _github(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization") != "Bearer gh-token":
            return httpx.Response(401, json={"message": "Bad credentials"})
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)/issues", request.url.path)
        if match is None:
            return httpx.Response(404, json={"message": "Not Found"})
        repo = match.group(1)
        if request.method == "GET":
            label = request.url.params.get("labels")
            hits = [i for i in self.github_issues if i["repo"] == repo and label in [x["name"] for x in i["labels"]]]
            return httpx.Response(200, json=hits)
        body = json.loads(request.content)
        number = len(self.github_issues) + 1
        issue = {
            "id": 1000 + number,
            "number": number,
            "repo": repo,
            "title": body["title"],
            "body": body["body"],
            "labels": [{"name": x} for x in body.get("labels", [])],
            "state": "open",
            "html_url": f"https://github.com/{repo}/issues/{number}",
        }
        self.github_issues.append(issue)
        return httpx.Response(201, json=issue)
