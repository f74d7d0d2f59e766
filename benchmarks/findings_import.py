"""Importing a large Security Hub export: 100,000 ASFF findings of which 10 % update findings already stored,
then the same file again, against `json.loads` of the file alone in the same run.

The findings are written by this script (FSBP control findings, GuardDuty and Inspector records in equal
thirds, on 2,000 resources in 4 accounts and 3 regions). Steps, each timed:
1. seed: import the 10 % that the big file will update (their original versions);
2. import: the file of 100,000 records (90 % new, 10 % with a new severity and UpdatedAt), one transaction;
3. re-import: the same file again (must change nothing);
and `json.loads` of the file's bytes, the goal being import <= 3x json.loads.

Run: .venv/bin/python -m benchmarks.findings_import [FINDINGS] [--write]
"""

from __future__ import annotations

import gc
import json
import os
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from mamori.core import migrate
from mamori.core.db import make_engine, make_sessionmaker
from mamori.findings.models import FindingHistory, FindingRow, FindingSource
from mamori.findings.service import intake

RESULTS = Path(__file__).parent / "results_findings.md"
ACCOUNTS = ("111122223333", "222233334444", "333344445555", "444455556666")
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2")
CONTROLS = ("S3.8", "IAM.5", "EC2.2", "SSM.1", "RDS.3", "KMS.4", "CloudTrail.1", "Lambda.1")
GD_TYPES = ("Recon:EC2-Portscan", "UnauthorizedAccess:EC2-SSHBruteForce", "Discovery:S3-MaliciousIPCaller")


def record(i: int, *, updated: bool = False) -> dict[str, Any]:
    account, region = ACCOUNTS[i % 4], REGIONS[i % 3]
    resource_id = f"arn:aws:ec2:{region}:{account}:instance/i-{i % 2000:012x}"
    kind = i % 3
    base: dict[str, Any] = {
        "SchemaVersion": "2018-10-08",
        "AwsAccountId": account,
        "Region": region,
        "CreatedAt": "2026-11-01T00:00:00Z",
        "UpdatedAt": "2026-12-01T00:00:00Z" if not updated else "2026-12-06T00:00:00Z",
        "Severity": {"Label": ("HIGH" if updated else "MEDIUM")},
        "Description": f"Benchmark finding {i} on {resource_id}.",
        "Resources": [{"Type": "AwsEc2Instance", "Id": resource_id, "Partition": "aws", "Region": region}],
        "Workflow": {"Status": "NEW"},
        "RecordState": "ACTIVE",
    }
    if kind == 0:
        control = f"{CONTROLS[i % len(CONTROLS)]}-{i // 6000}"
        base.update(
            Id=f"arn:aws:securityhub:{region}:{account}:security-control/{control}/finding/{i:08d}",
            ProductArn=f"arn:aws:securityhub:{region}::product/aws/securityhub",
            GeneratorId=f"security-control/{control}",
            Types=["Software and Configuration Checks/Industry and Regulatory Standards"],
            Title=f"{control} control failed",
            Compliance={"Status": "FAILED", "SecurityControlId": control},
        )
    elif kind == 1:
        gd = GD_TYPES[i % 3]
        base.update(
            Id=f"arn:aws:guardduty:{region}:{account}:detector/d/finding/{i:08d}",
            ProductArn=f"arn:aws:securityhub:{region}::product/aws/guardduty",
            GeneratorId=f"arn:aws:guardduty:{region}:{account}:detector/d",
            Types=[f"TTPs/Discovery/{gd}-{i // 6000}"],
            Title=f"GuardDuty {gd} on {resource_id}",
            ProductFields={"aws/guardduty/service/count": str(3 if not updated else 9)},
        )
    else:
        cve = f"CVE-2026-{10000 + i // 7:05d}"
        base.update(
            Id=f"arn:aws:inspector2:{region}:{account}:finding/{i:08x}",
            ProductArn=f"arn:aws:securityhub:{region}::product/aws/inspector",
            GeneratorId="AWSInspector",
            Types=["Software and Configuration Checks/Vulnerabilities/CVE"],
            Title=f"{cve} - openssl",
            Vulnerabilities=[
                {
                    "Id": cve,
                    "VulnerablePackages": [{"Name": f"lib{i % 500}", "Version": "1.0.2", "PackageManager": "OS"}],
                    "Cvss": [{"Version": "3.1", "BaseScore": 7.5}],
                    "EpssScore": 0.02,
                }
            ],
        )
    return base


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(label: str, fn: Any, out: dict[str, Any]) -> Any:
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    value = fn()
    out[label] = time.perf_counter() - start
    out[f"{label} cpu"] = time.process_time() - cpu
    out[f"{label} rss"] = _rss_mb()
    return value


