"""Inventory per service and the advisory store: lockfiles recorded, OSV records synced, EPSS/KEV imported."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import httpx
from sqlalchemy import delete, insert, select, tuple_
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput
from mamori.core.models import Service
from mamori.core.runtime import Runtime
from mamori.integrations import DeliveryError, webhooks
from mamori.vulns import enrichment, lockfiles, osv, sources
from mamori.vulns.components import Component
from mamori.vulns.kinds import RepositoryMapping
from mamori.vulns.matcher import AdvisoryIndex, advisory_severity
from mamori.vulns.models import VulnAdvisory, VulnAdvisoryPackage, VulnComponent, VulnEpss, VulnKev, VulnSyncState

log = logging.getLogger(__name__)
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
MAX_STORED_ERRORS = 20


@dataclass
class InventoryResult:
    files: list[str] = field(default_factory=list)
    components: int = 0
    services: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def _repo_name(repository: str) -> str:
    tail = repository.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
    return tail.removesuffix(".git")


def _service_for(
    rel: Path, *, mappings: list[RepositoryMapping], service: str | None, by_repo: dict[str, str]
) -> str | None:
    best: tuple[int, str] | None = None
    for m in mappings:
        prefix = Path(m.path.strip("/"))
        covers = prefix == Path(".") or rel.parts[: len(prefix.parts)] == prefix.parts
        if covers and (best is None or len(prefix.parts) > best[0]):
            best = (len(prefix.parts), m.service)
    if best is not None:
        return best[1]
    if service is not None:
        return service
    return by_repo.get(rel.parts[0]) if len(rel.parts) > 1 else None


def record_inventory(
    session: Session,
    *,
    root: Path,
    now: datetime,
    service: str | None = None,
    mappings: Iterable[RepositoryMapping] = (),
) -> InventoryResult:
    """Components under `root`, each owned by a service: an explicit mapping, `service`, or the repository's
    name matched against Service.repository (then the service name) for the top-level folder.

    A service's inventory is replaced by what this scan found, except for files that failed to parse: their
    previous components are kept, so a broken lockfile loses nothing.
    """
    if not root.exists():
        raise InvalidInput(f"{root}: no such file or directory")
    found = lockfiles.discover(root)
    result = InventoryResult(files=list(found.files), errors=list(found.errors))
    by_repo: dict[str, str] = {}
    for svc in session.scalars(select(Service)):
        by_repo.setdefault(svc.name, svc.name)
        if svc.repository:
            by_repo[_repo_name(svc.repository)] = svc.name
    base = root if root.is_dir() else root.parent
    owned: dict[str, list[tuple[str, Component]]] = {}
    for comp in found.components:
        rel = Path(comp.source_file).resolve().relative_to(base.resolve())
        owner = _service_for(rel, mappings=list(mappings), service=service, by_repo=by_repo)
        if owner is None:
            msg = f"{rel}: no service owns this file; map it with --service or a VulnerabilityPolicy repositories entry"
            if msg not in result.errors:
                result.errors.append(msg)
            continue
        owned.setdefault(owner, []).append((rel.as_posix(), comp))
    kept = {Path(f).resolve().relative_to(base.resolve()).as_posix() for f in found.failed}
    for owner, comps in sorted(owned.items()):
        session.execute(
            delete(VulnComponent).where(VulnComponent.service == owner, VulnComponent.source_file.not_in(kept))
        )
        rows = {}
        for rel_file, c in comps:
            rows[(rel_file, c.purl)] = {
                "service": owner,
                "ecosystem": c.ecosystem,
                "name": c.name,
                "version": c.version,
                "purl": c.purl,
                "source_file": rel_file,
                "direct": c.direct,
                "dev": c.dev,
                "seen_at": now,
            }
        session.execute(insert(VulnComponent), list(rows.values()))
        result.components += len(rows)
        result.services.append(owner)
    session.flush()
    return result


def list_components(session: Session, *, service: str | None = None) -> list[VulnComponent]:
    query = select(VulnComponent).order_by(VulnComponent.service, VulnComponent.source_file, VulnComponent.purl)
    if service:
        query = query.where(VulnComponent.service == service)
    return list(session.scalars(query))


@dataclass
class SyncResult:
    source: str
    imported: int = 0
    unchanged: int = 0
    withdrawn: int = 0
    invalid: int = 0
    error: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {
            "imported": self.imported,
            "unchanged": self.unchanged,
            "withdrawn": self.withdrawn,
            "invalid": self.invalid,
        }


def _fetch(runtime: Runtime, url: str, *, timeout: float = 60.0) -> bytes:
    try:
        with runtime.http_client(timeout=timeout) as client:
            response = webhooks.get_checked(
                client, url, allow_private=runtime.settings.allow_private_webhooks, max_bytes=MAX_DOWNLOAD_BYTES
            )
    except DeliveryError as exc:
        raise InvalidInput(f"{url}: {exc}") from None
    except httpx.TimeoutException:
        raise InvalidInput(f"{url}: timed out after {timeout:g}s") from None
    except httpx.HTTPError as exc:
        raise InvalidInput(f"{url}: request failed ({exc.__class__.__name__}: {exc})") from None
    if response.status_code != 200:
        raise InvalidInput(f"{url}: HTTP {response.status_code}")
    return response.content


def store_advisory(session: Session, adv: osv.Advisory, *, now: datetime, source: str) -> None:
    sev = advisory_severity(adv)
    vector = next((v for kind, v in adv.severity if kind.startswith("CVSS_")), None)
    session.execute(delete(VulnAdvisory).where(VulnAdvisory.id == adv.id))
    session.add(
        VulnAdvisory(
            id=adv.id,
            modified=adv.modified,
            published=adv.published,
            aliases=list(adv.aliases),
            summary=adv.summary,
            severity_label=sev.label,
            cvss_score=sev.score,
            cvss_vector=vector,
            raw=adv.raw,
            source=source[:1000],
            imported_at=now,
        )
    )
    session.flush()
    pairs = {(a.ecosystem.split(":", 1)[0], osv.normalize_name(a.ecosystem, a.name)) for a in adv.affected}
    if pairs:
        session.execute(
            insert(VulnAdvisoryPackage),
            [{"advisory_id": adv.id, "ecosystem": e, "name": n} for e, n in sorted(pairs)],
        )


def _load_source(runtime: Runtime, source: str, known: dict[str, datetime]) -> sources.LoadResult:
    if not source.startswith(("http://", "https://")):
        path = Path(source)
        if not path.exists():
            raise InvalidInput(f"{source}: no such advisory file or directory")
        return sources.load(path, known=known)
    payload = _fetch(runtime, source)
    suffix = ".zip" if payload[:4] == b"PK\x03\x04" else ".json"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"download{suffix}"
        path.write_bytes(payload)
        return sources.load(path, known=known)


OSV_DUMP = "https://osv-vulnerabilities.storage.googleapis.com/{ecosystem}/all.zip"
"""OSV's per-ecosystem dump of every record: where advisories come from when the policy names no source."""


