"""The identity of a finding: a versioned key built from stable fields only (never severity, time or text).

- cloud and detection findings: account x region x resource x control (the check or finding type);
- package findings (dependency and image/instance vulnerabilities): ecosystem x package x advisory x location,
  where the advisory is canonical across tools (a CVE when any id is one, else a GHSA, else the tool's id).

The installed version is tracked on the finding, not put in its key: Dependabot alerts do not name it, and
an upgrade that still matches the advisory is the same unfixed problem. Keys carry a version prefix so a
later algorithm can keep matching the old keys (`KEY_VERSION`).
"""

from __future__ import annotations

import hashlib
import re

from mamori.findings.records import Observation

KEY_VERSION = "f1"
_ECOSYSTEMS = {
    "pip": "pypi",
    "pypi": "pypi",
    "poetry": "pypi",
    "python": "pypi",
    "gem": "rubygems",
    "rubygems": "rubygems",
    "bundler": "rubygems",
    "golang": "go",
    "gomod": "go",
    "go": "go",
    "composer": "packagist",
    "packagist": "packagist",
    "cargo": "crates.io",
    "crates.io": "crates.io",
    "rust": "crates.io",
    "maven": "maven",
    "gradle": "maven",
    "jar": "maven",
    "nuget": "nuget",
    "npm": "npm",
    "yarn": "npm",
    "pnpm": "npm",
    "node": "npm",
    "nodejs": "npm",
    "pub": "pub",
    "pipenv": "pypi",
    "pythonpkg": "pypi",
    "nodepkg": "npm",
    "gobinary": "go",
    "pom": "maven",
    "gemspec": "rubygems",
    "dotnet_core": "nuget",
}


def ecosystem(name: str) -> str:
    """One spelling per ecosystem whatever the tool says (pip, PyPI, poetry -> pypi)."""
    word = name.strip().lower()
    return _ECOSYSTEMS.get(word, word)


def package_name(eco: str, name: str) -> str:
    """PyPI names compare case- and separator-insensitively (PEP 503); npm and Go are case-sensitive."""
    if eco == "pypi":
        return re.sub(r"[-_.]+", "-", name).lower()
    if eco in {"maven", "nuget", "rubygems", "packagist"}:
        return name.lower()
    return name


def canonical_advisory(ids: list[str] | tuple[str, ...]) -> str:
    """The advisory every tool can agree on: the lowest CVE id, else the lowest GHSA id, else the first id."""
    clean = [i.strip() for i in ids if i and i.strip()]
    for prefix in ("CVE-", "GHSA-"):
        found = sorted({i.upper() if prefix == "CVE-" else i for i in clean if i.upper().startswith(prefix)})
        if found:
            return found[0]
    return clean[0] if clean else ""


def key_for(obs: Observation) -> str:
    """The finding key of an observation (see the module docstring)."""
    if obs.kind in {"dependency", "vulnerability"}:
        eco = ecosystem(obs.ecosystem)
        parts = ["pkg", eco, package_name(eco, obs.package), obs.advisory, obs.location]
    else:
        parts = ["cloud", obs.account, obs.region, obs.resource, obs.control]
    return KEY_VERSION + ":" + "|".join(parts)


def key_digest(key: str) -> str:
    """A fixed-length digest of a key, for unique indexes (keys may be long ARNs)."""
    return hashlib.sha256(key.encode()).hexdigest()
