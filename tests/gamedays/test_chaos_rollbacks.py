"""A Chaos Toolkit experiment of our own, run for real (`chaos run`) against an HTTP service this test starts on
127.0.0.1: a steady-state probe, an action that breaks the service, and rollbacks. Its real journal joins the
drill's timeline; the abort switch runs the rollbacks with the Chaos Toolkit's library, and the service heals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Response

from mamori.core.audit import Actor
from mamori.core.clock import FixedClock
from mamori.core.runtime import Runtime
from mamori.core.worker import Worker
from mamori.gamedays.service import drills, entries
from tests.conftest import RuntimeFactory
from tests.gamedays.support import SCENARIO, apply
from tests.support import serving

pytestmark = pytest.mark.slow
GM = Actor("alice@example.com", "api")


def checkout_service() -> tuple[FastAPI, list[str]]:
    """A stand-in checkout service: /health answers 200 until /break, 503 until /heal; `calls` logs each request."""
    app, state, calls = FastAPI(), {"broken": False}, []

    @app.get("/health")
    def health() -> Response:
        calls.append("GET /health")
        return Response("down" if state["broken"] else "ok", status_code=503 if state["broken"] else 200)

    @app.post("/break")
    def break_it() -> dict[str, bool]:
        calls.append("POST /break")
        state["broken"] = True
        return state

    @app.post("/heal")
    def heal() -> dict[str, bool]:
        calls.append("POST /heal")
        state["broken"] = False
        return state

    return app, calls


def experiment(base: str) -> dict[str, object]:
    def http(name: str, kind: str, path: str, method: str = "GET") -> dict[str, object]:
        return {"type": kind, "name": name, "provider": {"type": "http", "url": base + path, "method": method}}

    return {
        "version": "1.0.0",
        "title": "Checkout survives losing its payment dependency",
        "description": "Break checkout; the health probe must notice; the rollback heals it.",
        "steady-state-hypothesis": {
            "title": "checkout answers",
            "probes": [{**http("checkout-healthy", "probe", "/health"), "tolerance": 200}],
        },
        "method": [http("break-checkout", "action", "/break", "POST"), http("look-at-health", "probe", "/health")],
        "rollbacks": [
            http("heal-checkout", "action", "/heal", "POST"),
            {"type": "action", "name": "restart-pods", "provider": {"type": "process", "path": "true"}},
        ],
    }


def chaos_run(work: Path, name: str) -> dict[str, object]:
    chaos_bin = Path(sys.executable).parent / "chaos"
    if not chaos_bin.exists():
        pytest.fail("the chaostoolkit package is in the dev extra: `make install` installs the chaos command")
    options = ["--no-version-check", "--settings", str(work / "settings.yaml")]
    done = subprocess.run(
        [str(chaos_bin), *options, "run", "--journal-path", "journal.json", "--rollback-strategy", "never", name],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (work / "journal.json").exists(), done.stdout + done.stderr
    journal: dict[str, object] = json.loads((work / "journal.json").read_text())
    return journal


def _drill_with_experiment(runtime: Runtime, clock: FixedClock, tmp_path: Path, base: str) -> tuple[Path, str]:
    """The checkout drill with the experiment against `base` as its chaos inject, started and past the inject."""
    root = tmp_path / "c"
    root.mkdir()
    (root / "experiment.json").write_text(json.dumps(experiment(base)))
    scenario = SCENARIO.replace(
        "  expectations:", "    - {id: fault, at: 2m, chaos: {experiment: experiment.json}}\n  expectations:"
    )
    apply(runtime, root, scenario)
    with runtime.sessions.begin() as s:
        drill_id = drills.create(s, runtime, scenario="checkout", actor=GM, now=runtime.now()).id
    clock.advance(minutes=2)
    Worker(runtime).run_until_idle()
    return root, drill_id


def test_a_real_experiment_journal_joins_the_drill_and_the_abort_switch_runs_its_rollbacks(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    app, calls = checkout_service()
    runtime = make_runtime(allow_private_webhooks=True)  # the service is on 127.0.0.1; the guard stays on
    with serving(app) as base:
        root, drill_id = _drill_with_experiment(runtime, clock, tmp_path, base)

        # the game master runs the experiment (rollbacks held back: the fault stays in place during the drill)
        journal = chaos_run(root, "experiment.json")
        assert journal["deviated"] is True and journal["rollbacks"] == []
        assert httpx.get(base + "/health").status_code == 503
        with runtime.sessions.begin() as s:
            drill = drills.get(s, drill_id)
            added = entries.import_journal(s, drill=drill, text=json.dumps(journal), actor=GM.name)
        with runtime.sessions() as s:
            lines = [e.text for e in entries.entries_of(s, drill_id) if e.kind == "chaos_activity"]
        assert added == len(lines) == 6
        assert "run action break-checkout: succeeded" in lines and "steady state after the method: not met" in lines
        # chaostoolkit 1.19 ends a deviated run "completed" with deviated true
        assert journal["status"] == "completed"
        assert lines[-1] == "chaos experiment completed (steady state deviated): " + str(experiment(base)["title"])

        with runtime.sessions.begin() as s:
            drills.abort(s, runtime, drill_id=drill_id, reason="the real checkout paged", actor=GM, now=runtime.now())
        Worker(runtime).run_until_idle()
        assert calls[-1] == "POST /heal" and calls.count("POST /heal") == 1
        assert httpx.get(base + "/health").status_code == 200
        with runtime.sessions() as s:
            timeline = entries.entries_of(s, drill_id)
        ran = [e.text for e in timeline if e.kind == "chaos_activity" and e.data.get("abort")]
        assert ran == ["rollback action heal-checkout: succeeded (run by the abort switch)"]
        notes = [e.text for e in timeline if e.data.get("undo")]
        assert notes == ["rollback restart-pods: a process provider is not run by Mamori; run it by hand"]
        Worker(runtime).run_until_idle()  # nothing runs twice
        assert calls.count("POST /heal") == 1


def test_without_private_addresses_allowed_the_rollback_is_refused_and_named(
    make_runtime: RuntimeFactory, clock: FixedClock, tmp_path: Path
) -> None:
    app, calls = checkout_service()
    runtime = make_runtime(allow_private_webhooks=False)
    with serving(app) as base:
        _root, drill_id = _drill_with_experiment(runtime, clock, tmp_path, base)
        with runtime.sessions.begin() as s:
            drills.abort(s, runtime, drill_id=drill_id, reason="stop", actor=GM, now=runtime.now())
        Worker(runtime).run_until_idle()
    assert "POST /heal" not in calls
    with runtime.sessions() as s:
        notes = [e.text for e in entries.entries_of(s, drill_id) if e.data.get("undo")]
    assert notes[0].startswith("rollback heal-checkout: not run: webhook host 127.0.0.1 resolves to a non-public")