def default_sources(session: Session) -> list[str]:
    """OSV's dump of each ecosystem the inventory holds (the sources used when the policy names none)."""
    ecosystems = session.scalars(select(VulnComponent.ecosystem).distinct().order_by(VulnComponent.ecosystem))
    return [OSV_DUMP.format(ecosystem=quote(e.split(":", 1)[0], safe="")) for e in ecosystems]


def sources_for(session: Session, policy_sources: list[str]) -> list[str]:
    """The policy's advisory sources, or OSV's dumps for the inventory's ecosystems when it names none."""
    return list(policy_sources) or default_sources(session)


def sync_advisories(session: Session, *, runtime: Runtime, now: datetime, source: str) -> SyncResult:
    """Import one source (URL or path) incrementally: only records `modified` after the stored copy.

    A failing source is recorded with its error on its sync state and changes nothing else.
    """
    result = SyncResult(source=source)
    known = dict(session.execute(select(VulnAdvisory.id, VulnAdvisory.modified)).all())
    state = session.get(VulnSyncState, source) or VulnSyncState(name=source, kind="advisories", stats={})
    session.add(state)
    state.last_run_at = now
    try:
        loaded = _load_source(runtime, source, known)
    except (InvalidInput, OSError) as exc:
        result.error = str(exc)
        state.last_error = result.error
        log.warning("advisory sync from %s failed: %s", source, result.error)
        return result
    for adv in loaded.advisories:
        store_advisory(session, adv, now=now, source=source)
    if loaded.withdrawn:
        session.execute(delete(VulnAdvisory).where(VulnAdvisory.id.in_(loaded.withdrawn)))
    result.imported, result.unchanged = len(loaded.advisories), loaded.unchanged
    result.withdrawn, result.invalid = len(loaded.withdrawn), len(loaded.errors)
    state.last_success_at = now
    state.last_error = "; ".join(loaded.errors[:MAX_STORED_ERRORS]) or None
    state.stats = result.as_dict()
    session.flush()
    return result


