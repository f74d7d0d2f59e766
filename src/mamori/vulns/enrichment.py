"""EPSS (CSV) and CISA KEV (JSON) readers: pure parsing with clear errors."""

from __future__ import annotations

import csv
import gzip
import io
import json
from dataclasses import dataclass
from typing import Any


class InvalidEnrichment(ValueError):
    """An EPSS or KEV file that cannot be read; the message says where."""


@dataclass(frozen=True, slots=True)
class EpssScore:
    cve: str
    epss: float
    percentile: float


@dataclass(frozen=True, slots=True)
class KevEntry:
    cve: str
    vendor: str
    product: str
    name: str
    description: str
    date_added: str
    ransomware: str


def _text(payload: bytes) -> str:
    if payload[:2] == b"\x1f\x8b":
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError) as exc:
            raise InvalidEnrichment(f"not a valid gzip file ({exc})") from None
    try:
        return payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidEnrichment(f"not UTF-8 text ({exc})") from None


def parse_epss_csv(payload: bytes) -> list[EpssScore]:
    """FIRST's EPSS CSV (optionally gzipped): a `#model_version...` comment line, then cve,epss,percentile."""
    lines = [line for line in _text(payload).splitlines() if line.strip() and not line.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)))
    if reader.fieldnames is None or not {"cve", "epss", "percentile"} <= set(reader.fieldnames):
        raise InvalidEnrichment(f"EPSS CSV needs the columns cve, epss, percentile; got {reader.fieldnames}")
    scores = []
    for lineno, row in enumerate(reader, start=2):
        try:
            epss, pct = float(row["epss"]), float(row["percentile"])
        except (TypeError, ValueError):
            raise InvalidEnrichment(f"EPSS CSV row {lineno}: epss and percentile must be numbers") from None
        if not (0 <= epss <= 1 and 0 <= pct <= 1):
            raise InvalidEnrichment(f"EPSS CSV row {lineno}: epss and percentile must lie in [0, 1]")
        scores.append(EpssScore(row["cve"].strip().upper(), epss, pct))
    return scores


def _field(item: dict[str, Any], name: str) -> str:
    value = item.get(name, "")
    return value if isinstance(value, str) else str(value)


def parse_kev_json(payload: bytes) -> list[KevEntry]:
    """CISA's known_exploited_vulnerabilities.json: {"vulnerabilities": [{"cveID", "vendorProject", ...}]}."""
    try:
        data = json.loads(_text(payload))
    except json.JSONDecodeError as exc:
        raise InvalidEnrichment(f"KEV catalog is not valid JSON ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("vulnerabilities"), list):
        raise InvalidEnrichment("KEV catalog needs a 'vulnerabilities' list")
    entries = []
    for i, item in enumerate(data["vulnerabilities"]):
        if not isinstance(item, dict) or not isinstance(item.get("cveID"), str):
            raise InvalidEnrichment(f"KEV vulnerabilities[{i}]: needs a string 'cveID'")
        entries.append(
            KevEntry(
                cve=item["cveID"].strip().upper(),
                vendor=_field(item, "vendorProject"),
                product=_field(item, "product"),
                name=_field(item, "vulnerabilityName"),
                description=_field(item, "shortDescription"),
                date_added=_field(item, "dateAdded"),
                ransomware=_field(item, "knownRansomwareCampaignUse"),
            )
        )
    return entries
