"""The states a finding moves through and the OpenVEX justifications a 'not affected' decision needs."""

from __future__ import annotations

STATES = ("new", "under_investigation", "affected", "not_affected", "fixed", "risk_accepted")
OPEN_STATES = ("new", "under_investigation", "affected")
# OpenVEX status justifications (spec 0.2.0)
JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
# a decision that the next rescan must not undo unless something relevant changes
DECIDED_STATES = ("not_affected", "fixed", "risk_accepted")
