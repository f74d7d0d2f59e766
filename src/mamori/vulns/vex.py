"""VEX documents: OpenVEX 0.2.0 and CycloneDX 1.5 VEX, written from and read into neutral statements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mamori.core.triage import OPENVEX_CONTEXT
from mamori.core.triage import VEX_JUSTIFICATIONS as JUSTIFICATIONS
from mamori.core.triage import VEX_STATUSES as STATUSES
from mamori.vulns.components import parse_purl

# OpenVEX status <-> CycloneDX analysis.state
_CDX_STATE = {
    "not_affected": "not_affected",
    "affected": "exploitable",
    "fixed": "resolved",
    "under_investigation": "in_triage",
}
_FROM_CDX_STATE = {
    "not_affected": "not_affected",
    "false_positive": "not_affected",
    "exploitable": "affected",
    "resolved": "fixed",
    "resolved_with_pedigree": "fixed",
    "in_triage": "under_investigation",
}
_CDX_JUSTIFICATION = {
    "component_not_present": "code_not_present",
    "vulnerable_code_not_present": "code_not_present",
    "vulnerable_code_not_in_execute_path": "code_not_reachable",
    "vulnerable_code_cannot_be_controlled_by_adversary": "requires_environment",
    "inline_mitigations_already_exist": "protected_by_mitigating_control",
}
_FROM_CDX_JUSTIFICATION = {
    "code_not_present": "vulnerable_code_not_present",
    "code_not_reachable": "vulnerable_code_not_in_execute_path",
    "requires_configuration": "vulnerable_code_cannot_be_controlled_by_adversary",
    "requires_dependency": "component_not_present",
    "requires_environment": "vulnerable_code_cannot_be_controlled_by_adversary",
    "protected_by_compiler": "inline_mitigations_already_exist",
    "protected_at_runtime": "inline_mitigations_already_exist",
    "protected_at_perimeter": "inline_mitigations_already_exist",
    "protected_by_mitigating_control": "inline_mitigations_already_exist",
}


class InvalidVex(ValueError):
    """A VEX document that cannot be read; the message names the statement and field."""


@dataclass(frozen=True, slots=True)
class Statement:
    vulnerability: str
    aliases: tuple[str, ...]
    products: tuple[str, ...]  # purls
    status: str
    justification: str | None = None
    impact_statement: str | None = None
    action_statement: str | None = None


def to_openvex(statements: list[Statement], *, author: str, timestamp: str, doc_id: str) -> dict[str, Any]:
    out = []
    for s in statements:
        item: dict[str, Any] = {
            "vulnerability": {"name": s.vulnerability, **({"aliases": list(s.aliases)} if s.aliases else {})},
            "products": [{"@id": p, "identifiers": {"purl": p}} for p in s.products],
            "status": s.status,
        }
        if s.justification:
            item["justification"] = s.justification
        if s.impact_statement:
            item["impact_statement"] = s.impact_statement
        if s.status == "affected":
            item["action_statement"] = s.action_statement or "Remediation is being planned."
        out.append(item)
    return {
        "@context": OPENVEX_CONTEXT,
        "@id": doc_id,
        "author": author,
        "timestamp": timestamp,
        "version": 1,
        "tooling": "mamori",
        "statements": out,
    }


def to_cyclonedx(statements: list[Statement], *, timestamp: str, serial: str) -> dict[str, Any]:
    components: dict[str, dict[str, Any]] = {}
    vulns = []
    for s in statements:
        for purl in s.products:
            parsed = parse_purl(purl)
            name, version = (parsed[1], parsed[2]) if parsed else (purl, "")
            components.setdefault(
                purl, {"type": "library", "bom-ref": purl, "name": name, "version": version, "purl": purl}
            )
        analysis: dict[str, Any] = {"state": _CDX_STATE[s.status]}
        if s.justification:
            analysis["justification"] = _CDX_JUSTIFICATION[s.justification]
        detail = s.impact_statement or s.action_statement
        if detail:
            analysis["detail"] = detail
        vulns.append(
            {
                "id": s.vulnerability,
                **(
                    {"references": [{"id": a, "source": {"name": _source_of(a)}} for a in s.aliases]}
                    if s.aliases
                    else {}
                ),
                "analysis": analysis,
                "affects": [{"ref": p} for p in s.products],
            }
        )
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": serial,
        "version": 1,
        "metadata": {"timestamp": timestamp, "tools": {"components": [{"type": "application", "name": "mamori"}]}},
        "components": list(components.values()),
        "vulnerabilities": vulns,
    }


def _source_of(ident: str) -> str:
    return ident.split("-", 1)[0] if "-" in ident else "unknown"


def parse(document: Any) -> list[Statement]:
    """Statements of an OpenVEX or CycloneDX VEX document; raises InvalidVex naming what is wrong."""
    if not isinstance(document, dict):
        raise InvalidVex("a VEX document must be a JSON object")
    if str(document.get("@context", "")).startswith("https://openvex.dev/ns"):
        return _parse_openvex(document)
    if document.get("bomFormat") == "CycloneDX":
        return _parse_cyclonedx(document)
    raise InvalidVex("not an OpenVEX (@context https://openvex.dev/ns/...) or CycloneDX (bomFormat) document")


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidVex(f"{where}: expected a list of strings")
    return tuple(value)


def _parse_openvex(doc: dict[str, Any]) -> list[Statement]:
    raw = doc.get("statements")
    if not isinstance(raw, list):
        raise InvalidVex("statements: expected a list")
    out = []
    for i, st in enumerate(raw):
        where = f"statements[{i}]"
        if not isinstance(st, dict):
            raise InvalidVex(f"{where}: expected an object")
        vuln = st.get("vulnerability")
        if not isinstance(vuln, dict) or not isinstance(vuln.get("name"), str):
            raise InvalidVex(f"{where}.vulnerability.name: required string")
        status = st.get("status")
        if status not in STATUSES:
            raise InvalidVex(f"{where}.status: expected one of {', '.join(STATUSES)}, got {status!r}")
        justification = st.get("justification")
        if justification is not None and justification not in JUSTIFICATIONS:
            raise InvalidVex(f"{where}.justification: unknown justification {justification!r}")
        if status == "not_affected" and not justification and not st.get("impact_statement"):
            raise InvalidVex(f"{where}: not_affected needs a justification or an impact_statement")
        products = []
        for j, p in enumerate(st.get("products") or []):
            purl = (p.get("identifiers") or {}).get("purl") or p.get("@id") if isinstance(p, dict) else None
            if not isinstance(purl, str):
                raise InvalidVex(f"{where}.products[{j}]: needs @id or identifiers.purl")
            products.append(purl)
        out.append(
            Statement(
                vulnerability=vuln["name"],
                aliases=_strings(vuln.get("aliases"), f"{where}.vulnerability.aliases"),
                products=tuple(products),
                status=status,
                justification=justification,
                impact_statement=st.get("impact_statement"),
                action_statement=st.get("action_statement"),
            )
        )
    return out


def _parse_cyclonedx(doc: dict[str, Any]) -> list[Statement]:
    refs = {c.get("bom-ref"): c.get("purl") for c in doc.get("components") or [] if isinstance(c, dict)}
    out = []
    for i, v in enumerate(doc.get("vulnerabilities") or []):
        where = f"vulnerabilities[{i}]"
        if not isinstance(v, dict) or not isinstance(v.get("id"), str):
            raise InvalidVex(f"{where}.id: required string")
        analysis = v.get("analysis") or {}
        state = analysis.get("state")
        if state not in _FROM_CDX_STATE:
            raise InvalidVex(f"{where}.analysis.state: expected one of {', '.join(_FROM_CDX_STATE)}, got {state!r}")
        cdx_just = analysis.get("justification")
        if cdx_just is not None and cdx_just not in _FROM_CDX_JUSTIFICATION:
            raise InvalidVex(f"{where}.analysis.justification: unknown justification {cdx_just!r}")
        status = _FROM_CDX_STATE[state]
        justification = _FROM_CDX_JUSTIFICATION.get(cdx_just or "") or (
            "vulnerable_code_not_present" if state == "false_positive" else None
        )
        products = []
        for j, a in enumerate(v.get("affects") or []):
            ref = a.get("ref") if isinstance(a, dict) else None
            if not isinstance(ref, str):
                raise InvalidVex(f"{where}.affects[{j}].ref: required string")
            products.append(refs.get(ref) or ref)
        aliases = tuple(
            r["id"] for r in v.get("references") or [] if isinstance(r, dict) and isinstance(r.get("id"), str)
        )
        detail = analysis.get("detail")
        out.append(
            Statement(
                vulnerability=v["id"],
                aliases=aliases,
                products=tuple(products),
                status=status,
                justification=justification if status == "not_affected" else None,
                impact_statement=detail if status == "not_affected" else None,
                action_statement=detail if status == "affected" else None,
            )
        )
    return out
