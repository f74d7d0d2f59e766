"""OSV records: parsing with clear errors, and the schema's exact affected-version evaluation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cmp_to_key, lru_cache
from typing import Any

from mamori.vulns import versions

RANGE_TYPES = ("SEMVER", "ECOSYSTEM", "GIT")
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


class InvalidRecord(ValueError):
    """An OSV record that cannot be used; the message names the record and the field."""


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    version: str


@dataclass(frozen=True, slots=True)
class Range:
    type: str
    events: tuple[Event, ...]
    repo: str | None = None


@dataclass(frozen=True, slots=True)
class Affected:
    ecosystem: str
    name: str
    purl: str | None
    versions: frozenset[str]
    ranges: tuple[Range, ...]
    severity: str | None = None  # ecosystem_specific / database_specific severity label, if any

    @property
    def fixed_versions(self) -> list[str]:
        return [e.version for r in self.ranges if r.type != "GIT" for e in r.events if e.kind == "fixed"]


@dataclass(frozen=True, slots=True)
class Advisory:
    id: str
    modified: datetime
    published: datetime | None
    withdrawn: datetime | None
    aliases: tuple[str, ...]
    summary: str
    details: str
    severity: tuple[tuple[str, str], ...]
    affected: tuple[Affected, ...]
    database_severity: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@lru_cache(maxsize=262144)
def normalize_name(ecosystem: str, name: str) -> str:
    """The name as the ecosystem compares it (PEP 503 for PyPI; case-insensitive where the registry is)."""
    eco = ecosystem.split(":", 1)[0]
    if eco == "PyPI":
        return re.sub(r"[-_.]+", "-", name).lower()
    if eco in ("NuGet", "Packagist"):
        return name.lower()
    return name


def _time(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRecord(f"{where}: expected an RFC 3339 timestamp, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidRecord(f"{where}: not an RFC 3339 timestamp: {value!r}") from exc
    if parsed.tzinfo is None:
        raise InvalidRecord(f"{where}: timestamp without a time zone: {value!r}")
    return parsed


def _events(raw: Any, where: str) -> tuple[Event, ...]:
    if not isinstance(raw, list) or not raw:
        raise InvalidRecord(f"{where}.events: must be a non-empty list")
    events = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or len(item) != 1:
            raise InvalidRecord(f"{where}.events[{i}]: must have exactly one of {', '.join(EVENT_KINDS)}")
        ((kind, version),) = item.items()
        if kind not in EVENT_KINDS or not isinstance(version, str) or not version:
            raise InvalidRecord(f"{where}.events[{i}]: unknown event {item!r}")
        events.append(Event(kind, version))
    return tuple(events)


def _range(raw: Any, where: str) -> Range:
    if not isinstance(raw, dict) or raw.get("type") not in RANGE_TYPES:
        raise InvalidRecord(f"{where}.type: must be one of {', '.join(RANGE_TYPES)}")
    if raw["type"] == "GIT" and not raw.get("repo"):
        raise InvalidRecord(f"{where}.repo: a GIT range needs the repository URL")
    events = _events(raw.get("events"), where)
    if raw["type"] != "GIT" and not any(e.kind == "introduced" for e in events):
        raise InvalidRecord(f"{where}.events: a range needs at least one 'introduced' event")
    return Range(raw["type"], events, raw.get("repo"))


def _label(raw: dict[str, Any]) -> str | None:
    for key in ("ecosystem_specific", "database_specific"):
        value = raw.get(key)
        if isinstance(value, dict) and isinstance(value.get("severity"), str):
            return str(value["severity"]).upper()
    return None


def _affected(raw: Any, where: str) -> Affected | None:
    if not isinstance(raw, dict):
        raise InvalidRecord(f"{where}: must be an object")
    package = raw.get("package")
    if package is None:
        return None  # e.g. GIT-only entries without a package: nothing an inventory can match
    if not isinstance(package, dict) or not package.get("ecosystem") or not package.get("name"):
        raise InvalidRecord(f"{where}.package: needs 'ecosystem' and 'name'")
    vers = raw.get("versions", [])
    if not isinstance(vers, list) or not all(isinstance(v, str) for v in vers):
        raise InvalidRecord(f"{where}.versions: must be a list of strings")
    ranges = raw.get("ranges", [])
    if not isinstance(ranges, list):
        raise InvalidRecord(f"{where}.ranges: must be a list")
    return Affected(
        ecosystem=str(package["ecosystem"]),
        name=str(package["name"]),
        purl=package.get("purl"),
        versions=frozenset(vers),
        ranges=tuple(_range(r, f"{where}.ranges[{i}]") for i, r in enumerate(ranges)),
        severity=_label(raw),
    )


def parse_record(data: Any, *, source: str = "<record>") -> Advisory:
    """An Advisory from one OSV JSON object; InvalidRecord names the source, the id and the field."""
    if not isinstance(data, dict):
        raise InvalidRecord(f"{source}: an OSV record must be a JSON object")
    rid = data.get("id")
    if not isinstance(rid, str) or not rid:
        raise InvalidRecord(f"{source}: missing 'id'")
    try:
        affected_raw = data.get("affected", [])
        if not isinstance(affected_raw, list):
            raise InvalidRecord("affected: must be a list")
        parsed = (_affected(item, f"affected[{i}]") for i, item in enumerate(affected_raw))
        affected = tuple(a for a in parsed if a is not None)
        severity = tuple(
            (str(s["type"]), str(s["score"]))
            for s in data.get("severity", [])
            if isinstance(s, dict) and "type" in s and "score" in s
        )
        aliases = data.get("aliases") or []
        if not isinstance(aliases, list):
            raise InvalidRecord("aliases: must be a list")
        return Advisory(
            id=rid,
            modified=_time(data.get("modified"), "modified"),
            published=_time(data["published"], "published") if data.get("published") else None,
            withdrawn=_time(data["withdrawn"], "withdrawn") if data.get("withdrawn") else None,
            aliases=tuple(str(a) for a in aliases),
            summary=str(data.get("summary") or ""),
            details=str(data.get("details") or ""),
            severity=severity,
            affected=affected,
            database_severity=_label(data),
            raw=data,
        )
    except InvalidRecord as exc:
        raise InvalidRecord(f"{source}: {rid}: {exc}") from None


def _event_order(cmp: versions.Compare) -> Callable[[Event, Event], int]:
    def order(a: Event, b: Event) -> int:
        if a.version == "0" and a.kind == "introduced":
            return 0 if (b.version == "0" and b.kind == "introduced") else -1
        if b.version == "0" and b.kind == "introduced":
            return 1
        c = cmp(a.version, b.version)
        if c:
            return c
        # on a tie, the introduced event opens the range before another event closes it
        return (a.kind != "introduced") - (b.kind != "introduced")

    return order


def range_affects(rng: Range, version: str, cmp: versions.Compare) -> bool:
    """Whether `version` lies in a SEMVER or ECOSYSTEM range, per the OSV schema's evaluation."""
    limits = [e.version for e in rng.events if e.kind == "limit"]
    if limits and "*" not in limits and all(cmp(version, lim) >= 0 for lim in limits):
        return False
    affected = False
    for event in sorted(rng.events, key=cmp_to_key(_event_order(cmp))):
        if event.kind == "introduced":
            if event.version == "0" or cmp(version, event.version) >= 0:
                affected = True
        elif event.kind == "fixed":
            if cmp(version, event.version) >= 0:
                affected = False
        elif event.kind == "last_affected" and cmp(version, event.version) > 0:
            affected = False
    return affected