class _DriverTime:
    """CPU time spent inside the driver's statements (`exec_driver_sql`, which the import's bulk writes use):
    the share of the import that is the database's own work, not Mamori's Python."""

    def __init__(self) -> None:
        self.cpu = 0.0
        self._original = Connection.exec_driver_sql

    def __enter__(self) -> _DriverTime:
        original, meter = self._original, self

        def timed(conn: Connection, *args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return original(conn, *args, **kwargs)
            finally:
                meter.cpu += time.process_time() - start

        Connection.exec_driver_sql = timed  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        Connection.exec_driver_sql = self._original  # type: ignore[method-assign]


def _counts(sessions: Any) -> tuple[int, int, int]:
    with sessions() as session:
        return tuple(
            int(session.scalar(select(func.count()).select_from(m)) or 0)
            for m in (FindingRow, FindingSource, FindingHistory)
        )  # type: ignore[return-value]


def run(n: int) -> dict[str, Any]:
    updates = n // 10
    out: dict[str, Any] = {"findings": n, "updates": updates}
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        seed = json.dumps({"Findings": [record(i) for i in range(updates)]}).encode()
        big = json.dumps({"Findings": [record(i, updated=i < updates) for i in range(n)]}).encode()
        out["file MB"] = len(big) / 1e6
        now = datetime(2026, 12, 7, tzinfo=UTC)

        def load(payload: bytes) -> Any:
            with sessions.begin() as session:
                return intake.import_payload(session, payload=payload, now=now, actor="bench", name="bench.json")

        _timed("seed", lambda: load(seed), out)
        loads = [_timed_once(lambda: json.loads(big)) for _ in range(3)]
        out["json.loads"], out["json.loads cpu"] = min(w for w, _ in loads), min(c for _, c in loads)
        with _DriverTime() as driver:
            first = _timed("import", lambda: load(big), out)
        out["import driver cpu"] = driver.cpu
        out["import counts"] = first.counts()
        after_import = _counts(sessions)
        again = _timed("re-import", lambda: load(big), out)
        out["re-import counts"] = again.counts()
        out["rows after import"] = after_import
        out["rows after re-import"] = _counts(sessions)
        engine.dispose()
    return out


def _timed_once(fn: Any) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - start, time.process_time() - cpu


def render(r: dict[str, Any]) -> str:
    load = os.getloadavg()[0]
    rows = [
        ("ASFF findings in the file / of which updates", f"{r['findings']:,} / {r['updates']:,}"),
        ("file size", f"{r['file MB']:.0f} MB"),
        ("`json.loads` of the file (best of 3), wall / CPU", f"{r['json.loads']:.2f} / {r['json.loads cpu']:.2f} s"),
        ("seed (the 10 % before their update), wall / CPU", f"{r['seed']:.2f} / {r['seed cpu']:.2f} s"),
        ("**import of the file**, wall / CPU", f"**{r['import']:.2f} / {r['import cpu']:.2f} s**"),
        (
            "**import / json.loads (goal <= 3)**, wall / CPU",
            f"**{r['import'] / r['json.loads']:.1f} / {r['import cpu'] / r['json.loads cpu']:.1f}**",
        ),
        (
            "... of which the driver's bulk statements (SQLite's own work), CPU / per json.loads",
            f"{r['import driver cpu']:.2f} s / {r['import driver cpu'] / r['json.loads cpu']:.1f}",
        ),
        (
            "re-import of the same file (changes nothing), wall / CPU",
            f"{r['re-import']:.2f} / {r['re-import cpu']:.2f} s",
        ),
        (
            "re-import / json.loads, wall / CPU",
            f"{r['re-import'] / r['json.loads']:.1f} / {r['re-import cpu'] / r['json.loads cpu']:.1f}",
        ),
        ("import counts", ", ".join(f"{k} {v:,}" for k, v in r["import counts"].items() if v)),
        ("re-import counts", ", ".join(f"{k} {v:,}" for k, v in r["re-import counts"].items() if v)),
        ("findings / sources / history rows after import", " / ".join(f"{x:,}" for x in r["rows after import"])),
        ("... after re-import (unchanged)", " / ".join(f"{x:,}" for x in r["rows after re-import"])),
        (
            "peak RSS after seed / import / re-import",
            f"{r['seed rss']:.0f} / {r['import rss']:.0f} / {r['re-import rss']:.0f} MB",
        ),
    ]
    table = "\n".join(f"| {a} | {b} |" for a, b in rows)
    return (
        "# findings: ASFF import benchmark\n\n"
        f"Generated by `python -m benchmarks.findings_import {r['findings']}` on SQLite, "
        f"2 cores shared with other agents (1-minute load {load:.1f} at the end); timings move by up to 2x.\n\n"
        f"| measure | value |\n|---|---|\n{table}\n"
    )


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100_000
    result = run(n)
    text = render(result)
    print(text)
    if "--write" in sys.argv:
        RESULTS.write_text(text)


if __name__ == "__main__":
    main()
