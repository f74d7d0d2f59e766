"""The abort switch runs a fired chaos inject's Chaos Toolkit rollbacks, as a durable job (`gamedays.run_rollbacks`).

Mamori runs the rollback activities with the Chaos Toolkit's own library (`chaoslib`, of the `chaostoolkit`
package), but only those with an `http` provider, whose URL passes the same guard as every outbound webhook (http or
https; no private or loopback address unless MAMORI_ALLOW_PRIVATE_WEBHOOKS is set; never link-local or cloud
metadata). A process or python provider would run a scenario's commands on the Mamori server: those are named on
the timeline for the game master to run. The experiment's literal configuration values are passed; its
environment and vault lookups and its secrets are not (they would read the server's environment). Each rollback
that ran joins the timeline as a line of the journal it makes (start, status), once.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from mamori.core import jobs
from mamori.core.runtime import Runtime
from mamori.gamedays import chaos, scoring
from mamori.gamedays.models import Drill
from mamori.gamedays.scenario import GameDaySpec, Inject
from mamori.gamedays.service.entries import add_entry
from mamori.integrations import DeliveryError
from mamori.integrations.webhooks import check_url

log = logging.getLogger(__name__)

ROLLBACK_JOB = "gamedays.run_rollbacks"
RUNNABLE = ("http",)
DEFAULT_TIMEOUT = 10


def enqueue(session: Session, drill: Drill, inject: Inject, *, now: datetime) -> None:
    """On abort: run the rollbacks of a fired chaos inject (once per drill and inject)."""
    jobs.enqueue(
        session,
        kind=ROLLBACK_JOB,
        now=now,
        payload={"drill": drill.id, "inject": inject.id},
        dedupe_key=f"gameday:{drill.id}:rollbacks:{inject.id}",
        max_attempts=1,  # a rollback half-run is not retried blindly: the timeline says what ran
    )


def split(document: dict[str, Any], *, allow_private: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """The rollback activities Mamori may run (copies, with a timeout), and a reason for each one it will not."""
    runnable, refused = [], []
    for index, activity in enumerate(document.get("rollbacks") or []):
        name = str(activity.get("name") or f"rollbacks[{index}]") if isinstance(activity, dict) else f"#{index}"
        provider = activity.get("provider") if isinstance(activity, dict) else None
        kind = provider.get("type") if isinstance(provider, dict) else None
        if kind not in RUNNABLE:
            refused.append(f"{name}: a {kind or 'referenced'} provider is not run by Mamori; run it by hand")
            continue
        assert isinstance(provider, dict) and isinstance(activity, dict)
        try:
            check_url(str(provider.get("url") or ""), allow_private=allow_private)
        except DeliveryError as exc:
            refused.append(f"{name}: not run: {exc}")
            continue
        runnable.append({**activity, "provider": {"timeout": DEFAULT_TIMEOUT, **provider}})
    return runnable, refused


def _literal_configuration(document: dict[str, Any]) -> dict[str, Any]:
    config = document.get("configuration") or {}
    return {k: v for k, v in config.items() if not isinstance(v, dict)} if isinstance(config, dict) else {}


def execute(document: dict[str, Any], activities: list[dict[str, Any]]) -> dict[str, Any]:
    """Run `activities` as the experiment's rollbacks with chaoslib; returns the journal of that run."""
    # the chaostoolkit package (dev extra; optional at run time: without it the timeline says what to run by hand)
    from chaoslib.rollback import run_rollbacks  # type: ignore[import-untyped]

    title = str(document.get("title") or "experiment")
    experiment = {"title": title, "method": document.get("method") or [], "rollbacks": activities}
    start = datetime.now(UTC)
    with ThreadPoolExecutor(max_workers=1) as pool:
        runs = list(run_rollbacks(experiment, _literal_configuration(document), {}, pool, None))
    runs = [r.result() if hasattr(r, "result") else r for r in runs]  # background rollbacks
    ok = all(r.get("status") == "succeeded" for r in runs)
    return {
        "experiment": {"title": title},
        "start": start.isoformat(),
        "end": datetime.now(UTC).isoformat(),
        "status": "completed" if ok else "failed",
        "deviated": False,
        "run": [],
        "rollbacks": runs,
    }


def run(session: Session, runtime: Runtime, *, drill_id: str, inject_id: str, now: datetime) -> int:
    """The job's work (`jobs.run_rollbacks`): run the rollbacks of one fired chaos inject of the drill."""
    drill = session.get(Drill, drill_id)
    if drill is None:
        return 0
    spec = GameDaySpec.model_validate(drill.spec)
    inject = next((i for i in spec.injects if i.id == inject_id and i.chaos is not None), None)
    if inject is None:
        return 0
    return run_for(session, runtime, drill, inject, now=now)


def run_for(session: Session, runtime: Runtime, drill: Drill, inject: Inject, *, now: datetime) -> int:
    """Run the inject's rollbacks now; returns how many ran. Every outcome is on the timeline."""
    assert inject.chaos is not None
    document = inject.chaos.document or {}
    title = str(document.get("title") or inject.chaos.experiment)
    activities, refused = split(document, allow_private=runtime.settings.allow_private_webhooks)
    note = {"inject": inject.id, "undo": True}
    for reason in refused:
        add_entry(session, drill, at=now, kind=scoring.NOTE, actor="gamedays", text=f"rollback {reason}", data=note)
    if not activities:
        return 0
    try:
        journal = execute(document, activities)
    except ImportError:
        names = ", ".join(str(a.get("name")) for a in activities)
        text = f"run the rollbacks of {title} by hand ({names}): the chaostoolkit package is not installed here"
        add_entry(session, drill, at=now, kind=scoring.NOTE, actor="gamedays", text=text, data=note)
        return 0
    lines = [line for line in chaos.parse_journal(journal) if line.phase == "rollback"]
    for index, line in enumerate(lines):
        data = {"phase": line.phase, "name": line.name, "status": line.status, "inject": inject.id, "abort": True}
        add_entry(
            session,
            drill,
            at=line.at,
            kind=scoring.CHAOS,
            actor="gamedays",
            text=f"{line.text} (run by the abort switch)",
            data=data,
            dedupe_key=f"rollback:{drill.id}:{inject.id}:{index}",
        )
    log.warning("drill %s: ran %d rollbacks of %s on abort: %s", drill.id, len(lines), title, journal["status"])
    return len(lines)
