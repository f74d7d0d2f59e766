"""Worker processes that are SIGKILLed between a page's send and the commit of its job.

`python -m tests.incidents.notify_crash_worker_main URL SMTP_PORT HTTP_PORT STATE_DIR`

A supervisor imports Mamori once, then forks one worker process at a time (a fresh interpreter per crash
would spend seconds importing). Each worker builds the production runtime (`mamori.wiring.build_runtime`)
with the real email, Slack and webhook notifiers, pointed at the test's SMTP server and HTTP receiver on
127.0.0.1. Every notifier is wrapped so that the first time a delivery (an idempotency key) has been
sent, the worker writes the key to STATE_DIR/crashed and kills itself with SIGKILL: the send went out,
the job's transaction never commits, and after the lease runs out the next worker runs the job again.
A worker that finds no job for IDLE_SECONDS exits normally; the supervisor then writes how many workers
were killed to STATE_DIR/kills and exits.
"""

from __future__ import annotations

import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from mamori.core.config import load_settings
from mamori.core.worker import Worker
from mamori.integrations.notify import Message, Notifier, Notifiers
from mamori.wiring import build_runtime

LEASE_SECONDS = 1.0
IDLE_SECONDS = 2.5 * LEASE_SECONDS
MAX_WORKERS = 200


@dataclass
class CrashAfterFirstSend:
    """A `Notifier` around the real one: after the first successful send of each key, SIGKILL this process."""

    inner: Notifier
    crashed: Path

    def send(self, message: Message, target: str) -> str:
        receipt = self.inner.send(message, target)
        key = getattr(message, "idempotency_key", None) or f"no-key:{target}:{message.title}"
        seen = self.crashed.read_text().splitlines() if self.crashed.exists() else []
        if key not in seen:
            fd = os.open(self.crashed, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, (key + "\n").encode())
            finally:
                os.close(fd)
            os.kill(os.getpid(), signal.SIGKILL)
        return receipt


def work(url: str, smtp_port: int, http_port: int, state: Path) -> None:
    settings = load_settings(
        env={},
        database_url=url,
        secret_key="test-secret-key-0123456789",
        job_poll_seconds=0.05,
        job_lease_seconds=LEASE_SECONDS,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="pager@mamori.test",
        slack_token="xoxb-test",
        slack_api_url=f"http://127.0.0.1:{http_port}/api",
        allow_private_webhooks=True,
    )
    runtime = build_runtime(settings)
    real = runtime.state(Notifiers)
    runtime.states.put(
        Notifiers({c: CrashAfterFirstSend(n, state / "crashed") for c, n in real.by_channel.items()}, real.missing)
    )
    worker = Worker(runtime, worker_id=f"w{os.getpid()}")
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < IDLE_SECONDS:
        if worker.run_once(limit=5):
            idle_since = time.monotonic()
        else:
            time.sleep(0.05)
    runtime.engine.dispose()


def main() -> None:
    url, smtp_port, http_port, state = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    kills = 0
    for _ in range(MAX_WORKERS):
        pid = os.fork()
        if pid == 0:
            try:
                work(url, smtp_port, http_port, state)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL:
            kills += 1
            continue
        (state / "kills").write_text(str(kills))
        sys.exit(os.waitstatus_to_exitcode(status))
    sys.exit(f"still crashing after {MAX_WORKERS} workers")


if __name__ == "__main__":
    main()
