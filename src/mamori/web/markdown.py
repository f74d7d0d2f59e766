"""Markdown written by people (postmortems) shown as HTML: CommonMark, raw HTML escaped, links http/https only."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup

from mamori.core import urls

MAX_CHARS = 200_000
"""A postmortem longer than this is not previewed (the editor still saves it)."""


def _link_allowed(url: str) -> bool:
    """A link or image in the text: a page of Mamori itself (a path or an anchor), or an http/https URL."""
    return url.startswith("#") or urls.safe_href(url) is not None


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    md.validateLink = _link_allowed  # type: ignore[method-assign]
    return md


_MD = _parser()


def to_html(text: str) -> Markup:
    """The text rendered; raw HTML in it is shown as text, and a link to anything but http/https stays text."""
    if len(text) > MAX_CHARS:
        return Markup('<p class="muted">{}</p>').format(
            f"Too long to preview ({len(text):,} characters; the preview stops at {MAX_CHARS:,})."
        )
    return Markup(_MD.render(text))  # noqa: S704 - html=False escapes the text; links pass _link_allowed
