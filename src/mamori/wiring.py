"""The one composition root: which plugins make up Mamori, per-runtime states built from settings, and every
cross-domain event subscription (so that each coupling between domains is visible here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta

import httpx
from sqlalchemy import MetaData
from sqlalchemy.orm import Session

from mamori.core import catalog, jobs
from mamori.core import plugin as core_plugin
from mamori.core.audit import Actor
from mamori.core.clock import Clock, SystemClock
from mamori.core.config import Settings
from mamori.core.db import Base, make_engine, make_sessionmaker
from mamori.core.errors import InvalidInput, NotFound
from mamori.core.events import Event
from mamori.core.jobs import JobContext, PermanentJobError
from mamori.core.manifest import Bundle, KindRegistry
from mamori.core.runtime import Plugin, Runtime
from mamori.delivery import events as delivery_events
from mamori.delivery import plugin as delivery_plugin
from mamori.delivery.service import incidents as delivery_incidents
from mamori.delivery.service import notices as delivery_notices
from mamori.delivery.service import reports as delivery_reports
from mamori.findings import plugin as findings_plugin
from mamori.findings.service import osv as findings_osv
from mamori.flags import plugin as flags_plugin
from mamori.flags import ramps as flag_ramps
from mamori.gamedays import events as gameday_events
from mamori.gamedays import plugin as gamedays_plugin
from mamori.gamedays.service import reactions as gameday_reactions
from mamori.gamedays.service import safety as gameday_safety
from mamori.incidents import events as incident_events
from mamori.incidents import plugin as incidents_plugin
from mamori.incidents.alerts import burns as incident_burns
from mamori.incidents.alerts import reach as burn_reach
from mamori.incidents.alerts import service as incident_alerts
from mamori.incidents.oncall import drills as incident_drills
from mamori.incidents.response import service as incident_response
from mamori.integrations import github_checks, notify, tickets
from mamori.sast import events as sast_events
from mamori.sast import plugin as sast_plugin
from mamori.slo import events as slo_events
from mamori.slo import plugin as slo_plugin
from mamori.slo.service import Plans as SloPlans
from mamori.slo.service import drills as slo_drills
from mamori.slo.service import objectives as slo_objectives
from mamori.vulns import events as vulns_events
from mamori.vulns import plugin as vulns_plugin
from mamori.vulns.service import drills as vulns_drills

log = logging.getLogger(__name__)

DOMAIN_PLUGINS: list[Callable[[], Plugin]] = [
    slo_plugin.plugin,
    incidents_plugin.plugin,
    flags_plugin.plugin,
    vulns_plugin.plugin,
    gamedays_plugin.plugin,
    findings_plugin.plugin,
    delivery_plugin.plugin,
    sast_plugin.plugin,
]

OUTBOUND: dict[type, Callable[[Runtime], object]] = {
    tickets.Trackers: lambda runtime: tickets.trackers_from_settings(runtime.settings, runtime.http_client),
    notify.Notifiers: lambda runtime: notify.notifiers_from_settings(runtime.settings, runtime.http_client),
    github_checks.Checks: lambda runtime: github_checks.checks_from_settings(
        runtime.settings, runtime.http_client, runtime.now
    ),
}
"""The outbound adapters every domain shares, built once per runtime from settings (a test passes twins)."""


def metadata() -> MetaData:
    """Every table of every domain (importing the plugins imports their models)."""
    return Base.metadata


def _osv_into_findings(
    ctx: JobContext, event: vulns_events.FindingOpened | vulns_events.FindingChanged | vulns_events.FindingResolved
) -> None:
    """A dependency finding of the vulns domain, as a source of tool `osv` in the security-findings queue."""
    finding = findings_osv.OsvFinding(
        finding_id=event.finding_id,
        service=event.service,
        ecosystem=event.ecosystem,
        package=event.package,
        version=event.version,
        advisory=event.advisory,
        severity=event.severity,
        priority=event.priority,
        at=event.at,
        kev=event.kev,
        epss=event.epss,
        aliases=tuple(event.aliases),
        locations=tuple(event.locations),
        state=getattr(event, "state", "new"),
        resolved=isinstance(event, vulns_events.FindingResolved),
        raw=event.model_dump(mode="json"),
    )
    findings_osv.record(ctx.session, finding=finding, now=ctx.now, bus=ctx.runtime.bus)


def subscribe(runtime: Runtime) -> None:
    """Cross-domain reactions. Each line: publisher's event -> subscriber's service function."""
    bus = runtime.bus
    # An SLO burning its budget becomes an alert, routed and paged like any other.
    bus.subscribe(slo_events.BurnAlertFired, "incidents.ingest_slo_burn", incident_burns.ingest_slo_burn)
    bus.subscribe(slo_events.BurnAlertResolved, "incidents.resolve_slo_burn", incident_burns.resolve_slo_burn)
    # Guarded rollouts: a burn or a release freeze on a service halts its flag ramps.
    bus.subscribe(slo_events.BurnAlertFired, "flags.halt_ramps_on_burn", flag_ramps.on_burn_alert)
    bus.subscribe(slo_events.ReleaseFreezeStarted, "flags.halt_ramps_on_freeze", flag_ramps.on_release_freeze)
    # Game days: a drill's alerts go through the real intake; when it ends, its alerts and incidents resolve.
    bus.subscribe(gameday_events.DrillAlertInjected, "incidents.drill_alert_intake", drill_alert_to_intake)
    bus.subscribe(gameday_events.DrillEnded, "incidents.resolve_drill", resolve_drill_incidents)
    # The incident flow's events land on the drill's timeline (label mamori_drill); a real SEV1/SEV2 aborts drills.
    for event_cls in DRILL_RESPONSE_EVENTS:
        bus.subscribe(event_cls, f"gamedays.record_{event_cls.type.split('.')[1]}", gameday_reactions.record_response)
    # A real page-level SLO burn on a drill's service aborts the drill; a release freeze is a response it scores.
    bus.subscribe(slo_events.BurnAlertFired, "gamedays.abort_on_slo_burn", gameday_reactions.abort_on_slo_burn)
    bus.subscribe(slo_events.ReleaseFreezeStarted, "gamedays.record_freeze", gameday_reactions.record_freeze)
    # A drill's SLO events go to a drill-only slice (no budget counts them); its news item to the triage queue.
    bus.subscribe(gameday_events.DrillSloEventsInjected, "slo.drill_slice", drill_slo_events_to_slice)
    bus.subscribe(gameday_events.DrillNewsInjected, "vulns.drill_finding", drill_news_to_triage)
    bus.subscribe(gameday_events.DrillEnded, "vulns.close_drill_findings", close_drill_findings)
    # Mamori's own OSV findings join the security-findings queue as sources of tool "osv" (one finding per
    # package x advisory x location, whichever tools report it).
    bus.subscribe(vulns_events.FindingOpened, "findings.osv_opened", _osv_into_findings)
    bus.subscribe(vulns_events.FindingChanged, "findings.osv_changed", _osv_into_findings)
    bus.subscribe(vulns_events.FindingResolved, "findings.osv_resolved", _osv_into_findings)
    # Incidents mark deploys failed (change fail rate, recovery time) and unplanned (rework rate).
    bus.subscribe(incident_events.IncidentDeclared, "delivery.note_incident", _delivery_incident_declared)
    bus.subscribe(incident_events.IncidentResolved, "delivery.note_incident_resolved", _delivery_incident_resolved)
    # Pages per person feed the delivery domain's operations load.
    bus.subscribe(incident_events.AlertGroupPaged, "delivery.note_page", _delivery_paged)
    # A build step or test that got slower tells its owning team and, by the DeliveryPolicy, files a ticket.
    bus.subscribe(delivery_events.RegressionFound, "delivery.regression_notice", delivery_notices.notify_team)
    bus.subscribe(delivery_events.RegressionFound, "delivery.regression_ticket", delivery_notices.file_ticket)
    # A SAST scan of a service's branch is a static-analysis count per tool and severity, beside RuboCop's.
    bus.subscribe(sast_events.ScanImported, "delivery.sast_counts", _delivery_sast_counts)


DRILL_RESPONSE_EVENTS: list[type[Event]] = [
    incident_events.AlertGroupOpened,
    incident_events.AlertGroupPaged,
    incident_events.AlertGroupAcknowledged,
    incident_events.AlertGroupResolved,
    incident_events.IncidentDeclared,
    incident_events.IncidentSeverityChanged,
    incident_events.IncidentRoleAssigned,
    incident_events.IncidentStatusUpdated,
    incident_events.IncidentUpdatePosted,
    incident_events.IncidentResolved,
    incident_events.PostmortemPublished,
]
"""The incidents events a drill's timeline (and its auto-abort on a real SEV1/SEV2) reads."""


