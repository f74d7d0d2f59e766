"""Configuration reads only files inside its own directory: no `../`, no absolute path, no symlink out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mamori.core import manifest
from mamori.core.errors import ValidationFailed
from mamori.wiring import kind_registry

FLAGSET = """\
apiVersion: mamori.dev/v1
kind: FlagSet
metadata: {name: web}
spec: {environment: production, file: %s}
"""
SCHEDULE = """\
apiVersion: mamori.dev/v1
kind: Schedule
metadata: {name: imported}
spec:
  timeZone: UTC
  layers:
    - name: cover
      ical: %s
"""
POLICY = """\
apiVersion: mamori.dev/v1
kind: VulnerabilityPolicy
metadata: {name: default}
spec: {advisorySources: [%s]}
"""
FLAGD = {"flags": {"f": {"state": "ENABLED", "variants": {"on": True}, "defaultVariant": "on"}}}
CALENDAR = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """`config/` is what is loaded; `outside/` holds files next to it that config must not reach."""
    (tmp_path / "config").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.flagd.json").write_text(json.dumps(FLAGD))
    (tmp_path / "outside" / "secret.ics").write_text(CALENDAR)
    (tmp_path / "outside" / "osv").mkdir()
    return tmp_path


def _problems(root: Path) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as caught:
        manifest.load(root, kind_registry())
    return [(p.loc, p.msg) for p in caught.value.problems]


@pytest.mark.parametrize(
    ("template", "name", "loc"),
    [
        (FLAGSET, "../outside/secret.flagd.json", "spec.file"),
        (SCHEDULE, "../outside/secret.ics", "spec.layers[0].ical"),
        (POLICY, "../outside/osv", "spec.advisorySources[0]"),
    ],
)
def test_a_path_out_of_the_configuration_directory_is_refused(tree: Path, template: str, name: str, loc: str) -> None:
    (tree / "config" / "doc.yaml").write_text(template % name)
    ((got_loc, msg),) = _problems(tree / "config")
    assert got_loc == loc and "must stay inside the configuration directory" in msg


@pytest.mark.parametrize(("template", "loc"), [(FLAGSET, "spec.file"), (SCHEDULE, "spec.layers[0].ical")])
def test_an_absolute_path_is_refused(tree: Path, template: str, loc: str) -> None:
    target = tree / "outside" / ("secret.flagd.json" if template is FLAGSET else "secret.ics")
    (tree / "config" / "doc.yaml").write_text(template % json.dumps(str(target)))
    ((got_loc, msg),) = _problems(tree / "config")
    assert got_loc == loc and "relative to this document" in msg


def test_a_symlink_leading_out_is_refused(tree: Path) -> None:
    (tree / "config" / "web.flagd.json").symlink_to(tree / "outside" / "secret.flagd.json")
    (tree / "config" / "doc.yaml").write_text(FLAGSET % "web.flagd.json")
    ((loc, msg),) = _problems(tree / "config")
    assert loc == "spec.file" and "leads out of it" in msg


def test_files_in_subfolders_of_the_configuration_directory_are_read(tree: Path) -> None:
    (tree / "config" / "flags").mkdir()
    (tree / "config" / "data").mkdir()
    (tree / "config" / "data" / "web.flagd.json").write_text(json.dumps(FLAGD))
    (tree / "config" / "data" / "cover.ics").write_text(CALENDAR)
    (tree / "config" / "flags" / "doc.yaml").write_text(FLAGSET % "../data/web.flagd.json")
    (tree / "config" / "schedule.yaml").write_text(SCHEDULE % "data/cover.ics")
    bundle = manifest.load(tree / "config", kind_registry())
    assert sorted(d.kind for d in bundle.documents) == ["FlagSet", "Schedule"]
