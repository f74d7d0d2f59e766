"""A Wheel of Misfortune incident list becomes tabletop scenarios that `mamori validate` accepts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core import manifest
from mamori.gamedays import wheel
from mamori.wiring import kind_registry
from tests.support import peers

runner = CliRunner()
SAMPLE = ("gameday", "dastergon+wheel-of-misfortune", "incidents", "general_incidents.json.sample")


def test_the_peer_sample_becomes_one_valid_tabletop_per_incident(tmp_path: Path) -> None:
    sample = peers(*SAMPLE)
    items = json.loads(sample.read_text(encoding="utf-8-sig"))
    out = tmp_path / "config" / "wheel.yaml"
    out.parent.mkdir()
    args = [
        "gamedays",
        "from-wheel",
        str(sample),
        "--game-master",
        "gm@x.io",
        "--responder",
        "bob@x.io",
        "--out",
        str(out),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    docs = manifest.load(out.parent, kind_registry()).of_kind("GameDay")
    assert len(docs) == len(items)
    by_id = {d.labels["wheel-id"]: d.model for d in docs}
    for item in items:
        spec = by_id[item["ID"]]
        assert spec.kind == "tabletop" and spec.title == item["title"]
        assert spec.injects[0].clue.text.startswith(item["scenario"])
    with_story = [item for item in items if "inkstory" in item]
    assert with_story and all("interactive story" in by_id[i["ID"]].injects[0].clue.text for i in with_story)


def test_a_bad_list_names_the_entry_and_field() -> None:
    who = wheel.Wheel(game_master="gm@x.io", responders=("bob@x.io",))
    with pytest.raises(ValueError, match=r"\[1\]\.scenario is required"):
        wheel.to_documents([{"ID": "1", "scenario": "x"}, {"ID": "2"}], who)
    with pytest.raises(ValueError, match=r"\[1\]\.ID '1' is used twice"):
        wheel.to_documents([{"ID": "1", "scenario": "x"}, {"ID": "1", "scenario": "y"}], who)


def test_the_cli_says_when_the_file_is_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    result = runner.invoke(
        app, ["gamedays", "from-wheel", str(bad), "--game-master", "gm@x.io", "--responder", "b@x.io"]
    )
    assert result.exit_code != 0 and "not JSON: line 1" in result.output
