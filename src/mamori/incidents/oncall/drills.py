"""Drill safety in the incident flow: an alert group whose first alert carries the label `mamori_drill` is a
game day's, and its pages, incident, updates and tickets follow the drill's rules instead of the route's.

The rules (who may be paged, whether tickets may be filed) belong to the gamedays domain; incidents imports no
other domain, so the wiring puts a `DrillPolicy` whose lookup reads them into the runtime. Without a lookup, or
for a drill the lookup does not know, the safe rules hold: nobody is paged and no ticket is filed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from mamori.core.errors import Conflict
from mamori.core.runtime import Runtime
from mamori.incidents.eventing import DRILL_LABEL, group_labels


@dataclass(frozen=True)
class DrillRules:
    drill_id: str
    participants: frozenset[str]
    """The lower-cased e-mails of the people the drill may page."""
    file_tickets: bool = False
    """Whether the scenario lets the drill's incidents file real tickets."""


RulesLookup = Callable[[Session, str], DrillRules | None]
"""(session, drill id) -> the drill's rules, or None for a drill that does not exist."""


@dataclass(frozen=True)
class DrillPolicy:
    """Runtime state: how incidents learns a drill's rules (set by `mamori.wiring`)."""

    lookup: RulesLookup | None = None

    def rules(self, session: Session, labels: dict[str, str]) -> DrillRules | None:
        """The rules of the drill these labels name; None when they name no drill (a real alert)."""
        drill_id = labels.get(DRILL_LABEL)
        if not drill_id:
            return None
        found = self.lookup(session, drill_id) if self.lookup is not None else None
        return found or DrillRules(drill_id=drill_id, participants=frozenset())


def policy(runtime: Runtime) -> DrillPolicy:
    try:
        return runtime.state(DrillPolicy)
    except LookupError:
        return DrillPolicy()


def rules_of_group(session: Session, runtime: Runtime, group_id: str | None) -> DrillRules | None:
    """The drill rules of an alert group (and of an incident declared from it); None for a real one."""
    return policy(runtime).rules(session, group_labels(session, group_id)) if group_id else None


def may_page(rules: DrillRules | None, email: str) -> bool:
    return rules is None or email.strip().lower() in rules.participants


def mark(text: str) -> str:
    """`[DRILL] text`, once."""
    return text if text.startswith("[DRILL]") else f"[DRILL] {text}"


def refuse_customer_update(rules: DrillRules | None, audience: str) -> None:
    """A drill's incident never reaches customers (external updates, status pages)."""
    if rules is not None and audience != "internal":
        raise Conflict(
            f"this incident is part of drill {rules.drill_id}: drills post no customer-facing ({audience}) "
            "updates and touch no status page; post an internal update"
        )


def checked_update(rules: DrillRules | None, audience: str, text: str) -> str:
    """The text of a status update as posted: a drill's is internal only and says `[DRILL]`."""
    refuse_customer_update(rules, audience)
    return mark(text) if rules is not None else text


def refuse_ticket(rules: DrillRules | None) -> None:
    if rules is not None and not rules.file_tickets:
        raise Conflict(
            f"this incident is part of drill {rules.drill_id}: drills file no real tickets unless the scenario "
            "sets fileTickets"
        )
