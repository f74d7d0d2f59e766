"""Where a service stands in the Service Reliability Hierarchy (Google's SRE book, part III), from what Mamori knows.

The hierarchy, from the bottom: monitoring, incident response, postmortem and root-cause analysis, testing and
release procedures, capacity planning, development, product. Each domain contributes signals through its plugin
(`Plugin.reliability`: session, service names, now -> service -> `ReliabilitySignal`s, each for one level, met
or not, with its evidence). A level holds when it has at least one signal and all of them are met, and every
level below it holds; a service's level is the highest that holds. What is missing for the next level is that
level's unmet signals, or, where no domain measures it yet, that nothing does.

`standing` is pure; `standings` asks every plugin of a runtime.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from mamori.core.runtime import CatalogSlot, ReliabilitySignal, Runtime

LEVELS: tuple[str, ...] = (
    "monitoring",
    "incident_response",
    "postmortems",
    "testing_release",
    "capacity_planning",
    "development",
    "product",
)
TITLES: dict[str, str] = {
    "monitoring": "Monitoring",
    "incident_response": "Incident response",
    "postmortems": "Postmortem and root-cause analysis",
    "testing_release": "Testing and release procedures",
    "capacity_planning": "Capacity planning",
    "development": "Development",
    "product": "Product",
}


@dataclass(frozen=True)
class Standing:
    """A service's level (None: not even monitoring holds), the next level and what it lacks."""

    level: str | None
    next: str | None
    missing: tuple[str, ...]
    signals: tuple[ReliabilitySignal, ...]

    @property
    def rank(self) -> int:
        """How many levels hold (0 to 7)."""
        return 0 if self.level is None else LEVELS.index(self.level) + 1

    @property
    def title(self) -> str:
        return TITLES[self.level] if self.level else "below monitoring"

    def summary(self) -> str:
        """One line for the catalog column: the level and what the next one needs."""
        if self.next is None:
            return f"{self.rank}/7 {self.title}"
        return f"{self.rank}/7 {self.title} · next, {TITLES[self.next]}: {'; '.join(self.missing)}"

    def as_json(self) -> dict[str, Any]:
        return {
            "level": self.level,
            "rank": self.rank,
            "title": self.title,
            "next": self.next,
            "missing": list(self.missing),
            "signals": [{"level": s.level, "name": s.name, "met": s.met, "evidence": s.evidence} for s in self.signals],
        }


def standing(signals: list[ReliabilitySignal]) -> Standing:
    """The level the signals reach (pure). Signals naming an unknown level are an error of their domain."""
    unknown = sorted({s.level for s in signals} - set(LEVELS))
    if unknown:
        raise ValueError(f"unknown reliability level(s) {unknown}; levels: {', '.join(LEVELS)}")
    ordered = tuple(sorted(signals, key=lambda s: (LEVELS.index(s.level), s.name)))
    reached: str | None = None
    for level in LEVELS:
        own = [s for s in ordered if s.level == level]
        unmet = [s for s in own if not s.met]
        if not own or unmet:
            missing = tuple(f"{s.name} ({s.evidence})" for s in unmet) or ("nothing Mamori knows measures it yet",)
            return Standing(reached, level, missing, ordered)
        reached = level
    return Standing(reached, None, (), ordered)


def signals_for(
    runtime: Runtime, session: Session, services: list[str], now: datetime
) -> dict[str, list[ReliabilitySignal]]:
    """Every plugin's signals for these services."""
    out: dict[str, list[ReliabilitySignal]] = {name: [] for name in services}
    for plugin in runtime.plugins:
        for source in plugin.reliability:
            for name, found in source(session, services, now).items():
                if name in out:
                    out[name].extend(found)
    return out


def standings(
    runtime: Runtime, session: Session, services: list[str], now: datetime | None = None
) -> dict[str, Standing]:
    """Each service's standing, from every plugin's signals."""
    now = now or runtime.now()
    return {name: standing(found) for name, found in signals_for(runtime, session, services, now).items()}


def catalog_column(runtime: Runtime) -> CatalogSlot:
    """The catalog's "Reliability level" column (the kernel's own slot)."""

    def render(session: Session, services: list[str], now: datetime) -> dict[str, str]:
        return {name: found.summary() for name, found in standings(runtime, session, services, now).items()}

    return CatalogSlot(key="reliability", title="Reliability level", render=render, order=5)


def recency(
    level: str, name: str, latest: dict[str, datetime], services: list[str], now: datetime, *, within: timedelta
) -> dict[str, list[ReliabilitySignal]]:
    """A signal met when `latest[service]` (the last scan, the last drill) is within `within` of now: what a
    domain whose evidence is "done recently" contributes in a few lines."""
    out: dict[str, list[ReliabilitySignal]] = {}
    for service in services:
        at = latest.get(service)
        met = at is not None and at >= now - within
        seen = f"last on {at:%Y-%m-%d}" if at is not None else "never"
        evidence = f"{seen} (wanted: within {within.days} days)"
        out[service] = [ReliabilitySignal(level, name, met, evidence)]
    return out
