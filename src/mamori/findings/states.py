"""The triage states of a security finding: the kernel's vocabulary (`mamori.core.triage`, shared with the
dependency queue of `vulns`) plus `false_positive`, and what counts as open or decided."""

from __future__ import annotations

from mamori.core import triage

STATES = (*triage.STATES, triage.FALSE_POSITIVE)
OPEN_STATES = triage.OPEN_STATES
DECIDED_STATES = (*triage.DECIDED_STATES, triage.FALSE_POSITIVE)
JUSTIFICATIONS = triage.VEX_JUSTIFICATIONS
"""OpenVEX 0.2.0 justifications; a dependency finding marked not_affected needs one (VEX)."""
