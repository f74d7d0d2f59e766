"""`mamori validate` checks GameDay scenarios: each mistake is named by file and field, nothing else passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import manifest
from mamori.core.errors import ValidationFailed
from mamori.gamedays.demo import DEMO_DIR
from mamori.wiring import kind_registry
from tests.support import peers

GOOD = """\
apiVersion: mamori.dev/v1
kind: GameDay
metadata: {name: drill}
spec:
  title: Checkout down
  kind: outage
  services: [checkout]
  participants:
    - {user: gm@x.io, role: game-master}
    - {user: bob@x.io}
  injects:
    - {id: page, at: 1m, alert: {integration: drills, title: Checkout down}}
    - {id: hint, clue: {text: look at the deploy}}
  expectations:
    - {id: ack, after: page, acknowledge: {within: 5m}}
"""


def problems(tmp_path: Path, text: str) -> list[str]:
    (tmp_path / "drill.yaml").write_text(text)
    with pytest.raises(ValidationFailed) as caught:
        manifest.load(tmp_path, kind_registry())
    return [p.render() for p in caught.value.problems]


def test_a_good_scenario_and_the_demo_scenarios_validate(tmp_path: Path) -> None:
    (tmp_path / "drill.yaml").write_text(GOOD)
    bundle = manifest.load(tmp_path, kind_registry())
    assert [d.name for d in bundle.of_kind("GameDay")] == ["drill"]
    demo = manifest.load(DEMO_DIR, kind_registry())
    assert sorted(d.name for d in demo.of_kind("GameDay")) == ["checkout-outage", "vendor-oauth-leak"]


@pytest.mark.parametrize(
    ("change", "where", "says"),
    [
        (("kind: outage", "kind: fire"), "spec.kind", "outage"),
        (("{id: ack, after: page,", "{id: ack, after: nope,"), "spec.expectations[0].after", "no inject 'nope'"),
        (("{id: hint,", "{id: page,"), "spec.injects[1].id", "used twice"),
        (("role: game-master", "role: responder"), "spec.participants", "game-master"),
        (("at: 1m, alert", "alert"), "spec.injects[0]", "needs `at`"),
        (
            ("acknowledge: {within: 5m}", "acknowledge: {within: soon}"),
            "spec.expectations[0].acknowledge.within",
            "duration",
        ),
        (("clue: {text: look at the deploy}", "clue: {text: x}, news: {title: y}"), "spec.injects[1]", "exactly one"),
        (
            ("services: [checkout]", "services: [checkout]\n  schedule: {start: '2026-12-08T10:00:00'}"),
            "spec.schedule.start",
            "offset",
        ),
        (("title: Checkout down\n", "title: Checkout down\n  colour: red\n"), "spec.colour", "unknown field"),
        (
            ("clue: {text: look at the deploy}", "news: {title: leak, link: 'javascript:alert(1)'}"),
            "spec.injects[1].news.link",
            "http(s) URL",
        ),
    ],
)
def test_a_bad_scenario_names_the_file_and_the_field(
    tmp_path: Path, change: tuple[str, str], where: str, says: str
) -> None:
    assert change[0] in GOOD
    found = problems(tmp_path, GOOD.replace(*change, 1))
    hits = [p for p in found if f"{where}:" in p and says in p]
    assert hits, found
    assert all(str(tmp_path / "drill.yaml") in p for p in hits)


def test_a_chaos_experiment_is_read_into_the_scenario_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    fixtures = peers("gameday", "chaostoolkit+chaostoolkit", "tests", "fixtures")
    shutil.copy(fixtures / "check-file-exists.json", tmp_path / "experiment.json")
    text = GOOD.replace(
        "  expectations:", "    - {id: fault, at: 2m, chaos: {experiment: experiment.json}}\n  expectations:"
    )
    (tmp_path / "drill.yaml").write_text(text)
    (doc,) = manifest.load(tmp_path, kind_registry()).of_kind("GameDay")
    assert doc.model.injects[2].chaos.document["title"] == "Check file is there"
    shutil.copy(fixtures / "invalid-plan.json", tmp_path / "experiment.json")
    found = problems(tmp_path, text)
    assert any("spec.injects[2].chaos.experiment" in p and "method" in p for p in found), found
    (tmp_path / "experiment.json").unlink()
    assert any("no such file" in p for p in problems(tmp_path, text))


def test_mamori_validate_names_the_file_and_field_of_a_bad_scenario(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "drill.yaml").write_text(GOOD.replace("{id: ack, after: page,", "{id: ack, after: nope,"))
    failed = runner.invoke(app, ["validate", "--config", str(tmp_path)])
    assert failed.exit_code == 2
    assert "drill.yaml: document 1 (GameDay 'drill'): spec.expectations[0].after: no inject 'nope'" in failed.output
    (tmp_path / "drill.yaml").write_text(GOOD)
    assert runner.invoke(app, ["validate", "--config", str(tmp_path)]).exit_code == 0
