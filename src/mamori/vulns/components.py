"""Inventory components: one package occurrence found in a lockfile, manifest or SBOM."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote

PURL_TYPES = {
    "PyPI": "pypi",
    "npm": "npm",
    "RubyGems": "gem",
    "Go": "golang",
    "Maven": "maven",
    "crates.io": "cargo",
    "Packagist": "composer",
    "NuGet": "nuget",
}
ECOSYSTEMS_BY_PURL_TYPE = {v: k for k, v in PURL_TYPES.items()}


@dataclass(frozen=True, slots=True)
class Component:
    ecosystem: str
    name: str
    version: str
    source_file: str
    direct: bool | None = None  # None: the file does not say
    dev: bool | None = None

    @property
    def purl(self) -> str:
        return purl_for(self.ecosystem, self.name, self.version)

    @property
    def scope(self) -> str:
        return "unknown" if self.dev is None else ("dev" if self.dev else "prod")


def purl_for(ecosystem: str, name: str, version: str) -> str:
    """A package URL (purl spec): namespaces split off for npm scopes, Maven groups, Go modules, Composer vendors."""
    ptype = PURL_TYPES.get(ecosystem, ecosystem.lower())
    namespace, short = "", name
    if ptype == "maven" and ":" in name:
        namespace, short = name.split(":", 1)
    elif ptype in ("npm", "golang", "composer") and "/" in name:
        namespace, short = name.rsplit("/", 1)
    elif ptype == "pypi":
        short = name.lower().replace("_", "-")
    ns = "/".join(quote(p, safe="") for p in namespace.split("/")) + "/" if namespace else ""
    at = f"@{quote(version, safe='+')}" if version else ""  # git/file dependencies carry no version
    return f"pkg:{ptype}/{ns}{quote(short, safe='')}{at}"


def parse_purl(purl: str) -> tuple[str, str, str] | None:
    """(ecosystem, name, version) from a purl of a supported type, else None."""
    if not purl.startswith("pkg:"):
        return None
    body = purl[4:].split("#", 1)[0].split("?", 1)[0]
    ptype, _, rest = body.partition("/")
    eco = ECOSYSTEMS_BY_PURL_TYPE.get(ptype.lower())
    if eco is None or "@" not in rest:
        return None
    path, _, version = rest.rpartition("@")
    parts = [unquote(p) for p in path.split("/")]
    name = ":".join(parts) if eco == "Maven" else "/".join(parts)
    return eco, name, unquote(version)
