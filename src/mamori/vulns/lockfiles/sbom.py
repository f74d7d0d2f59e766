"""SBOMs: CycloneDX JSON and SPDX JSON in (components by purl), CycloneDX JSON out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from mamori.vulns.components import Component, parse_purl
from mamori.vulns.lockfiles.base import LockfileError, expect_mapping, read_json


def _cdx_components(items: Any) -> Iterator[dict[str, Any]]:
    for item in items or []:
        if isinstance(item, dict):
            yield item
            yield from _cdx_components(item.get("components"))


def parse_cyclonedx(path: Path) -> list[Component]:
    data = expect_mapping(read_json(path), path, "the SBOM")
    if data.get("bomFormat") != "CycloneDX":
        raise LockfileError(f"{path}: not a CycloneDX JSON document (bomFormat is {data.get('bomFormat')!r})")
    out = []
    for item in _cdx_components(data.get("components")):
        parsed = parse_purl(str(item.get("purl") or ""))
        if parsed:
            dev = {"optional": True, "required": False}.get(str(item.get("scope", "")))
            out.append(Component(*parsed, source_file=str(path), dev=dev))
    return out


def parse_spdx(path: Path) -> list[Component]:
    data = expect_mapping(read_json(path), path, "the SBOM")
    if not str(data.get("spdxVersion", "")).startswith("SPDX-"):
        raise LockfileError(f"{path}: not an SPDX JSON document (no spdxVersion)")
    out = []
    for pkg in data.get("packages") or []:
        for ref in (pkg or {}).get("externalRefs") or []:
            if isinstance(ref, dict) and ref.get("referenceType") == "purl":
                parsed = parse_purl(str(ref.get("referenceLocator", "")))
                if parsed:
                    out.append(Component(*parsed, source_file=str(path)))
    return out


def to_cyclonedx(components: Iterable[Component], *, serial: str | None = None) -> dict[str, Any]:
    """A CycloneDX 1.5 JSON BOM with one entry per distinct purl; dev-only components get scope `optional`."""
    seen: dict[str, dict[str, Any]] = {}
    for c in components:
        entry = seen.setdefault(
            c.purl,
            {
                "type": "library",
                "bom-ref": c.purl,
                "name": c.name,
                "version": c.version,
                "purl": c.purl,
                "properties": [],
            },
        )
        if c.dev is not None and entry.get("scope") != "required":
            entry["scope"] = "optional" if c.dev else "required"
        prop = {"name": "mamori:source_file", "value": c.source_file}
        if prop not in entry["properties"]:
            entry["properties"].append(prop)
    bom: dict[str, Any] = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "version": 1,
        "components": list(seen.values()),
    }
    if serial:
        bom["serialNumber"] = serial
    return bom
