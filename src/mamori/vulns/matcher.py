"""The advisory index and the scan: components matched against OSV records, aliases merged."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from mamori.vulns import cvss, cvss4, osv
from mamori.vulns.components import Component
from mamori.vulns.intervals import PackageTable

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
        self._tables: dict[tuple[str, str], PackageTable] = {}
        self._severity: dict[int, Severity] = {}
        self._singles: dict[int, tuple[tuple[str, ...], Severity, tuple[str, ...]]] = {}
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

    def _table(self, key: tuple[str, str]) -> PackageTable:
        """The package's interval table, built on first use (so that building the index stays cheap)."""
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = PackageTable([aff for _, aff in self._by_package.get(key, [])])
        return table

    def severity(self, adv: osv.Advisory, aff: osv.Affected) -> Severity:
        found = self._severity.get(id(aff))
        if found is None:
            found = self._severity[id(aff)] = advisory_severity(adv, aff)
        return found

    def compile_all(self) -> None:
        """Prepare every package's checks now rather than on first use (for a long-lived index)."""
        for key, entries in self._by_package.items():
            self._table(key)
            for adv, aff in entries:
                self._single(adv, aff)

    def _single(self, adv: osv.Advisory, aff: osv.Affected) -> tuple[tuple[str, ...], Severity, tuple[str, ...]]:
        found = self._singles.get(id(aff))
        if found is None:
            aliases = tuple(sorted(set(adv.aliases) - {adv.id}))
            found = self._singles[id(aff)] = (aliases, self.severity(adv, aff), tuple(sorted(set(aff.fixed_versions))))
        return found

    def match(self, component: Component) -> list[Finding]:
        """One finding per alias group affecting this component occurrence."""
        key = (component.ecosystem, osv.normalize_name(component.ecosystem, component.name))
        entries = self._by_package.get(key)
        if not entries:
            return []
        found = self._table(key).hits(component.version)
        if not found:
            return []
        if len(found) == 1:
            adv, aff = entries[found[0]]
            aliases, sev, fixed = self._single(adv, aff)
            return [Finding(component, adv.id, aliases, sev, fixed, (adv,))]
        hits: dict[str, list[tuple[osv.Advisory, osv.Affected]]] = {}
        for i in found:
            adv, aff = entries[i]
            hits.setdefault(self._groups[adv.id], []).append((adv, aff))
        out = []
        for group in hits.values():
            if len(group) == 1:  # the common case: one record, nothing to merge
                adv, aff = group[0]
                aliases, sev, fixed = self._single(adv, aff)
                out.append(Finding(component, adv.id, aliases, sev, fixed, (adv,)))
            else:
                out.append(_merge(component, group, self.severity))
        return out

    def scan(self, components: Iterable[Component]) -> list[Finding]:
        return [f for c in components for f in self.match(c)]


def _preferred(ids: Iterable[str]) -> str:
    def rank(i: str) -> tuple[int, str]:
        for n, prefix in enumerate(_ID_PREFERENCE):
            if i.startswith(prefix):
                return (n, i)
        return (len(_ID_PREFERENCE), i)

    return min(ids, key=rank)


def _merge(
    component: Component,
    group: list[tuple[osv.Advisory, osv.Affected]],
    severity: Callable[[osv.Advisory, osv.Affected], Severity] = advisory_severity,
) -> Finding:
    ids = {adv.id for adv, _ in group}
    main = _preferred(ids)
    aliases = sorted((ids | {a for adv, _ in group for a in adv.aliases}) - {main})
    severities = [severity(adv, aff) for adv, aff in group]
    best = max(severities, key=lambda s: (severity_rank(s.label), s.score or 0))
    fixed = sorted({v for _, aff in group for v in aff.fixed_versions})
    advisories = tuple(sorted({adv.id: adv for adv, _ in group}.values(), key=lambda a: a.id))
    return Finding(component, main, tuple(aliases), best, tuple(fixed), advisories)
