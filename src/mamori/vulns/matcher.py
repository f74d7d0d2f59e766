"""The advisory index and the scan: components matched against OSV records, aliases merged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from mamori.vulns import cvss, cvss4, osv
from mamori.vulns.components import Component

_SEVERITY_RANK = {"UNKNOWN": 0, "NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
_LABELS = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH"}
# which id names an alias group: reviewed ecosystem databases first, then CVE
_ID_PREFERENCE = ("GHSA-", "PYSEC-", "RUSTSEC-", "GO-", "RUBYSEC", "CVE-")


def severity_rank(label: str) -> int:
    return _SEVERITY_RANK.get(label.upper(), 0)


@dataclass(frozen=True, slots=True)
class Severity:
    label: str
    score: float | None


def advisory_severity(advisory: osv.Advisory, affected: osv.Affected | None = None) -> Severity:
    """The highest CVSS base score we can compute, else the database's label, else UNKNOWN."""
    scores = []
    for kind, vector in advisory.severity:
        try:
            if kind.startswith("CVSS_V3"):
                scores.append(cvss.base_score(vector))
            elif kind == "CVSS_V4":
                scores.append(cvss4.score(vector))
        except cvss.InvalidVector:
            continue
    if scores:
        best = max(scores)
        return Severity(cvss.rating(best), best)
    label = (affected.severity if affected else None) or advisory.database_severity
    if label:
        label = _LABELS.get(label, label)
        if label in _SEVERITY_RANK:
            return Severity(label, None)
    return Severity("UNKNOWN", None)


@dataclass(frozen=True, slots=True)
class Finding:
    component: Component
    advisory_id: str
    aliases: tuple[str, ...]
    severity: Severity
    fixed_versions: tuple[str, ...]
    advisories: tuple[osv.Advisory, ...]


class AdvisoryIndex:
    """OSV records keyed by (ecosystem, normalised package name); withdrawn records are left out."""

    def __init__(self, advisories: Iterable[osv.Advisory]) -> None:
        self._by_package: dict[tuple[str, str], list[tuple[osv.Advisory, osv.Affected]]] = defaultdict(list)
        self._groups: dict[str, str] = {}
        self.advisories: dict[str, osv.Advisory] = {}
        for adv in advisories:
            if adv.withdrawn is not None:
                continue
            self.advisories[adv.id] = adv
            for aff in adv.affected:
                eco = aff.ecosystem.split(":", 1)[0]
                self._by_package[(eco, osv.normalize_name(eco, aff.name))].append((adv, aff))
        self._build_alias_groups()

    def _build_alias_groups(self) -> None:
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            parent.setdefault(x, x)
            while parent[x] != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        for adv in self.advisories.values():
            for alias in adv.aliases:
                parent[find(alias)] = find(adv.id)
        for adv in self.advisories.values():
            self._groups[adv.id] = find(adv.id)

    def __len__(self) -> int:
        return len(self.advisories)

    def candidates(self, ecosystem: str, name: str) -> list[tuple[osv.Advisory, osv.Affected]]:
        return self._by_package.get((ecosystem, osv.normalize_name(ecosystem, name)), [])

    def match(self, component: Component) -> list[Finding]:
        """One finding per alias group affecting this component occurrence."""
        hits: dict[str, list[tuple[osv.Advisory, osv.Affected]]] = defaultdict(list)
        for adv, aff in self.candidates(component.ecosystem, component.name):
            if osv.affects(aff, component.version):
                hits[self._groups[adv.id]].append((adv, aff))
        return [_merge(component, group) for group in hits.values()]

    def scan(self, components: Iterable[Component]) -> list[Finding]:
        return [f for c in components for f in self.match(c)]


def _preferred(ids: Iterable[str]) -> str:
    def rank(i: str) -> tuple[int, str]:
        for n, prefix in enumerate(_ID_PREFERENCE):
            if i.startswith(prefix):
                return (n, i)
        return (len(_ID_PREFERENCE), i)

    return min(ids, key=rank)


def _merge(component: Component, group: list[tuple[osv.Advisory, osv.Affected]]) -> Finding:
    ids = {adv.id for adv, _ in group}
    main = _preferred(ids)
    aliases = sorted((ids | {a for adv, _ in group for a in adv.aliases}) - {main})
    severities = [advisory_severity(adv, aff) for adv, aff in group]
    best = max(severities, key=lambda s: (severity_rank(s.label), s.score or 0))
    fixed = sorted({v for _, aff in group for v in aff.fixed_versions})
    advisories = tuple(sorted({adv.id: adv for adv, _ in group}.values(), key=lambda a: a.id))
    return Finding(component, main, tuple(aliases), best, tuple(fixed), advisories)
