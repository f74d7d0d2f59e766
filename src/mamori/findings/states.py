"""The triage states of a security finding (as the dependency queue has them) and what counts as open."""

from __future__ import annotations

STATES = ("new", "under_investigation", "affected", "not_affected", "fixed", "risk_accepted", "false_positive")
OPEN_STATES = ("new", "under_investigation", "affected")
DECIDED_STATES = ("not_affected", "fixed", "risk_accepted", "false_positive")
JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
"""OpenVEX 0.2.0 justifications; a dependency finding marked not_affected needs one (VEX)."""