def drill_alert_to_intake(ctx: JobContext, event: gameday_events.DrillAlertInjected) -> None:
    """A drill's alert (or its resolution) enters through the real intake of the integration it names, so
    routing, grouping and paging run as for any alert. A payload the intake refuses stays stored as rejected."""
    try:
        incident_alerts.accept(
            ctx.session,
            integration=event.integration,
            source=event.source,
            body=event.body.encode(),
            content_type="application/json",
            now=ctx.now,
        )
    except InvalidInput as exc:
        log.warning("drill %s: inject %s refused by the intake: %s", event.drill_id, event.inject_id, exc.detail)
    except NotFound as exc:
        raise PermanentJobError(f"drill {event.drill_id}: {exc.detail}") from exc


def resolve_drill_incidents(ctx: JobContext, event: gameday_events.DrillEnded) -> None:
    """When a drill ends or is aborted, nothing of it stays open: its alert groups and incidents are resolved."""
    actor = Actor.system("gamedays")
    for group_id in event.group_ids:
        try:
            incident_alerts.resolve(ctx.session, ctx.runtime, group_id=group_id, actor=actor, now=ctx.now)
        except NotFound:
            continue
    for incident_id in event.incident_ids:
        try:
            incident = incident_response.get(ctx.session, incident_id)
        except NotFound:
            continue
        if incident.status != "resolved":
            incident_response.set_status(
                ctx.session, ctx.runtime, incident=incident, status="resolved", actor=actor, now=ctx.now
            )


