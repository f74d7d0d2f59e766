"""A real Mamori worker process for the escalation tests.

`python -m tests.incidents.escalation_worker_main URL WORKER_ID SECONDS SENDS_FILE`

It builds the production runtime (`mamori.wiring.build_runtime`) with one change: the email notifier is
a recording fake that appends one JSON line per send to SENDS_FILE, so the test can count the pages
that really went out (a send rolled back with its job would still show up there). It runs jobs for
SECONDS of wall-clock time, then exits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from mamori.core.config import load_settings
from mamori.core.worker import Worker
from mamori.integrations.notify import Message, Notifiers
from mamori.wiring import build_runtime


@dataclass
class FileNotifier:
    """A `Notifier` writing each send as a JSON line; O_APPEND keeps lines from two processes whole."""

    path: Path
    worker: str

    def send(self, message: Message, target: str) -> str:
        line = json.dumps(
            {"worker": self.worker, "group": message.data["group_id"], "target": target, "at": time.time()}
        )
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (line + "\n").encode())
        finally:
            os.close(fd)
        return f"file:{self.worker}"


def main() -> None:
    url, worker_id, seconds, sends = sys.argv[1], sys.argv[2], float(sys.argv[3]), Path(sys.argv[4])
    settings = load_settings(
        env={},
        database_url=url,
        secret_key="test-secret-key-0123456789",
        job_poll_seconds=0.05,
        job_lease_seconds=30,
    )
    runtime = build_runtime(settings, states=[Notifiers({"email": FileNotifier(sends, worker_id)})])
    worker = Worker(runtime, worker_id=worker_id)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not worker.run_once(limit=5):
            time.sleep(0.05)
    runtime.engine.dispose()


if __name__ == "__main__":
    main()
