"""Outbound clients: webhooks (signature, SSRF guard), Slack (retry vs give up), SMTP, Jira and GitHub tickets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from email import message_from_bytes
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from mamori.core.config import Settings
from mamori.core.errors import ValidationFailed
from mamori.integrations import DeliveryError
from mamori.integrations.email import send_email
from mamori.integrations.slack import SlackClient
from mamori.integrations.tickets import (
    GitHubIssues,
    InMemoryTracker,
    JiraCloud,
    TicketRequest,
    file_once,
    trackers_from_settings,
)
from mamori.integrations.webhooks import SIGNATURE_HEADER, check_url, get_checked, pinned, post_json, signature
from tests.support import free_port


def client_for(handler: Any) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def test_webhooks_are_signed_and_private_hosts_refused_unless_allowed() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    assert post_json(client_for(handler), "http://127.0.0.1:9/x", {"a": 1}, allow_private=True, key=b"k") == 204
    body = seen[0].content
    assert json.loads(body) == {"a": 1}
    assert seen[0].headers[SIGNATURE_HEADER] == signature(b"k", body) and signature(b"k", body).startswith("sha256=")
    for url in (
        "http://127.0.0.1/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "http://100.64.0.1/x",  # shared address space (carrier-grade NAT)
        "http://[::ffff:127.0.0.1]/x",
    ):
        with pytest.raises(DeliveryError, match="non-public address") as exc:
            check_url(url, allow_private=False)
        assert exc.value.permanent
    with pytest.raises(DeliveryError, match="not an http"):
        check_url("file:///etc/passwd", allow_private=True)


def test_webhook_redirects_and_errors_are_classified() -> None:
    redirect = client_for(lambda r: httpx.Response(302, headers={"Location": "http://10.0.0.1/"}))
    with pytest.raises(DeliveryError, match="redirect") as exc:
        post_json(redirect, "http://127.0.0.1/x", {}, allow_private=True)
    assert exc.value.permanent
    with pytest.raises(DeliveryError) as exc:
        post_json(client_for(lambda r: httpx.Response(503)), "http://127.0.0.1/x", {}, allow_private=True)
    assert not exc.value.permanent
    with pytest.raises(DeliveryError) as exc:
        post_json(client_for(lambda r: httpx.Response(404)), "http://127.0.0.1/x", {}, allow_private=True)
    assert exc.value.permanent


def slack(handler: Any) -> SlackClient:
    return SlackClient(client=lambda: client_for(handler), token="xoxb-1", api_url="https://slack.test/api")


def test_slack_post_sends_bearer_token_and_returns_the_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/chat.postMessage"
        assert request.headers["Authorization"] == "Bearer xoxb-1"
        assert json.loads(request.content)["channel"] == "#ops"
        return httpx.Response(200, json={"ok": True, "channel": "C1", "ts": "1.2"})

    assert slack(handler).post_message("#ops", "hi")["ts"] == "1.2"


@pytest.mark.parametrize(
    ("response", "permanent"),
    [
        (httpx.Response(429, headers={"Retry-After": "3"}), False),
        (httpx.Response(502), False),
        (httpx.Response(200, json={"ok": False, "error": "ratelimited"}), False),
        (httpx.Response(200, json={"ok": False, "error": "channel_not_found"}), True),
        (httpx.Response(200, json={"ok": False, "error": "invalid_auth"}), True),
    ],
)
def test_slack_errors_say_whether_a_retry_can_help(response: httpx.Response, permanent: bool) -> None:
    with pytest.raises(DeliveryError) as exc:
        slack(lambda r: response).update_message("C1", "1.2", "resolved")
    assert exc.value.permanent is permanent


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's hook name
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_email_reaches_a_real_smtp_server(smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    send_email(
        host="127.0.0.1",
        port=port,
        sender="mamori@example.com",
        to=["alice@example.com"],
        subject="SEV2: jobs-api down",
        text="Acknowledge: https://mamori.example/ack/1",
    )
    (raw,) = inbox.messages
    message = message_from_bytes(raw)
    assert message["Subject"] == "SEV2: jobs-api down" and message["To"] == "alice@example.com"
    assert "https://mamori.example/ack/1" in message.get_payload()


def test_email_without_a_server_fails_for_good() -> None:
    with pytest.raises(DeliveryError, match="no SMTP server") as exc:
        send_email(host=None, port=25, sender="a@b.c", to=["x@y.z"], subject="s", text="t")
    assert exc.value.permanent


def jira_for(handler: Any) -> JiraCloud:
    return JiraCloud(client=lambda: client_for(handler), url="https://acme.atlassian.net", email="bot@acme", token="t")


def github_for(handler: Any) -> GitHubIssues:
    return GitHubIssues(client=lambda: client_for(handler), api_url="https://api.github.test", token="t")


def request(marker: str = "mamori-action-7", **kw: Any) -> TicketRequest:
    return TicketRequest(marker=marker, title=kw.pop("title", "Budget low"), body=kw.pop("body", "a\nb"), **kw)


def test_jira_ticket_is_created_once_per_marker() -> None:
    store: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        if request.url.path == "/rest/api/3/search/jql":
            marker = request.url.params["jql"].split('"')[1]
            assert 'project = "OPS"' in request.url.params["jql"]
            return httpx.Response(200, json={"issues": [i for i in store if marker in i["labels"]]})
        fields = json.loads(request.content)["fields"]
        assert fields["description"]["type"] == "doc" and fields["project"] == {"key": "OPS"}
        store.append({"key": f"OPS-{len(store) + 1}", "labels": fields["labels"]})
        return httpx.Response(201, json={"id": "1", "key": store[-1]["key"], "self": "https://x"})

    jira = jira_for(handler)
    first = file_once(jira, "OPS", request(labels=("slo",)))
    again = file_once(jira, "OPS", request(labels=("slo",)))
    assert (first.key, first.existing, again.key, again.existing) == ("OPS-1", False, "OPS-1", True)
    assert first.url == "https://acme.atlassian.net/browse/OPS-1" and len(store) == 1
    assert store[0]["labels"] == ["slo", "mamori-action-7"]


def test_github_issues_carry_the_marker_as_a_label_and_are_found_by_it() -> None:
    store: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/repos/acme/jobs-api/issues"
        if request.method == "GET":
            assert request.url.params["state"] == "all"
            label = request.url.params["labels"]
            return httpx.Response(200, json=[i for i in store if label in [x["name"] for x in i["labels"]]])
        body = json.loads(request.content)
        number = 11 + len(store)
        store.append({"number": number, "html_url": f"https://github.test/acme/jobs-api/issues/{number}",
                      "labels": [{"name": x} for x in body["labels"]], "body": body["body"]})  # fmt: skip
        return httpx.Response(201, json=store[-1])

    github = github_for(handler)
    first = file_once(github, "acme/jobs-api", request(facts=(("Owner", "erin"),), labels=("mamori",)))
    again = file_once(github, "acme/jobs-api", request())
    other = file_once(github, "acme/jobs-api", request("mamori-action-8"))
    assert (first.key, first.existing, again.key, again.existing) == (
        "acme/jobs-api#11",
        False,
        "acme/jobs-api#11",
        True,
    )
    assert other.key == "acme/jobs-api#12" and len(store) == 2
    assert [x["name"] for x in store[0]["labels"]] == ["mamori", "mamori-action-7"]
    assert "- Owner: erin" in store[0]["body"]


@pytest.mark.parametrize(("status", "permanent"), [(404, True), (422, True), (429, False), (502, False)])
def test_tracker_errors_are_classified(status: int, permanent: bool) -> None:
    answer = github_for(lambda r: httpx.Response(status, json={"message": "nope"}))
    with pytest.raises(DeliveryError, match=f"GitHub list issues failed: HTTP {status}") as exc:
        file_once(answer, "acme/jobs-api", request())
    assert exc.value.permanent is permanent


@pytest.mark.parametrize("answer", [httpx.Response(200, text="<html>proxy login</html>"), httpx.Response(200, json={})])
def test_a_success_answer_that_is_not_the_trackers_json_is_a_delivery_error(answer: httpx.Response) -> None:
    def proxy(request: httpx.Request) -> httpx.Response:
        return httpx.Response(answer.status_code, content=answer.content, headers=answer.headers)

    with pytest.raises(DeliveryError, match=r"Jira https://acme\.atlassian\.net: unexpected answer"):
        file_once(jira_for(proxy), "OPS", request())
    with pytest.raises(DeliveryError, match=r"GitHub .*: unexpected answer"):
        file_once(github_for(proxy), "acme/jobs-api", request())


def test_a_marker_that_could_break_a_jql_query_is_refused() -> None:
    with pytest.raises(ValueError, match="ticket marker"):
        request('x" OR project = "SECRET')


def test_the_in_memory_twin_files_once_even_after_a_lost_answer() -> None:
    twin = InMemoryTracker(fail_next=1, lose_answer=True)
    with pytest.raises(DeliveryError, match="simulated") as exc:
        file_once(twin, "OPS", request(), look_first=False)
    assert not exc.value.permanent
    ticket = file_once(twin, "OPS", request())
    assert ticket.existing and len(twin.filed) == 1


def test_trackers_from_settings_say_what_to_set_for_an_unconfigured_one() -> None:
    trackers = trackers_from_settings(Settings(github_token="gh"), lambda: client_for(lambda r: httpx.Response(500)))
    assert isinstance(trackers.get("github"), GitHubIssues)
    with pytest.raises(ValidationFailed, match="MAMORI_JIRA_URL"):
        trackers.get("jira")
    with pytest.raises(ValidationFailed, match="tracker must be one of jira, github, not 'trello'"):
        trackers.get("trello")


def test_fetches_follow_redirects_only_to_public_addresses() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/feed":
            return httpx.Response(302, headers={"Location": "http://169.254.169.254/latest/meta-data"})
        if request.url.path == "/moved":
            return httpx.Response(301, headers={"Location": "/final"})
        if request.url.path == "/loop":
            return httpx.Response(307, headers={"Location": "/loop"})
        return httpx.Response(200, text="<rss/>")

    with pytest.raises(DeliveryError, match="non-public address"):
        get_checked(client_for(handler), "http://93.184.215.14/feed", allow_private=False)
    assert seen == ["http://93.184.215.14/feed"], "the private hop is never requested"
    final = get_checked(client_for(handler), "http://93.184.215.14/moved", allow_private=False)
    assert final.status_code == 200 and str(final.url) == "http://93.184.215.14/final"
    with pytest.raises(DeliveryError, match="cloud metadata address"):  # even with private addresses allowed
        get_checked(client_for(handler), "http://93.184.215.14/feed", allow_private=True)
    assert "http://169.254.169.254/latest/meta-data" not in seen
    with pytest.raises(DeliveryError, match="more than 5 redirects"):
        get_checked(client_for(handler), "http://93.184.215.14/loop", allow_private=False)


def test_requests_go_to_the_address_that_was_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    # DNS rebinding: the first answer is public, any later one private. The request must use the first.
    answers = iter(["93.184.215.14", "127.0.0.1", "127.0.0.1"])
    lookups: list[str] = []

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        lookups.append(host)
        return [(2, 1, 6, "", (next(answers), port))]

    monkeypatch.setattr("socket.getaddrinfo", resolve)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    post_json(client_for(handler), "https://hooks.example:8443/in?x=1", {"a": 1}, allow_private=False, key=b"k")
    assert lookups == ["hooks.example"], "resolved once, by the check"
    request = seen[0]
    assert str(request.url) == "https://93.184.215.14:8443/in?x=1"
    assert request.headers["Host"] == "hooks.example:8443"
    assert request.extensions["sni_hostname"] == "hooks.example"  # the certificate is checked for the name
    assert request.headers[SIGNATURE_HEADER] == signature(b"k", request.content)
    assert pinned("https://u:p@hooks.example/x", "2606:2800::1") == (
        "https://u:p@[2606:2800::1]/x",
        {"Host": "hooks.example"},
        {"sni_hostname": "hooks.example"},
    )


def test_fetches_pin_each_hop_and_resolve_relative_redirects_against_the_name(monkeypatch: pytest.MonkeyPatch) -> None:
    addresses = {"feeds.example": "93.184.215.14"}

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        return [(2, 1, 6, "", (addresses.get(host, "10.0.0.7"), port))]

    monkeypatch.setattr("socket.getaddrinfo", resolve)
    seen: list[tuple[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((str(request.url), request.headers["Host"]))
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        if request.url.path == "/new":
            return httpx.Response(302, headers={"Location": "http://internal.example/secret"})
        return httpx.Response(200)

    with pytest.raises(DeliveryError, match="non-public address"):
        get_checked(client_for(handler), "http://feeds.example/old", allow_private=False, headers={"Accept": "x"})
    assert seen == [
        ("http://93.184.215.14/old", "feeds.example"),
        ("http://93.184.215.14/new", "feeds.example"),
    ], "the relative hop keeps the name; the hop to a private address is never requested"


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "2002:a00:1::1",  # 6to4 of 10.0.0.1
        "2002:c0a8:101::1",  # 6to4 of 192.168.1.1
        "::ffff:10.0.0.1",  # IPv4-mapped
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
    ],
)
def test_ipv6_forms_of_private_addresses_are_not_public(address: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import ipaddress

    from mamori.integrations.webhooks import is_public

    assert not is_public(ipaddress.ip_address(address))
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(10, 1, 6, "", (address, 0, 0, 0))])
    with pytest.raises(DeliveryError, match="non-public address") as exc:
        check_url("https://hooks.example/x", allow_private=False)
    assert exc.value.permanent


@pytest.mark.parametrize("address", ["169.254.169.254", "fd00:ec2::254", "fe80::1", "64:ff9b::a9fe:a9fe"])
def test_metadata_and_link_local_addresses_are_refused_even_when_private_ones_are_allowed(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    family = 10 if ":" in address else 2
    sockaddr = (address, 0, 0, 0) if family == 10 else (address, 0)
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(family, 1, 6, "", sockaddr)])
    with pytest.raises(DeliveryError, match="cloud metadata address") as exc:
        check_url("http://metadata.internal/latest/meta-data/", allow_private=True)
    assert exc.value.permanent


def test_a_public_address_and_an_allowed_private_one_pass_and_are_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("93.184.215.14", 0))])
    assert check_url("https://hooks.example/x", allow_private=False) == "93.184.215.14"
    monkeypatch.setattr("socket.getaddrinfo", lambda *a, **k: [(2, 1, 6, "", ("10.0.0.7", 0))])
    assert check_url("https://hooks.internal/x", allow_private=True) == "10.0.0.7"


def test_an_alert_summary_with_line_breaks_is_emailed_with_a_one_line_subject() -> None:
    from email import message_from_bytes

    from mamori.integrations.email import send_email
    from tests.support import smtp_inbox

    with smtp_inbox() as inbox:
        message_id = send_email(
            host="127.0.0.1",
            port=inbox.port,
            sender="mamori@example.com",
            to=["bob@example.com"],
            subject="[SEV1] disk full\r\nBcc: everyone@example.com\n\tand more",
            text="body",
            message_id="<page-42@mamori.invalid>",
        )
    assert message_id == "<page-42@mamori.invalid>"
    [raw] = inbox.messages
    mail = message_from_bytes(raw)
    assert mail["Subject"] == "[SEV1] disk full Bcc: everyone@example.com and more"
    assert mail["Bcc"] is None and mail["Message-ID"] == "<page-42@mamori.invalid>"


def test_a_recipient_with_a_line_break_is_a_permanent_failure() -> None:
    from mamori.integrations.email import send_email

    with pytest.raises(DeliveryError, match="cannot build the message") as exc:
        send_email(
            host="127.0.0.1", port=9, sender="m@example.com", to=["a@example.com\nBcc: x@y"], subject="s", text="t"
        )
    assert exc.value.permanent


def test_slack_text_is_escaped_so_a_summary_cannot_mention_everyone_or_forge_a_link() -> None:
    from mamori.integrations.text import header_safe, slack_escape

    assert slack_escape("<!channel> see <https://evil.example|docs> & more") == (
        "&lt;!channel&gt; see &lt;https://evil.example|docs&gt; &amp; more"
    )
    assert header_safe("a\u2028b\x00c" + "x" * 300).startswith("a b c") and len(header_safe("x" * 300)) == 250
