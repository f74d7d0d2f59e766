"""Security-news and status feeds: RSS 2.0, Atom 1.0 and Statuspage JSON read safely into items."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeXml

from mamori.core import urls

ATOM = "{http://www.w3.org/2005/Atom}"
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


class InvalidFeed(ValueError):
    """A feed that cannot be read; the message says what is wrong."""


@dataclass(frozen=True, slots=True)
class FeedItem:
    guid: str
    title: str
    link: str | None
    summary: str
    published: datetime | None
    # news (RSS/Atom), incident, maintenance (Statuspage scheduled maintenance) or component (a component's status)
    kind: str = "news"
    status: str | None = None  # Statuspage: the incident/maintenance/component status


# component statuses that mean the vendor is down for us; degraded performance and maintenance are kept as items only
OUTAGE_STATUSES = frozenset({"partial_outage", "major_outage"})


def plain(text: str | None) -> str:
    """Markup removed, entities decoded, whitespace collapsed: what a person reads."""
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", text or ""))).strip()


def safe_link(value: Any) -> str | None:
    """Only http(s) links are kept: a hostile feed must not smuggle `javascript:` URLs into the dashboard."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if urls.is_http_url(value) else None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _text(el: Element | None, tag: str) -> str:
    found = el.find(tag) if el is not None else None
    return (found.text or "") if found is not None else ""


def parse(payload: bytes, *, kind: str) -> list[FeedItem]:
    """Items of an RSS, Atom or Statuspage (JSON or RSS/Atom) feed; `kind` is rss, atom or statuspage."""
    stripped = payload.lstrip()
    if kind == "statuspage" and stripped[:1] in (b"{", b"["):
        return _statuspage(payload)
    if not stripped.startswith(b"<"):
        raise InvalidFeed("not an XML feed (RSS or Atom) nor Statuspage JSON")
    try:
        root = SafeXml.fromstring(payload)
    except DefusedXmlException as exc:
        raise InvalidFeed(f"refused unsafe XML ({exc.__class__.__name__})") from None
    except SafeXml.ParseError as exc:
        raise InvalidFeed(f"not well-formed XML ({exc})") from None
    if root.tag == f"{ATOM}feed":
        return _atom(root)
    if root.tag == "rss" or root.find("channel") is not None:
        return _rss(root)
    raise InvalidFeed(f"unknown feed root element <{root.tag}>; expected <rss> or Atom <feed>")


def _rss(root: Element) -> list[FeedItem]:
    items = []
    for item in root.iter("item"):
        title, link = plain(_text(item, "title")), safe_link(_text(item, "link"))
        guid = _text(item, "guid").strip() or link or title
        if not guid:
            continue
        items.append(FeedItem(guid, title, link, plain(_text(item, "description")), _date(_text(item, "pubDate"))))
    return items


def _atom(root: Element) -> list[FeedItem]:
    items = []
    for entry in root.iter(f"{ATOM}entry"):
        link_el = entry.find(f"{ATOM}link[@rel='alternate']") or entry.find(f"{ATOM}link")
        link = safe_link(link_el.get("href")) if link_el is not None else None
        title = plain(_text(entry, f"{ATOM}title"))
        guid = _text(entry, f"{ATOM}id").strip() or link or title
        if not guid:
            continue
        summary = plain(_text(entry, f"{ATOM}summary") or _text(entry, f"{ATOM}content"))
        published = _date(_text(entry, f"{ATOM}published") or _text(entry, f"{ATOM}updated"))
        items.append(FeedItem(guid, title, link, summary, published))
    return items


def _statuspage(payload: bytes) -> list[FeedItem]:
    """Statuspage's API v2: incidents.json, scheduled-maintenances.json (upcoming/active too), components.json
    or summary.json, which has all three. Operational components give no item; any other status does, once per
    status change (the guid carries the status and its time)."""
    try:
        data: Any = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidFeed(f"Statuspage JSON is not valid JSON ({exc})") from None
    lists = (
        {key: data.get(key) for key in ("incidents", "scheduled_maintenances", "components")}
        if isinstance(data, dict)
        else {}
    )
    if not any(isinstance(v, list) for v in lists.values()):
        raise InvalidFeed("Statuspage JSON needs an 'incidents', 'scheduled_maintenances' or 'components' list")
    items: list[FeedItem] = []
    for key, kind in (("incidents", "incident"), ("scheduled_maintenances", "maintenance")):
        entries = lists.get(key)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise InvalidFeed(f"{key}: must be a list")
        items.extend(_statuspage_event(f"{key}[{i}]", inc, kind) for i, inc in enumerate(entries))
    components = lists.get("components")
    if components is not None:
        if not isinstance(components, list):
            raise InvalidFeed("components: must be a list")
        for i, comp in enumerate(components):
            if not isinstance(comp, dict) or not isinstance(comp.get("id"), str):
                raise InvalidFeed(f"components[{i}]: needs a string 'id'")
            status = str(comp.get("status") or "unknown")
            if status == "operational" or comp.get("group") is True:
                continue  # groups summarise their members, which are listed themselves
            name = plain(str(comp.get("name", "")))
            items.append(
                FeedItem(
                    guid=f"component:{comp['id']}:{status}:{comp.get('updated_at') or ''}",
                    title=f"{name}: {status.replace('_', ' ')}",
                    link=None,
                    summary=plain(f"Component {name} is {status.replace('_', ' ')}. {comp.get('description') or ''}"),
                    published=_date(comp.get("updated_at")),
                    kind="component",
                    status=status,
                )
            )
    return items


def _statuspage_event(where: str, inc: Any, kind: str) -> FeedItem:
    if not isinstance(inc, dict) or not isinstance(inc.get("id"), str):
        raise InvalidFeed(f"{where}: needs a string 'id'")
    updates = inc.get("incident_updates") or []
    latest = updates[0].get("body", "") if updates and isinstance(updates[0], dict) else ""
    status = str(inc.get("status", "unknown"))
    if kind == "maintenance":
        window = f"{inc.get('scheduled_for') or '?'} to {inc.get('scheduled_until') or '?'}"
        head = f"[scheduled maintenance, {status}, {window}]"
        published = _date(inc.get("scheduled_for")) or _date(inc.get("created_at"))
    else:
        head = f"[{inc.get('impact') or 'none'} impact, {status}]"
        published = _date(inc.get("created_at"))
    return FeedItem(
        guid=inc["id"] if kind == "incident" else f"maintenance:{inc['id']}",
        title=plain(str(inc.get("name", ""))),
        link=safe_link(inc.get("shortlink")),
        summary=plain(f"{head} {latest}"),
        published=published,
        kind=kind,
        status=status,
    )
