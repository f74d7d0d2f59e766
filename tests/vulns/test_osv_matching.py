"""OSV affected-version evaluation, record loading with clear errors, alias merging."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mamori.vulns import osv, sources
from mamori.vulns.components import Component
from mamori.vulns.matcher import AdvisoryIndex
from tests.support import peers


def record(
    rid: str,
    *,
    eco: str = "PyPI",
    name: str = "pkg",
    ranges: list[Any] | None = None,
    versions: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    affected: dict[str, Any] = {"package": {"ecosystem": eco, "name": name}, "ranges": ranges or []}
    if versions is not None:
        affected["versions"] = versions
    return {"id": rid, "modified": "2026-01-01T00:00:00Z", "affected": [affected], **extra}


def affects(rec: dict[str, Any], version: str) -> bool:
    return osv.affects(osv.parse_record(rec).affected[0], version)


def ecosystem_range(*events: dict[str, str], kind: str = "ECOSYSTEM") -> list[dict[str, Any]]:
    return [{"type": kind, "events": list(events)}]


def test_introduced_and_fixed_use_the_ecosystem_order_not_text() -> None:
    rec = record("X-1", ranges=ecosystem_range({"introduced": "1.0a1"}, {"fixed": "1.10"}))
    assert affects(rec, "1.9") and affects(rec, "1.0") and affects(rec, "1.0b2")
    assert not affects(rec, "1.10") and not affects(rec, "0.9") and not affects(rec, "1.10.1")


def test_last_affected_includes_that_version_only() -> None:
    rec = record("X-2", eco="npm", ranges=ecosystem_range({"introduced": "0"}, {"last_affected": "2.3.4"}))
    assert affects(rec, "2.3.4") and affects(rec, "0.0.1")
    assert not affects(rec, "2.3.5")


def test_events_are_sorted_before_evaluation() -> None:
    rec = record(
        "X-3",
        eco="Maven",
        name="g:a",
        ranges=ecosystem_range({"fixed": "2.0"}, {"introduced": "1.5"}, {"fixed": "1.2"}, {"introduced": "1.0"}),
    )
    assert affects(rec, "1.1") and affects(rec, "1.7")
    assert not affects(rec, "1.3") and not affects(rec, "2.0") and not affects(rec, "0.9")


def test_limit_caps_the_range() -> None:
    rec = record(
        "X-4", eco="Go", name="m", ranges=ecosystem_range({"introduced": "0"}, {"limit": "1.5.0"}, kind="SEMVER")
    )
    assert affects(rec, "1.4.9") and not affects(rec, "1.5.0")


def test_git_ranges_fall_back_to_versions_list() -> None:
    rec = record(
        "X-5",
        ranges=[{"type": "GIT", "repo": "https://x", "events": [{"introduced": "abc"}, {"fixed": "def"}]}],
        versions=["1.2.0"],
    )
    assert affects(rec, "1.2.0") and not affects(rec, "1.3.0")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"modified": "2026-01-01T00:00:00Z"}, "missing 'id'"),
        ({"id": "B-1", "modified": "yesterday"}, "modified: not an RFC 3339"),
        (record("B-2", ranges=ecosystem_range({"fixed": "1.0"})), "needs at least one 'introduced'"),
        (record("B-3", ranges=[{"type": "SEMVER", "events": [{"broken": "1"}]}]), "events[0]: unknown event"),
    ],
)
def test_invalid_records_name_what_is_wrong(data: dict[str, Any], message: str) -> None:
    with pytest.raises(osv.InvalidRecord, match=message.replace("[", r"\[").replace("]", r"\]")):
        osv.parse_record(data, source="f.json")


def test_directory_load_keeps_valid_records_and_reports_broken_ones(tmp_path: Path) -> None:
    (tmp_path / "good.json").write_text(json.dumps(record("G-1")))
    (tmp_path / "bad.json").write_text("{nope")
    (tmp_path / "gone.json").write_text(json.dumps(record("W-1", withdrawn="2026-02-01T00:00:00Z")))
    with zipfile.ZipFile(tmp_path / "PyPI.zip", "w") as z:
        z.writestr("Z-1.json", json.dumps(record("Z-1")))
    result = sources.load(tmp_path)
    assert sorted(a.id for a in result.advisories) == ["G-1", "Z-1"]
    assert result.withdrawn == ["W-1"]
    assert len(result.errors) == 1 and "bad.json" in result.errors[0]


def test_incremental_load_skips_records_not_modified_since(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(record("A-1")))
    (tmp_path / "b.json").write_text(json.dumps({**record("B-1"), "modified": "2026-03-01T00:00:00Z"}))
    seen = datetime(2026, 2, 1, tzinfo=UTC)
    result = sources.load(tmp_path, known={"A-1": seen, "B-1": seen})
    assert [a.id for a in result.advisories] == ["B-1"] and result.unchanged == 1


def test_aliases_of_several_databases_merge_into_one_finding() -> None:
    rng = ecosystem_range({"introduced": "0"}, {"fixed": "2.0"})
    a = osv.parse_record(record("PYSEC-1", name="Some_Pkg", ranges=rng, aliases=["CVE-1"]))
    b = osv.parse_record(
        record("GHSA-aaaa", name="some-pkg", ranges=rng, aliases=["CVE-1"], database_specific={"severity": "HIGH"})
    )
    findings = AdvisoryIndex([a, b]).match(Component("PyPI", "some.pkg", "1.0", "requirements.txt"))
    assert len(findings) == 1
    assert findings[0].advisory_id == "GHSA-aaaa" and findings[0].aliases == ("CVE-1", "PYSEC-1")
    assert findings[0].severity.label == "HIGH" and findings[0].fixed_versions == ("2.0",)


def test_withdrawn_records_never_match() -> None:
    rec = osv.parse_record(record("W-2", ranges=ecosystem_range({"introduced": "0"}), withdrawn="2026-02-01T00:00:00Z"))
    assert AdvisoryIndex([rec]).match(Component("PyPI", "pkg", "1.0", "r.txt")) == []


def test_every_peer_sample_advisory_loads() -> None:
    result = sources.load(peers("vulns", "advisories-sample"))
    assert not result.errors
    assert len(result.advisories) + len(result.withdrawn) == 600
    assert len(result.withdrawn) >= 10
