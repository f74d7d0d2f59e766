"""Postmortem Markdown as HTML: what people write is shown, never run (raw HTML escaped, links http/https)."""

from __future__ import annotations

from mamori.web import markdown


def test_markdown_renders_headings_lists_tables_and_safe_links() -> None:
    html = markdown.to_html(
        "## Timeline\n\n- 10:02 alert\n- 10:05 ack\n\n| step | who |\n|---|---|\n| rollback | ada |\n\n"
        "[runbook](https://runbooks.example.com/x) and [incident](/incidents/7) and [top](#timeline)\n"
    )
    assert "<h2>Timeline</h2>" in html and "<li>10:05 ack</li>" in html and "<td>rollback</td>" in html
    assert '<a href="https://runbooks.example.com/x">runbook</a>' in html
    assert '<a href="/incidents/7">incident</a>' in html and '<a href="#timeline">top</a>' in html


def test_raw_html_is_text_and_other_schemes_are_no_links() -> None:
    html = markdown.to_html(
        '<script>alert(1)</script> <img src=x onerror="alert(1)">\n\n'
        "[a](javascript:alert(1)) [b](data:text/html,hi) [c](//evil.example/x) [d](vbscript:x) ![e](file:///etc/passwd)"
    )
    assert "<script" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert "<a " not in html  # not one of them became a link (nor, with the <img> check above, an image)


def test_a_huge_text_is_not_previewed() -> None:
    html = markdown.to_html("x" * (markdown.MAX_CHARS + 1))
    assert "Too long to preview" in html and "xxxx" not in html