def _record_state(
    session: Session, name: str, kind: str, now: datetime, *, error: str | None, stats: dict[str, object]
) -> None:
    state = session.get(VulnSyncState, name) or VulnSyncState(name=name, kind=kind, stats={})
    session.add(state)
    state.last_run_at, state.last_error = now, error
    if error is None:
        state.last_success_at, state.stats = now, stats


def import_epss(session: Session, *, payload: bytes, now: datetime, source: str = "epss") -> int:
    """Replace the EPSS scores with a full daily snapshot; a bad file changes nothing."""
    try:
        scores = enrichment.parse_epss_csv(payload)
    except enrichment.InvalidEnrichment as exc:
        _record_state(session, source, "epss", now, error=str(exc), stats={})
        raise InvalidInput(f"{source}: {exc}") from None
    session.execute(delete(VulnEpss))
    rows = {s.cve: {"cve": s.cve, "epss": s.epss, "percentile": s.percentile, "updated_at": now} for s in scores}
    if rows:
        session.execute(insert(VulnEpss), list(rows.values()))
    _record_state(session, source, "epss", now, error=None, stats={"scores": len(rows)})
    session.flush()
    return len(rows)


def import_kev(session: Session, *, payload: bytes, now: datetime, source: str = "kev") -> int:
    """Replace the KEV catalog with a full copy; a bad file changes nothing."""
    try:
        entries = enrichment.parse_kev_json(payload)
    except enrichment.InvalidEnrichment as exc:
        _record_state(session, source, "kev", now, error=str(exc), stats={})
        raise InvalidInput(f"{source}: {exc}") from None
    session.execute(delete(VulnKev))
    rows = {
        e.cve: {
            "cve": e.cve,
            "vendor": e.vendor,
            "product": e.product,
            "name": e.name,
            "description": e.description,
            "date_added": e.date_added,
            "ransomware": e.ransomware,
            "updated_at": now,
        }
        for e in entries
    }
    if rows:
        session.execute(insert(VulnKev), list(rows.values()))
    _record_state(session, source, "kev", now, error=None, stats={"entries": len(rows)})
    session.flush()
    return len(rows)


def sync_enrichment(
    session: Session, *, runtime: Runtime, now: datetime, epss_url: str | None, kev_url: str | None
) -> list[str]:
    """Fetch and import EPSS and KEV; returns the errors (each also recorded on its sync state)."""
    errors = []
    for url, importer, kind in ((epss_url, import_epss, "epss"), (kev_url, import_kev, "kev")):
        if not url:
            continue
        try:
            payload = _fetch(runtime, url) if url.startswith(("http://", "https://")) else Path(url).read_bytes()
            importer(session, payload=payload, now=now, source=url)
        except (InvalidInput, OSError) as exc:
            _record_state(session, url, kind, now, error=str(exc), stats={})
            errors.append(f"{kind}: {exc}")
    return errors


