"""The states a finding moves through and the OpenVEX justifications a 'not affected' decision needs: the
kernel's triage vocabulary (`mamori.core.triage`), shared with the security-findings queue."""

from __future__ import annotations

from mamori.core.triage import DECIDED_STATES, OPEN_STATES, STATES
from mamori.core.triage import VEX_JUSTIFICATIONS as JUSTIFICATIONS

__all__ = ["DECIDED_STATES", "JUSTIFICATIONS", "OPEN_STATES", "STATES"]