def drill_slo_events_to_slice(ctx: JobContext, event: gameday_events.DrillSloEventsInjected) -> None:
    """A drill's SLO events are kept in a drill-only slice of the SLO; what they would have burnt joins the
    drill's timeline (an SLO that is not applied says so there)."""
    ids, at = {"drill_id": event.drill_id, "inject_id": event.inject_id}, event.at
    try:
        got = slo_drills.take_drill_events(
            ctx.session,
            **ids,
            slo=event.slo,
            good=event.good,
            total=event.total,
            over=timedelta(seconds=event.over_seconds),
            at=at,
            plans=ctx.runtime.state(SloPlans),
        )
    except NotFound as exc:
        gameday_reactions.record_taken(ctx.session, **ids, at=at, text=exc.detail, data={"taken": False})
        return
    data = {"taken": True, "slo": got.slo, "objectives": [asdict(o) for o in got.objectives]}
    gameday_reactions.record_taken(ctx.session, **ids, at=at, text=got.text(), data=data)


def drill_news_to_triage(ctx: JobContext, event: gameday_events.DrillNewsInjected) -> None:
    """A drill's vendor-breach news item becomes a drill finding in the vulns triage queue (no SLA, no exposure)."""
    finding, _ = vulns_drills.open_drill_finding(
        ctx.session,
        drill_id=event.drill_id,
        inject_id=event.inject_id,
        title=event.title,
        vendor=event.vendor,
        summary=event.summary,
        link=event.link,
        now=ctx.now,
    )
    text = (
        f"in the vulns triage queue as drill finding {finding.priority} {finding.title} (/vulns/findings/{finding.id})"
    )
    data = {"taken": True, "finding": finding.id, "priority": finding.priority}
    gameday_reactions.record_taken(
        ctx.session, drill_id=event.drill_id, inject_id=event.inject_id, at=event.at, text=text, data=data
    )


def close_drill_findings(ctx: JobContext, event: gameday_events.DrillEnded) -> None:
    vulns_drills.close_drill_findings(ctx.session, drill_id=event.drill_id, outcome=event.outcome, now=ctx.now)


def drill_rules(session: Session, drill_id: str) -> incident_drills.DrillRules | None:
    """What a drill allows the incident flow (paging only its participants, tickets if its scenario says so)."""
    found = gameday_safety.safety_of(session, drill_id)
    if found is None:
        return None
    return incident_drills.DrillRules(found.drill_id, found.pageable, file_tickets=found.file_tickets)


