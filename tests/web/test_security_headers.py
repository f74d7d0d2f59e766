"""Every page answers with a Content-Security-Policy that allows no inline script, and no template needs one."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

import mamori
from mamori.web.security import CSP


def test_pages_api_and_errors_carry_the_security_headers(client: TestClient) -> None:
    for path in ("/login", "/healthz", "/api/v1/services", "/no-such-page"):
        response = client.get(path, headers={"accept": "text/html"}, follow_redirects=False)
        assert response.headers["content-security-policy"] == CSP, path
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert "script-src 'self'" in CSP and "unsafe-inline" not in CSP.split("script-src", 1)[1].split(";", 1)[0]
    assert "frame-ancestors 'none'" in CSP


def test_no_template_has_inline_script_the_policy_would_block() -> None:
    root = Path(mamori.__file__).resolve().parent
    offenders = []
    for template in root.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        if re.search(r"\son[a-z]+\s*=", text) or re.search(r"<script(?![^>]*\bsrc=)", text) or "javascript:" in text:
            offenders.append(str(template.relative_to(root)))
    assert offenders == []
