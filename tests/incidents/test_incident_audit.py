"""Every incident action is on the incident timeline and in the audit log; every posted update is an event."""

from __future__ import annotations

from sqlalchemy import select

from mamori.core import audit
from mamori.core.audit import Actor
from mamori.core.events import DELIVER_JOB, Event
from mamori.core.jobs import JobContext
from mamori.core.models import Job
from mamori.core.runtime import Runtime
from mamori.incidents.events import IncidentUpdatePosted
from mamori.incidents.response import service as response

ERIN = Actor("erin@example.com", "ui")


def test_roles_notes_and_updates_are_audited_and_each_update_is_published(runtime: Runtime) -> None:
    def ignore(ctx: JobContext, event: Event) -> None:
        return None

    runtime.bus.subscribe(IncidentUpdatePosted, "test.update_posted", ignore)
    with runtime.sessions.begin() as s:
        ref = response.declare(s, runtime, title="Checkout down", severity="SEV2", actor=ERIN, now=runtime.now()).id
        response.assign_role(s, runtime, ref=ref, role="scribe", user="dave@example.com", actor=ERIN, now=runtime.now())
        response.add_note(s, ref=ref, text="rolled back 4.2.1", actor=ERIN, now=runtime.now())
        response.post_update(s, runtime, ref=ref, text="still degraded", actor=ERIN, now=runtime.now())
        response.post_update(
            s, runtime, ref=ref, text="cause found", actor=ERIN, now=runtime.now(), status="identified",
            audience="external",
        )  # fmt: skip
    with runtime.sessions() as s:
        actions = [e.action for e in audit.list_entries(s) if e.object_type == "Incident"]
        jobs = s.scalars(select(Job).where(Job.kind == DELIVER_JOB)).all()
        posted = [j.payload["data"] for j in jobs if j.payload["subscriber"] == "test.update_posted"]
    assert {"assign_role", "note", "update"} <= set(actions) and actions.count("update") == 2
    assert [(p["audience"], p["by"]) for p in posted] == [("internal", ERIN.name), ("external", ERIN.name)]
