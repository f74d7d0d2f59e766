"""What a page says: an alert group's `Page`, told through the shared notifiers as one `Message`.

The channels themselves (email, Slack, webhook; SMS or voice providers by the same Protocol) live in
`mamori.integrations.notify`; this module only decides the words, the links and the buttons of a page.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from mamori.integrations import DeliveryError
from mamori.integrations.notify import Button, Message

NotifyError = DeliveryError
"""A send failed; the message says why. Sends are retried with backoff."""

PAGE_KIND = "mamori.page"
"""The `type` of a page's webhook body."""


@dataclass(frozen=True)
class Page:
    """What a notification says, whatever the channel."""

    group_id: str
    title: str
    severity: str
    service: str | None
    status: str
    ack_url: str
    resolve_url: str
    details_url: str
    acted_by: str | None = None
    """Who acknowledged or resolved it, for messages updated after the fact."""
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    """The labels and annotations of the alert that opened the group (summary, description, runbook_url)."""


HIDDEN_LABELS = frozenset({"alertname", "mamori_drill"})
KEY_LABELS, TEXT_LIMIT = 8, 500


def _short(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def runbook(page: Page) -> str | None:
    """The runbook link of the alert (`runbook_url`, as Prometheus rules name it, or `runbook`)."""
    return page.annotations.get("runbook_url") or page.annotations.get("runbook") or None


def message(page: Page, *, update: bool = False) -> Message:
    """The page as a message: acknowledge and resolve buttons while they still apply, an Open link always.
    `update` words the plain text for a message rewritten after the group changed."""
    status = page.status + (f" by {page.acted_by}" if page.acted_by else "")
    buttons: list[Button] = []
    if page.status == "triggered":
        buttons.append(Button("ack", "Acknowledge", value=page.group_id, style="primary"))
    if page.status != "resolved":
        buttons.append(Button("resolve", "Resolve", value=page.group_id))
    buttons.append(Button("open", "Open", url=page.details_url))
    book = runbook(page)
    if book:
        buttons.append(Button("runbook", "Runbook", url=book))  # dropped by the channel unless http(s)
    data = {k: v for k, v in asdict(page).items() if k != "acted_by"}
    lines = [f"service: {page.service or '-'} · status: {status}"]
    for name in ("summary", "description"):
        if page.annotations.get(name):
            lines.append(f"{name}: {_short(page.annotations[name], TEXT_LIMIT)}")
    shown = [(k, v) for k, v in sorted(page.labels.items()) if k not in HIDDEN_LABELS][:KEY_LABELS]
    if shown:
        lines.append("labels: " + ", ".join(f"{k}={_short(v, 80)}" for k, v in shown))
    links = [("Acknowledge", page.ack_url), ("Resolve", page.resolve_url), ("Details", page.details_url)]
    if book:
        links.append(("Runbook", book))
    return Message(
        kind=PAGE_KIND,
        title=page.title,
        severity=page.severity,
        lines=tuple(lines),
        links=tuple(links),
        buttons=tuple(buttons),
        key=f"mamori:{page.group_id}",
        data=data,
        fallback=f"[{page.severity}] {page.title}: {status}" if update else None,
    )
