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


def plain(text: str | None) -> str:
    """Markup removed, entities decoded, whitespace collapsed: what a person reads."""
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", text or ""))).strip()


def safe_link(value: Any) -> str | None:
    """Only http(s) links are kept: a hostile feed must not smuggle `javascript:` URLs into the dashboard."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if value.lower().startswith(("https://", "http://")) else None


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
    """Statuspage's /api/v2/incidents.json (or summary.json): incidents with their latest update."""
    try:
        data: Any = json.loads(payload)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidFeed(f"Statuspage JSON is not valid JSON ({exc})") from None
    incidents = data.get("incidents") if isinstance(data, dict) else None
    if not isinstance(incidents, list):
        raise InvalidFeed("Statuspage JSON needs an 'incidents' list")
    items = []
    for i, inc in enumerate(incidents):
        if not isinstance(inc, dict) or not isinstance(inc.get("id"), str):
            raise InvalidFeed(f"incidents[{i}]: needs a string 'id'")
        updates = inc.get("incident_updates") or []
        latest = updates[0].get("body", "") if updates and isinstance(updates[0], dict) else ""
        impact = inc.get("impact") or "none"
        items.append(
            FeedItem(
                guid=inc["id"],
                title=plain(str(inc.get("name", ""))),
                link=safe_link(inc.get("shortlink")),
                summary=plain(f"[{impact} impact, {inc.get('status', 'unknown')}] {latest}"),
                published=_date(inc.get("created_at")),
            )
        )
    return items
