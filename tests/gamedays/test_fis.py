"""AWS FIS: the peers' experiment templates are accepted as injects (SSM documents are not templates), and
state-change events join the drill's timeline once each, or not at all when one is malformed."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.core import manifest
from mamori.core.runtime import Runtime
from mamori.gamedays import fis
from mamori.wiring import kind_registry
from tests.gamedays.support import apply
from tests.gamedays.test_kinds import GOOD
from tests.support import peers

LIBRARY = ("gameday", "aws-samples+fis-template-library")


def templates() -> list[Path]:
    return sorted(peers(*LIBRARY).rglob("*template*.json"))


def test_every_fis_template_of_the_library_passes_and_ssm_documents_do_not() -> None:
    found = templates()
    ssm = [p for p in found if "-ssm-" in p.name]
    assert found and ssm
    for path in found:
        data = json.loads(path.read_text())
        if path in ssm:
            with pytest.raises(ValueError, match="actions is required"):
                fis.check_template(data)
        else:
            fis.check_template(data)


def test_a_template_with_a_dangling_target_names_the_field() -> None:
    data = json.loads(
        (peers(*LIBRARY) / "ec2-instances-terminate" / "ec2-instances-terminate-template.json").read_text()
    )
    broken = copy.deepcopy(data)
    broken["targets"] = {}
    with pytest.raises(ValueError, match=r"actions\.ec2-instances-terminate\.targets\.Instances: no target"):
        fis.check_template(broken)
    broken = copy.deepcopy(data)
    broken["stopConditions"] = []
    with pytest.raises(ValueError, match="stopConditions"):
        fis.check_template(broken)


def test_a_scenario_reads_its_fis_template(tmp_path: Path) -> None:
    source = peers(*LIBRARY) / "ec2-instances-terminate" / "ec2-instances-terminate-template.json"
    shutil.copy(source, tmp_path / "fis.json")
    text = GOOD.replace("  expectations:", "    - {id: fault, at: 2m, fis: {template: fis.json}}\n  expectations:")
    (tmp_path / "drill.yaml").write_text(text)
    (doc,) = manifest.load(tmp_path, kind_registry()).of_kind("GameDay")
    assert doc.model.injects[2].fis.document["description"] == "ec2-instance-terminate"


def event(status: str, *, at: str = "2026-11-28T12:05:00Z", event_id: str | None = None) -> dict[str, Any]:
    return {
        "version": "0",
        "id": event_id or f"ev-{status}",
        "detail-type": "FIS Experiment State Change",
        "source": "aws.fis",
        "time": at,
        "detail": {
            "experiment-id": "EXPabc123",
            "experiment-template-id": "EXTdef456",
            "new-state": {"status": status, "reason": "Experiment is running." if status == "running" else ""},
            "old-state": {"status": "initiating"},
        },
    }


def test_fis_events_join_the_timeline_once_and_a_bad_batch_stores_nothing(
    client: TestClient, runtime: Runtime, auth_headers: dict[str, str], tmp_path: Path
) -> None:
    apply(runtime, tmp_path / "c")
    drill_id = client.post("/api/v1/gamedays/drills", json={"scenario": "checkout"}, headers=auth_headers).json()["id"]
    url = f"/api/v1/gamedays/drills/{drill_id}/fis-events"
    batch = json.dumps([event("running"), event("completed", at="2026-11-28T12:09:00Z")])
    assert client.post(url, content=batch, headers=auth_headers).json() == {"added": 2}
    assert client.post(url, content=batch, headers=auth_headers).json() == {"added": 0}
    bad = json.dumps([event("stopped"), {**event("failed"), "source": "aws.ec2"}])
    refused = client.post(url, content=bad, headers=auth_headers)
    assert refused.status_code == 400 and "events[1]" in refused.text
    timeline = client.get(f"/api/v1/gamedays/drills/{drill_id}/timeline", headers=auth_headers).json()
    assert [e["text"] for e in timeline if e["data"].get("source") == "aws-fis"] == [
        "AWS FIS experiment EXPabc123 running: Experiment is running.",
        "AWS FIS experiment EXPabc123 completed",
    ]
