"""The advisory index and the scan: components matched against OSV records, aliases merged."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from mamori.vulns import cvss, cvss4, osv
from mamori.vulns.bulk import collector_paused
from mamori.vulns.components import Component
from mamori.vulns.intervals import PackageTable

_SEVERITY_RANK = {"UNKNOWN": 0, "NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3, "CRITICAL": 4}
_LABELS = {"MODERATE": "MEDIUM", "IMPORTANT": "HIGH"}
# which id names an alias group: reviewed ecosystem databases first, then CVE
_ID_PREFERENCE = ("GHSA-", "PYSEC-", "RUSTSEC-", "GO-", "RUBYSEC", "CVE-")


def severity_rank(label: str) -> int:
    return _SEVERITY_RANK.get(label.upper(), 0)


@lru_cache(maxsize=4096)
def _vector_score(kind: str, vector: str) -> float | None:
    """A vector's base score (None: not a CVSS kind we score, or invalid); few distinct vectors recur a lot."""
    try:
        if kind.startswith("CVSS_V3"):
            return cvss.base_score(vector)
        if kind == "CVSS_V4":
            return cvss4.score(vector)
    except cvss.InvalidVector:
        return None
    return None


@dataclass(frozen=True, slots=True)
class Severity:
    label: str
    score: float | None


def advisory_severity(advisory: osv.Advisory, affected: osv.Affected | None = None) -> Severity:
    """The highest CVSS base score we can compute, else the database's label, else UNKNOWN."""
    scores = [s for kind, vector in advisory.severity if (s := _vector_score(kind, vector)) is not None]
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
class Match:
    """What one alias group says about a version slot; shared by every component occurrence in that slot."""

    advisory_id: str
    aliases: tuple[str, ...]
    severity: Severity
    fixed_versions: tuple[str, ...]
    advisories: tuple[osv.Advisory, ...]


@dataclass(slots=True)
class Finding:
    """One (component occurrence, alias group): two references, built only for a hit."""

    component: Component
    match: Match

    @property
    def advisory_id(self) -> str:
        return self.match.advisory_id

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.match.aliases

    @property
    def severity(self) -> Severity:
        return self.match.severity

    @property
    def fixed_versions(self) -> tuple[str, ...]:
        return self.match.fixed_versions

    @property
    def advisories(self) -> tuple[osv.Advisory, ...]:
        return self.match.advisories


_Entry = tuple[osv.Advisory, osv.Affected]


class _Package:
    """One (ecosystem, normalised name): its interval table and, per slot, the merged matches (built on first use)."""

    __slots__ = ("answers", "entries", "index", "key", "listed", "points", "slots", "table")

    def __init__(self, index: AdvisoryIndex, entries: list[_Entry]) -> None:
        self.index = index
        self.entries = entries
        self.table = PackageTable([aff for _, aff in entries])
        # the common cases (at most one ordering, explicit versions[] or not): key, bisect, slot (+ listed
        # entries of that exact version); a package whose ranges use two orderings goes by its set of hits
        tables = self.table.tables
        one = tables[0] if len(tables) == 1 else None
        self.key = one.key if one is not None else None
        self.points: list[Any] = one.points if one is not None else []
        self.slots: list[tuple[int, ...]] = one.slots if one is not None else [()]
        self.listed = self.table.listed
        if len(tables) > 1:
            self.slots = []  # marks the general case
        self.answers: dict[Any, tuple[Match, ...]] = {}

    def prepare(self) -> None:
        """Compute every slot's answer now (records sharing a set of hits share the answer)."""
        if not self.slots:
            return
        by_hits: dict[tuple[int, ...], tuple[Match, ...]] = {}
        for slot, hits in enumerate(self.slots):
            if not hits:
                continue  # answered () on first use; not stored ahead for the many unaffected slots
            found = by_hits.get(hits)
            if found is None:
                found = by_hits[hits] = self.index._answer(self.entries, hits)
            self.answers[slot] = found
        for version in self.listed:
            self.matches(version)

    def matches(self, version: str) -> tuple[Match, ...]:
        slots = self.slots
        if not slots:
            hits = self.table.hits(version)
            found = self.answers.get(hits)
            if found is None:
                found = self.answers[hits] = self.index._answer(self.entries, hits)
            return found
        key = self.key
        slot = 0
        if key is not None:
            k = key(version)
            points = self.points
            i = bisect_left(points, k)
            # keys are equal exactly when the ordering says the versions are (tuples, or comparing objects)
            slot = 2 * i + 1 if i < len(points) and k == points[i] else 2 * i
        extra = self.listed.get(version) if self.listed else None
        if extra is None:
            found = self.answers.get(slot)
            if found is None:
                found = self.answers[slot] = self.index._answer(self.entries, slots[slot])
            return found
        found = self.answers.get((slot, version))
        if found is None:
            hits = tuple(sorted({*slots[slot], *extra}))
            found = self.answers[(slot, version)] = self.index._answer(self.entries, hits)
        return found


_UNKNOWN = object()


