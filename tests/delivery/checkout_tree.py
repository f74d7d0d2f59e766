"""A small checkout of several languages (comments, blank lines, block comments, docstrings) for the code-size
count; `tests/delivery/data/cloc_checkout.json` is what `cloc 1.96 --json --vcs=git` printed for it."""

from __future__ import annotations

import subprocess
from pathlib import Path

FILES = {
    "app/main.py": '''#!/usr/bin/env python3
"""The service's entry point.

It starts the worker.
"""

import os  # the environment

TEMPLATE = """not a comment
but a string"""


def main() -> None:
    # read the port
    port = int(os.environ.get("PORT", "8080"))

    print(port)
''',
    "web/app.js": """// the front end
/* a block
   over three lines */
const x = 1; // trailing
const y = /* inline */ 2;

function f() {
  return x + y;
}
""",
    "deploy.sh": """#!/bin/sh
# deploy the service
set -eu

kubectl apply -f k8s/
""",
    "config.yaml": """# settings
port: 8080
# the database
database:
  url: postgres://db
""",
    "README.md": """# Jobs API

<!-- a hidden note -->
Run it with `make run`.
""",
    "web/style.css": """/* the page */
body {
  margin: 0;
}
""",
    "db/query.sql": """-- the slow one
SELECT id
FROM jobs /* all of them */
WHERE state = 'new';
""",
    "Dockerfile": """# the image
FROM python:3.11-slim
COPY . /app

CMD ["python", "/app/app/main.py"]
""",
    "bin/tool.rb": """#!/usr/bin/env ruby
=begin
a block comment
=end
puts "tool" # trailing
""",
    "scripts/run.bash": """#!/bin/bash
# run it
exec ./tool
""",
    ".gitignore": "build/\n*.log\n",
    "build/bundle.js": "const generated = 1;\nconst more = 2;\n",
    "server.log": "not code\n",
}


def write_checkout(root: Path, *, git: str | None) -> Path:
    """The files under `root`; with `git`, a checkout whose files (all but the ignored ones) are added."""
    for name, text in FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    if git is not None:
        for args in (["init", "-q"], ["add", "-A"]):
            subprocess.run([git, "-C", str(root), *args], check=True, capture_output=True)
    return root
