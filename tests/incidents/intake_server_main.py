"""A Mamori server process for the intake log's crash test: HTTP only (no job worker), so every payload it
accepts stays `accepted` until the test runs a worker itself; the test SIGKILLs it under load.

Run: python -m tests.incidents.intake_server_main DATABASE_URL PORT DATA_DIR
"""

from __future__ import annotations

import sys

import uvicorn

from mamori.core.config import load_settings
from mamori.web.app import create_app
from mamori.wiring import build_runtime


def main() -> None:
    url, port, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    settings = load_settings(
        env={}, data_dir=data, database_url=url, secret_key="test-secret-key-0123456789", allow_private_webhooks=True
    )
    runtime = build_runtime(settings)
    uvicorn.run(create_app(runtime), host="127.0.0.1", port=port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
