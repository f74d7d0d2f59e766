"""Writing a decision back to Security Hub on request: the `BatchUpdateFindings` request (ASFF sources) or
`BatchUpdateFindingsV2` (OCSF sources) for a finding's Security Hub records, signed and sent by a job,
each attempt in the delivery log and the finding's history."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy.orm import Session

from mamori.core.errors import InvalidInput, NotFound, Unavailable
from mamori.core.jobs import Payload
from mamori.findings.models import FindingHistory, FindingRow, FindingSource
from mamori.findings.sigv4 import Credentials, sign

WRITE_BACK_JOB = "findings.write_back"
WORKFLOW = ("NEW", "NOTIFIED", "SUPPRESSED", "RESOLVED")
OCSF_STATUS_IDS = {"NEW": 1, "NOTIFIED": 2, "SUPPRESSED": 3, "RESOLVED": 4}
FOR_STATE = {
    "new": "NEW",
    "under_investigation": "NOTIFIED",
    "affected": "NOTIFIED",
    "not_affected": "SUPPRESSED",
    "false_positive": "SUPPRESSED",
    "risk_accepted": "SUPPRESSED",
    "fixed": "RESOLVED",
}
"""The Security Hub workflow status that says the same as a triage state."""


class WriteBackPayload(Payload):
    finding_id: str
    status: str
    note: str
    actor: str


def _hub_sources(f: FindingRow) -> list[FindingSource]:
    return [s for s in f.sources if s.format == "asff" or (s.format == "ocsf" and "securityhub" in s.tool)]


def requests_for(f: FindingRow, *, status: str, note: str, actor: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(region, path, body) of the requests that set `status` on every Security Hub record of the finding."""
    if status not in WORKFLOW:
        raise InvalidInput(f"status must be one of {', '.join(WORKFLOW)}, got {status!r}")
    by_region: dict[tuple[str, str], list[FindingSource]] = {}
    for s in _hub_sources(f):
        kind = "v2" if s.format == "ocsf" else "v1"
        by_region.setdefault((f.region or "us-east-1", kind), []).append(s)
    out: list[tuple[str, str, dict[str, Any]]] = []
    for (region, kind), sources in sorted(by_region.items()):
        if kind == "v1":
            ids = [{"Id": str(s.raw.get("Id", s.uid)), "ProductArn": str(s.raw.get("ProductArn", ""))} for s in sources]
            body = {
                "FindingIdentifiers": ids,
                "Workflow": {"Status": status},
                "Note": {"Text": note[:512], "UpdatedBy": actor[:512]},
            }
            out.append((region, "/findings/batchupdate", body))
        else:
            ids = [
                {
                    "CloudAccountUid": f.account,
                    "FindingInfoUid": str((s.raw.get("finding_info") or {}).get("uid", "")),
                    "MetadataProductUid": str(((s.raw.get("metadata") or {}).get("product") or {}).get("uid", "")),
                }
                for s in sources
            ]
            out.append(
                (
                    region,
                    "/findingsv2/batchupdatev2",
                    {"FindingIdentifiers": ids, "StatusId": OCSF_STATUS_IDS[status], "Comment": note[:512]},
                )
            )
    return out


def plan(session: Session, *, finding_id: str, status: str | None) -> tuple[FindingRow, str]:
    f = session.get(FindingRow, finding_id)
    if f is None:
        raise NotFound(f"no security finding {finding_id!r}")
    chosen = status or FOR_STATE.get(f.state, "NOTIFIED")
    if not _hub_sources(f):
        raise InvalidInput(
            f"finding {finding_id} has no Security Hub record to write back to (tools: {', '.join(f.tools or [])})"
        )
    return f, chosen


def send(
    session: Session, client: httpx.Client, *, payload: WriteBackPayload, credentials: Credentials, now: datetime
) -> list[dict[str, Any]]:
    """Send the requests; returns each answer. Unprocessed findings are an error naming them."""
    f, status = plan(session, finding_id=payload.finding_id, status=payload.status)
    answers = []
    for region, path, body in requests_for(f, status=status, note=payload.note, actor=payload.actor):
        url = f"https://securityhub.{region}.amazonaws.com{path}"
        raw = json.dumps(body).encode()
        headers = sign(
            method="PATCH",
            url=url,
            headers={"Content-Type": "application/json"},
            body=raw,
            credentials=credentials,
            region=region,
            service="securityhub",
            now=now,
        )
        response = client.patch(url, content=raw, headers=headers)
        if not response.is_success:
            raise Unavailable(f"Security Hub {region}{path}: HTTP {response.status_code}: {response.text[:200]}")
        answer = response.json()
        if answer.get("UnprocessedFindings"):
            raise Unavailable(f"Security Hub did not update {json.dumps(answer['UnprocessedFindings'])[:300]}")
        answers.append(answer)
    session.add(
        FindingHistory(
            finding=f,
            at=now,
            actor=payload.actor,
            event="written_back",
            changes={"securityhub.workflow": [None, status]},
            note=payload.note,
        )
    )
    return answers