class AdvisoryIndex:
    """OSV records keyed by (ecosystem, normalised package name); withdrawn records are left out."""

    def __init__(self, advisories: Iterable[osv.Advisory]) -> None:
        self._by_package: dict[tuple[str, str], list[_Entry]] = defaultdict(list)
        self._packages: dict[tuple[str, str], _Package] = {}
        # (ecosystem, name as written in the lockfile) -> its package, or None: names are normalised once
        self._resolved: dict[tuple[str, str], _Package | None] = {}
        self._severity: dict[int, Severity] = {}
        self._singles: dict[int, Match] = {}  # by id() of an Affected the index holds (it outlives the dict)
        self._groups: dict[str, str] = {}
        self.advisories: dict[str, osv.Advisory] = {}
        with collector_paused():
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

    def candidates(self, ecosystem: str, name: str) -> list[_Entry]:
        return self._by_package.get((ecosystem, osv.normalize_name(ecosystem, name)), [])

    def _package(self, key: tuple[str, str]) -> _Package | None:
        pkg = self._packages.get(key)
        if pkg is None:
            entries = self._by_package.get(key)
            if not entries:
                return None
            pkg = self._packages[key] = _Package(self, entries)
        return pkg

    def _resolve(self, ecosystem: str, name: str) -> _Package | None:
        pkg = self._resolved.get((ecosystem, name), _UNKNOWN)
        if pkg is _UNKNOWN:
            pkg = self._resolved[(ecosystem, name)] = self._package((ecosystem, osv.normalize_name(ecosystem, name)))
        return pkg  # type: ignore[return-value]

    def severity(self, adv: osv.Advisory, aff: osv.Affected) -> Severity:
        found = self._severity.get(id(aff))
        if found is None:
            found = self._severity[id(aff)] = advisory_severity(adv, aff)
        return found

    def compile_all(self) -> None:
        """Build every package's interval table and every slot's merged matches now rather than on first use
        (for a long-lived index): a scan then only computes the keys of versions it has not seen."""
        with collector_paused():
            for key in self._by_package:
                pkg = self._package(key)
                if pkg is not None:
                    pkg.prepare()

    def _answer(self, entries: list[_Entry], hits: tuple[int, ...]) -> tuple[Match, ...]:
        """The matches for one set of affected entries: one per alias group, records of a group merged."""
        if not hits:
            return ()
        groups: dict[str, list[_Entry]] = {}
        for i in hits:
            adv, aff = entries[i]
            groups.setdefault(self._groups[adv.id], []).append((adv, aff))
        return tuple(self._single(g[0]) if len(g) == 1 else _merge(g, self.severity) for g in groups.values())

    def _single(self, entry: _Entry) -> Match:
        """One record's match, the same in every slot it affects: built once per affected entry."""
        found = self._singles.get(id(entry[1]))
        if found is None:
            found = self._singles[id(entry[1])] = _merge([entry], self.severity)
        return found

    def match(self, component: Component) -> list[Finding]:
        """One finding per alias group affecting this component occurrence."""
        pkg = self._resolve(component.ecosystem, component.name)
        if pkg is None:
            return []
        return [Finding(component, m) for m in pkg.matches(component.version)]

    def scan(self, components: Iterable[Component]) -> list[Finding]:
        out: list[Finding] = []
        append = out.append
        resolved = self._resolved
        unknown = _UNKNOWN
        for c in components:
            pkg = resolved.get((c.ecosystem, c.name), unknown)
            if pkg is unknown:
                pkg = self._resolve(c.ecosystem, c.name)
            if pkg is not None:
                for m in pkg.matches(c.version):  # type: ignore[attr-defined]
                    append(Finding(c, m))
        return out


def _preferred(ids: Iterable[str]) -> str:
    def rank(i: str) -> tuple[int, str]:
        for n, prefix in enumerate(_ID_PREFERENCE):
            if i.startswith(prefix):
                return (n, i)
        return (len(_ID_PREFERENCE), i)

    return min(ids, key=rank)


def _merge(
    group: list[_Entry],
    severity: Callable[[osv.Advisory, osv.Affected], Severity] = advisory_severity,
) -> Match:
    if len(group) == 1:  # the common case: one record, nothing to merge
        adv, aff = group[0]
        others = tuple(sorted(set(adv.aliases) - {adv.id}))
        return Match(adv.id, others, severity(adv, aff), tuple(sorted(set(aff.fixed_versions))), (adv,))
    ids = {adv.id for adv, _ in group}
    main = _preferred(ids)
    aliases = sorted((ids | {a for adv, _ in group for a in adv.aliases}) - {main})
    severities = [severity(adv, aff) for adv, aff in group]
    best = max(severities, key=lambda s: (severity_rank(s.label), s.score or 0))
    fixed = sorted({v for _, aff in group for v in aff.fixed_versions})
    advisories = tuple(sorted({adv.id: adv for adv, _ in group}.values(), key=lambda a: a.id))
    return Match(main, tuple(aliases), best, tuple(fixed), advisories)