def affects(affected: Affected, version: str) -> bool:
    """Whether the package version is affected: listed in versions[], or inside a SEMVER/ECOSYSTEM range."""
    if version in affected.versions:
        return True
    eco_cmp = versions.comparator(affected.ecosystem)
    for rng in affected.ranges:
        if rng.type == "SEMVER":
            if range_affects(rng, version, versions.COMPARATORS["npm"]):
                return True
        elif rng.type == "ECOSYSTEM" and eco_cmp is not None and range_affects(rng, version, eco_cmp):
            return True
    return False


KeyCheck = Callable[[Any], bool]


def range_on_keys(rng: Range, cmp: versions.Compare, key: Callable[[str], Any]) -> tuple[KeyCheck, list[Any]]:
    """`range_affects` for one range, as a test on version keys, plus the keys of its events (its breakpoints).

    The test only compares the key it is given with the breakpoints (<, >), so it also answers for any
    stand-in that orders like a whole interval between two breakpoints: what the interval index relies on.
    """
    events = sorted(rng.events, key=cmp_to_key(_event_order(cmp)))
    limit_versions = [e.version for e in events if e.kind == "limit"]
    limits = [] if "*" in limit_versions else [key(v) for v in limit_versions]
    steps = [
        (e.kind, None if e.kind == "introduced" and e.version == "0" else key(e.version))
        for e in events
        if e.kind != "limit"
    ]

    def check(vk: Any) -> bool:
        if limits and all(not (vk < lk) for lk in limits):
            return False
        affected = False
        for kind, ek in steps:
            if kind == "introduced":
                if ek is None or not (vk < ek):
                    affected = True
            elif kind == "fixed":
                if not (vk < ek):
                    affected = False
            elif kind == "last_affected" and vk > ek:
                affected = False
        return affected

    return check, [*limits, *(ek for _, ek in steps if ek is not None)]


def range_comparator(affected: Affected, rng: Range) -> versions.Compare | None:
    """The ordering a range is evaluated in: SEMVER always by SemVer, ECOSYSTEM by the ecosystem's; GIT none."""
    if rng.type == "SEMVER":
        return versions.COMPARATORS["npm"]
    if rng.type == "ECOSYSTEM":
        return versions.comparator(affected.ecosystem)
    return None
