"""An API client process for the concurrency tests: `python -m tests.flags.flag_writer_main URL TOKEN ENV PREFIX N DIR`.

It builds its own Mamori app on the database at URL (one replica of the API), says it is ready by writing
`DIR/ready-PREFIX`, waits for `DIR/go`, then PUTs N distinct flags `PREFIX-0` .. `PREFIX-(N-1)` into ENV
and prints the status codes it got, as JSON, on stdout.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from mamori.core.config import load_settings
from mamori.web.app import create_app
from mamori.wiring import build_runtime


def main() -> None:
    url, token, environment, prefix, count, folder = sys.argv[1:7]
    settings = load_settings(env={}, database_url=url, secret_key="test-secret-key-0123456789")
    runtime = build_runtime(settings)
    headers = {"Authorization": f"Bearer {token}"}
    flag = {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"}
    statuses: list[int] = []
    with TestClient(create_app(runtime), base_url="https://testserver") as client:
        client.get("/api/v1/flags/environments", headers=headers)  # warm up: imports, connections
        (Path(folder) / f"ready-{prefix}").write_text("1")
        deadline = time.monotonic() + 60
        while not (Path(folder) / "go").exists():
            if time.monotonic() > deadline:
                sys.exit("never told to go")
            time.sleep(0.005)
        for n in range(int(count)):
            answer = client.put(
                f"/api/v1/flags/{environment}/flags/{prefix}-{n}",
                json={"flag": flag, "reason": "concurrency test"},
                headers=headers,
            )
            statuses.append(answer.status_code)
    runtime.engine.dispose()
    print(json.dumps(statuses))


if __name__ == "__main__":
    main()
