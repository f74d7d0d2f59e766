"""A worker process for the job tests: `python -m tests.core.job_worker_main URL WORKER_ID LEASE MARKER_DIR`.

It registers two test job kinds and runs until no job has been due for two seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from mamori.core import timeline
from mamori.core.config import load_settings
from mamori.core.jobs import JobContext
from mamori.core.worker import Worker
from mamori.wiring import build_runtime


def main() -> None:
    url, worker_id, lease, marker_dir = sys.argv[1], sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
    settings = load_settings(env={}, database_url=url, job_lease_seconds=lease, job_poll_seconds=0.05)
    runtime = build_runtime(settings)

    def record(ctx: JobContext, payload: dict[str, object]) -> None:
        timeline.record(
            ctx.session,
            at=ctx.now,
            kind="note",
            source="test",
            title=f"job {payload['n']}",
            data={"worker": worker_id, "attempt": ctx.attempt},
        )
        time.sleep(float(str(payload.get("sleep", 0))))

    def hang_first_time(ctx: JobContext, payload: dict[str, object]) -> None:
        timeline.record(
            ctx.session,
            at=ctx.now,
            kind="note",
            source="test",
            title="crash-job",
            data={"worker": worker_id, "attempt": ctx.attempt},
        )
        ctx.session.flush()
        if ctx.attempt == 1:
            (marker_dir / f"started-{worker_id}").write_text("1")
            time.sleep(120)  # killed here

    runtime.jobs.register("test.record", record)
    runtime.jobs.register("test.hang_first_time", hang_first_time)
    worker = Worker(runtime, worker_id=worker_id, lease_seconds=lease)
    stop = threading.Event()
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 2.0:
        if worker.run_once(limit=10):
            idle_since = time.monotonic()
        else:
            stop.wait(0.05)


if __name__ == "__main__":
    main()
