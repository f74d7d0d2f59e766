"""OpenVEX 0.2.0 for the queue's package findings: each decision on a dependency or image vulnerability as a
statement about the product (a purl, or the image/instance ARN). Pure: rows and time come in."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import quote

from mamori.core import triage

CONTEXT = triage.OPENVEX_CONTEXT
PURL_TYPES = {
    "pypi": "pypi",
    "npm": "npm",
    "maven": "maven",
    "go": "golang",
    "rubygems": "gem",
    "crates.io": "cargo",
    "nuget": "nuget",
    "packagist": "composer",
}


class PackageFinding(Protocol):
    id: str
    kind: str
    advisory: str
    ecosystem: str
    package: str
    version: str
    location: str
    state: str
    justification: str | None
    accepted_until: datetime | None
    state_changed_at: datetime


def purl(f: PackageFinding) -> str | None:
    """The package as a purl (`pkg:npm/semver@7.5.1`), None when its ecosystem has no purl type here."""
    kind = PURL_TYPES.get(f.ecosystem)
    if kind is None or not f.package:
        return None
    name = f.package
    if kind == "maven" and ":" in name:
        group, artifact = name.split(":", 1)
        name = f"{quote(group, safe='.-_')}/{quote(artifact, safe='.-_')}"
    else:
        name = quote(name, safe="/.-_@")
    version = f.version.split(",")[0].strip()
    return f"pkg:{kind}/{name}" + (f"@{quote(version, safe='.-_+~')}" if version else "")


def product(f: PackageFinding) -> dict[str, Any]:
    """A dependency's product is its purl; an image or instance vulnerability's product is the resource,
    with the package as its subcomponent."""
    package = purl(f)
    if f.kind == "dependency" and package:
        return {"@id": package}
    out: dict[str, Any] = {"@id": f.location}
    if package:
        out["subcomponents"] = [{"@id": package}]
    return out


def statement(f: PackageFinding) -> dict[str, Any]:
    out: dict[str, Any] = {
        "vulnerability": {"name": f.advisory},
        "products": [product(f)],
        "timestamp": f.state_changed_at.isoformat(),
        "status": triage.vex_status(f.state),
    }
    if f.state == "not_affected":
        out["justification"] = f.justification or "vulnerable_code_not_in_execute_path"
    elif f.state == triage.FALSE_POSITIVE:
        out["impact_statement"] = "The scanner's match is a false positive (triaged in Mamori)."
    elif f.state == "affected":
        out["action_statement"] = "Upgrade to a fixed version."
    elif f.state == "risk_accepted":
        until = f.accepted_until.date().isoformat() if f.accepted_until else "further notice"
        out["action_statement"] = f"Risk accepted until {until}."
    return out


def document(findings: Iterable[PackageFinding], *, author: str, now: datetime) -> dict[str, Any]:
    statements = [statement(f) for f in findings if f.kind in {"dependency", "vulnerability"} and f.advisory]
    digest = hashlib.sha256(
        repr(sorted((s["vulnerability"]["name"], s["products"][0]["@id"], s["status"]) for s in statements)).encode()
    ).hexdigest()
    return {
        "@context": CONTEXT,
        "@id": f"https://mamori.dev/vex/findings/{digest[:32]}",
        "author": author,
        "timestamp": now.isoformat(),
        "version": 1,
        "statements": statements,
    }