def index_for(session: Session, components: Iterable[VulnComponent]) -> AdvisoryIndex:
    """An index of only the stored advisories naming a package of the inventory."""
    pairs = sorted({(c.ecosystem, osv.normalize_name(c.ecosystem, c.name)) for c in components})
    ids: set[str] = set()
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        ids.update(
            session.scalars(
                select(VulnAdvisoryPackage.advisory_id).where(
                    tuple_(VulnAdvisoryPackage.ecosystem, VulnAdvisoryPackage.name).in_(chunk)
                )
            )
        )
    advisories = []
    for row in session.scalars(select(VulnAdvisory).where(VulnAdvisory.id.in_(sorted(ids)))):
        try:
            advisories.append(osv.parse_record(row.raw, source=f"stored advisory {row.id}"))
        except osv.InvalidRecord as exc:  # stored records were valid when imported; keep scanning the rest
            log.warning("%s", exc)
    return AdvisoryIndex(advisories)


def epss_for(session: Session, cves: Iterable[str]) -> dict[str, float]:
    wanted = sorted({c.upper() for c in cves if c.upper().startswith("CVE-")})
    if not wanted:
        return {}
    return dict(session.execute(select(VulnEpss.cve, VulnEpss.epss).where(VulnEpss.cve.in_(wanted))).all())


def kev_for(session: Session, cves: Iterable[str]) -> set[str]:
    wanted = sorted({c.upper() for c in cves if c.upper().startswith("CVE-")})
    if not wanted:
        return set()
    return set(session.scalars(select(VulnKev.cve).where(VulnKev.cve.in_(wanted))))


UPLOAD_FOLDER = "uploaded"
MAX_UPLOAD_BYTES = 5_000_000


def record_upload(session: Session, *, service: str, filename: str, data: bytes, now: datetime) -> InventoryResult:
    """One lockfile sent from the dashboard, recorded as `uploaded/<name>` of `service` (replacing what an earlier
    upload of that name recorded; the service's other files stay). Nothing is stored when the file is not read."""
    name = Path(filename.replace("\\", "/")).name
    if not name or name in (".", ".."):
        raise InvalidInput(
            "lockfile: give a file (its name tells its format, e.g. requirements.txt, package-lock.json)"
        )
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidInput(f"lockfile {name}: larger than {MAX_UPLOAD_BYTES} bytes")
    if session.scalar(select(Service.id).where(Service.name == service)) is None:
        raise InvalidInput(f"service: no service {service!r} in the catalog")
    with tempfile.TemporaryDirectory(prefix="mamori-upload-") as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        found = lockfiles.discover(path)
    if found.errors:
        raise InvalidInput(f"lockfile {name}: " + "; ".join(e.replace(str(path), name) for e in found.errors))
    if not found.files or found.skipped:
        why = "; ".join(reason for _, reason in found.skipped) or "not a lockfile, manifest or SBOM Mamori reads"
        raise InvalidInput(f"lockfile {name}: not read: {why}")
    source_file = f"{UPLOAD_FOLDER}/{name}"
    session.execute(
        delete(VulnComponent).where(VulnComponent.service == service, VulnComponent.source_file == source_file)
    )
    rows = {
        c.purl: {
            "service": service,
            "ecosystem": c.ecosystem,
            "name": c.name,
            "version": c.version,
            "purl": c.purl,
            "source_file": source_file,
            "direct": c.direct,
            "dev": c.dev,
            "seen_at": now,
        }
        for c in found.components
    }
    if rows:
        session.execute(insert(VulnComponent), list(rows.values()))
    session.flush()
    return InventoryResult(files=[source_file], components=len(rows), services=[service])
