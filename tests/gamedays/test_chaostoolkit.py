"""A real Chaos Toolkit run (the `chaos` command on the peers' experiments): its journal joins the drill's
timeline with one line per activity, and the experiment is a valid inject of a scenario."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mamori.core.audit import Actor
from mamori.core.runtime import Runtime
from mamori.gamedays import chaos
from mamori.gamedays.service import drills, entries
from tests.gamedays.support import SCENARIO, apply
from tests.support import peers

pytestmark = pytest.mark.slow
FIXTURES = ("gameday", "chaostoolkit+chaostoolkit", "tests", "fixtures")


def run_chaos(tmp_path: Path, experiment: str) -> dict[str, object]:
    """Run one peer experiment with the real `chaos` command in a scratch folder; returns its journal."""
    chaos_bin = Path(sys.executable).parent / "chaos"
    if not chaos_bin.exists():
        pytest.skip("the chaostoolkit package is not installed (it is in the dev extra)")
    work = tmp_path / "run"
    (work / "tests").mkdir(parents=True)
    (work / "tests" / "conftest.py").write_text("")  # what the peer experiments probe for
    shutil.copy(peers(*FIXTURES) / experiment, work / experiment)
    done = subprocess.run(
        [
            str(chaos_bin),
            "--no-version-check",
            "--settings",
            str(work / "settings.yaml"),
            "run",
            "--journal-path",
            "journal.json",
            "--rollback-strategy",
            "always",
            experiment,
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (work / "journal.json").exists(), done.stdout + done.stderr
    journal: dict[str, object] = json.loads((work / "journal.json").read_text())
    return journal


@pytest.mark.parametrize("experiment", ["check-file-exists.json", "override-rollbacks-runtime-strategy.json"])
def test_a_real_journal_puts_every_activity_on_the_timeline(runtime: Runtime, tmp_path: Path, experiment: str) -> None:
    journal = run_chaos(tmp_path, experiment)
    runs, rollbacks = journal["run"], journal["rollbacks"]
    assert isinstance(runs, list) and isinstance(rollbacks, list) and runs
    apply(runtime, tmp_path / "c", SCENARIO)
    with runtime.sessions.begin() as s:
        drill = drills.create(s, runtime, scenario="checkout", actor=Actor("gm", "api"), now=runtime.now())
        added = entries.import_journal(s, drill=drill, text=json.dumps(journal), actor="gm")
        texts = [e.text for e in entries.entries_of(s, drill.id) if e.kind == "chaos_activity"]
    hypotheses = sum(1 for phase in ("before", "after") if journal["steady_states"].get(phase))  # type: ignore[attr-defined]
    assert added == len(texts) == 2 + hypotheses + len(runs) + len(rollbacks)
    statuses = [r["status"] for r in runs]  # type: ignore[index]
    assert [t.rsplit(": ", 1)[1] for t in texts if t.startswith("run ")] == statuses
    assert texts[-1].startswith(f"chaos experiment {journal['status']}")
    assert len(chaos.parse_journal(journal)) == added
