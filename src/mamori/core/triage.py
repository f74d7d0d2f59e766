"""The triage vocabulary every finding queue shares (dependency findings of `vulns`, the security-findings
queue of `findings`): the states a human decision moves a finding through, which of them are open or
decided, and the OpenVEX 0.2.0 names a decision is published under. Domains add their own states on top
(`findings` has `false_positive`); the rules of who may move what stay in each domain."""

from __future__ import annotations

STATES = ("new", "under_investigation", "affected", "not_affected", "fixed", "risk_accepted")
"""The states of a finding, in the order a queue lists them."""
OPEN_STATES = ("new", "under_investigation", "affected")
"""Still waiting for a decision or a fix."""
DECIDED_STATES = ("not_affected", "fixed", "risk_accepted")
"""A decision a rescan or re-import must not undo unless something relevant changes."""
FALSE_POSITIVE = "false_positive"
"""The scanner's match is wrong (a state of the security-findings queue; published as not_affected)."""

OPENVEX_CONTEXT = "https://openvex.dev/ns/v0.2.0"
VEX_STATUSES = ("not_affected", "affected", "fixed", "under_investigation")
"""OpenVEX 0.2.0 statement statuses."""
VEX_JUSTIFICATIONS = (
    "component_not_present",
    "vulnerable_code_not_present",
    "vulnerable_code_not_in_execute_path",
    "vulnerable_code_cannot_be_controlled_by_adversary",
    "inline_mitigations_already_exist",
)
"""OpenVEX 0.2.0 justifications; a package finding marked not_affected needs one."""
VEX_STATUS = {
    "new": "under_investigation",
    "under_investigation": "under_investigation",
    "affected": "affected",
    "risk_accepted": "affected",
    "not_affected": "not_affected",
    FALSE_POSITIVE: "not_affected",
    "fixed": "fixed",
}
"""The OpenVEX status that says what a triage state says."""


def vex_status(state: str) -> str:
    """The OpenVEX status of a triage state (an unknown one is still under investigation)."""
    return VEX_STATUS.get(state, "under_investigation")