def _delivery_incident_declared(ctx: JobContext, event: incident_events.IncidentDeclared) -> None:
    delivery_incidents.note_declared(
        ctx.session,
        incident_id=event.incident_id,
        service=event.service,
        severity=event.severity,
        title=event.title,
        labels=event.labels,
        at=event.at,
    )


def _delivery_incident_resolved(ctx: JobContext, event: incident_events.IncidentResolved) -> None:
    delivery_incidents.note_resolved(
        ctx.session, incident_id=event.incident_id, service=event.service, severity=event.severity, at=event.at
    )


def _delivery_paged(ctx: JobContext, event: incident_events.AlertGroupPaged) -> None:
    delivery_incidents.note_paged(
        ctx.session,
        event_id=event.event_id,
        person=event.person,
        service=event.service,
        group_id=event.group_id,
        labels=event.labels,
        at=event.at,
    )


def config_warnings(bundle: Bundle, session: Session | None) -> list[str]:
    """What `mamori validate` warns about without refusing the configuration: every service whose SLOs page no
    person when they burn (no route, no owner team policy, or a policy that reaches nobody), an SLO whose service
    is not in the catalog, a schedule naming someone who is no User."""
    view = burn_reach.OnCallView.of_bundle(bundle, session)
    slos = slo_objectives.slo_services(bundle, session)
    unreachable = burn_reach.unreachable_services(view, slos)
    out = [
        f"service {name}: its SLOs reach no person when they burn ({why})" for name, why in sorted(unreachable.items())
    ]
    services = bundle.names("Service")
    out += [
        f"SLO {slo}: service {name!r} is no declared or stored Service" for name, slo in slos if name not in services
    ]
    return out + burn_reach.unknown_schedule_users(bundle)


def _delivery_sast_counts(ctx: JobContext, event: sast_events.ScanImported) -> None:
    """A whole scan of a catalog service (not a pull request's, nor one of some paths only) is recorded."""
    if event.service is None or event.pr is not None or event.partial:
        return
    delivery_reports.record_lint_counts(
        ctx.session, service=event.service, tool=event.tool, counts=event.severities, sha=event.commit, now=event.at
    )


def kind_registry() -> KindRegistry:
    """Every configuration kind of the kernel and the domains, without a database (offline commands)."""
    registry = KindRegistry()
    for kind_def in catalog.KINDS:
        registry.register(kind_def)
    for make in DOMAIN_PLUGINS:
        for kind_def in make().kinds:
            registry.register(kind_def)
    return registry


def build_runtime(
    settings: Settings,
    *,
    clock: Clock | None = None,
    http_transport: httpx.BaseTransport | None = None,
    states: list[object] | None = None,
) -> Runtime:
    """The runtime for these settings. `states` replaces the per-runtime objects of the same type that the
    plugins would build (a test passes a rate limiter on a fixed clock)."""
    engine = make_engine(settings.resolved_database_url)
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        clock=clock or SystemClock(),
        http_transport=http_transport,
    )
    runtime.install(core_plugin.plugin(runtime))
    for make in DOMAIN_PLUGINS:
        runtime.install(make())
    for item in states or ():
        runtime.states.put(item)
    given = {type(item) for item in states or ()}
    for kind, factory in OUTBOUND.items():
        if kind not in given:
            runtime.states.put(factory(runtime))
    for plugin in runtime.plugins:
        for kind, factory in plugin.states.items():
            if kind not in given:
                runtime.states.put(factory(runtime))
    if incident_drills.DrillPolicy not in given:
        runtime.states.put(incident_drills.DrillPolicy(drill_rules))
    subscribe(runtime)
    return runtime


def start(runtime: Runtime) -> None:
    """Start-up work that needs the database: defaults, periodic schedules."""
    with runtime.sessions.begin() as session:
        for plugin in runtime.plugins:
            for spec in plugin.periodic:
                jobs.schedule_periodic(
                    session,
                    name=spec.name,
                    kind=spec.kind,
                    interval=spec.interval,
                    payload=spec.payload,
                    now=runtime.now(),
                )
    for plugin in runtime.plugins:
        if plugin.on_startup is not None:
            plugin.on_startup(runtime)
