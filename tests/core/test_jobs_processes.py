"""Durable jobs with real worker processes: exactly once with two workers, and recovery after SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from mamori.core import jobs
from mamori.core.clock import SystemClock
from mamori.core.models import Job, TimelineEvent
from mamori.core.runtime import Runtime
from tests.support import REPO

pytestmark = pytest.mark.slow


def spawn_worker(url: str, worker_id: str, lease: float, marker_dir: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.core.job_worker_main", url, worker_id, str(lease), str(marker_dir)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def wall_clock_runtime(runtime: Runtime) -> Runtime:
    """Worker processes use the system clock, so jobs are enqueued as due by the real time."""
    runtime.clock = SystemClock()
    return runtime


def test_two_worker_processes_run_every_job_exactly_once(runtime: Runtime, tmp_path: Path) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("several workers at once is the PostgreSQL set-up")
    rt = wall_clock_runtime(runtime)
    with rt.sessions.begin() as session:
        for n in range(120):
            jobs.enqueue(session, kind="test.record", now=rt.now(), payload={"n": n, "sleep": 0.01})
    url = rt.engine.url.render_as_string(hide_password=False)
    workers = [spawn_worker(url, f"w{i}", 30, tmp_path) for i in range(2)]
    for proc in workers:
        assert proc.wait(timeout=120) == 0
    with rt.sessions() as session:
        titles = Counter(e.title for e in session.scalars(select(TimelineEvent)))
        statuses = Counter(j.status for j in session.scalars(select(Job).where(Job.kind == "test.record")))
        by_worker = Counter(e.data["worker"] for e in session.scalars(select(TimelineEvent)))
    assert titles == Counter({f"job {n}": 1 for n in range(120)})
    assert statuses == Counter({"succeeded": 120})
    assert set(by_worker) == {"w0", "w1"}, "both workers should have taken part"


def test_a_job_whose_worker_is_killed_runs_again_once(runtime: Runtime, tmp_path: Path) -> None:
    rt = wall_clock_runtime(runtime)
    with rt.sessions.begin() as session:
        job_id = jobs.enqueue(session, kind="test.hang_first_time", now=rt.now()).id
    url = rt.engine.url.render_as_string(hide_password=False)
    first = spawn_worker(url, "doomed", 1.5, tmp_path)
    deadline = time.monotonic() + 60
    while not (tmp_path / "started-doomed").exists():
        assert time.monotonic() < deadline, "the first worker never started the job"
        assert first.poll() is None, "the first worker exited early"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    time.sleep(1.6)  # let the lease run out: nobody extends it any more
    second = spawn_worker(url, "rescuer", 1.5, tmp_path)
    assert second.wait(timeout=60) == 0
    with rt.sessions() as session:
        job = session.get(Job, job_id)
        events = session.scalars(select(TimelineEvent).where(TimelineEvent.title == "crash-job")).all()
    assert job is not None and job.status == "succeeded" and job.attempts == 2
    assert [(e.data["worker"], e.data["attempt"]) for e in events] == [("rescuer", 2)]
