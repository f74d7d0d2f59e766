"""The compiled scanner reads untrusted input: build it with AddressSanitizer and UndefinedBehaviorSanitizer and
run it over mutated and random lines, in a separate Python process, checking it against the reference."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.support import IN_CI, REPO, require_binary

pytestmark = pytest.mark.slow

SOURCE = REPO / "src" / "mamori" / "slo" / "_scan.c"

# Run in the child: load the sanitised build under another name, then compare it with the msgspec tier (which
# the other tests hold to the reference) on mutated batches and random bytes.
CHILD = """
import importlib.machinery, importlib.util, random, sys
from hypothesis import HealthCheck, given, settings, strategies as st
from mamori.core.errors import InvalidInput
from mamori.slo import counting
from mamori.slo.counting import batches, keys
from tests.slo import test_columnar_counting as t

loader = importlib.machinery.ExtensionFileLoader("sanitised._scan", sys.argv[1])
spec = importlib.util.spec_from_loader("sanitised._scan", loader)
scan = importlib.util.module_from_spec(spec)
loader.exec_module(scan)
fields = [
    (path, scan.KIND_NUMBER if isinstance(use, tuple) else scan.KIND_TEXT if use == "text" else scan.KIND_RAW,
     use if isinstance(use, tuple) else ())
    for path, use in t.PLAN.paths
]
scanner = scan.Scanner(fields, keys.MISSING_FIELD)
seen = {"counted": 0, "refused": 0, "deferred": 0}

def check(lines):
    pairs = scanner.count(lines)
    try:
        expected = counting.count_lines(lines, t._columns_plan())
    except InvalidInput:
        assert pairs is None, lines
        seen["refused"] += 1
        return
    if pairs is None:
        seen["deferred"] += 1
        return
    assert batches.tally_keys(t.PLAN, t._merged(pairs), [], path="x").counts == expected.counts, lines
    seen["counted"] += 1

@settings(max_examples=int(sys.argv[2]), deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.one_of(t.mutated(), t.typical().map(t.orjson.dumps)), min_size=1, max_size=3))
def mutated(lines):
    check(lines)

mutated()
rng = random.Random(int(sys.argv[2]))
alphabet = b'{}[]":,\\\\ 0123456789eE+-.tfnulrsaZT' + bytes([0, 0xFF, 0xC3, 0xA9, 0xED, 0xA0, 0x80])
for _ in range(int(sys.argv[2])):
    raw = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    check([b'{"ts":"2026-11-28T10:00:01Z","service":"api","route":' + raw + b"}"])
    check([raw])
print(seen)
assert seen["counted"] > 100 and seen["refused"] > 100, seen
"""


def _runtime_library(compiler: str, name: str) -> str:
    path = subprocess.run([compiler, f"-print-file-name={name}"], capture_output=True, text=True, check=True)
    found = path.stdout.strip()
    if not os.path.isabs(found):
        if IN_CI:
            pytest.fail(f"{compiler} has no {name}; CI needs the sanitizer runtimes")
        pytest.skip(f"{compiler} has no {name}")
    return found


def test_the_scanner_is_memory_safe_under_sanitizers(tmp_path: Path) -> None:
    gcc = require_binary("gcc")
    built = tmp_path / "_scan.so"
    include = sysconfig.get_paths()["include"]
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"]
    subprocess.run([gcc, *flags, "-fPIC", "-shared", f"-I{include}", str(SOURCE), "-o", str(built)], check=True)
    preload = " ".join(_runtime_library(gcc, name) for name in ("libasan.so", "libubsan.so"))
    env = {
        **os.environ,
        "LD_PRELOAD": preload,
        "PYTHONMALLOC": "malloc",
        "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0",
        "PYTHONPATH": str(REPO),
    }
    child = subprocess.run(
        [sys.executable, "-c", CHILD, str(built), "2000"],
        check=False,  # the output says what went wrong
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Sanitizer" not in child.stderr, child.stderr[-4000:]
    assert child.returncode == 0, child.stderr[-4000:]
    assert "'counted'" in child.stdout
