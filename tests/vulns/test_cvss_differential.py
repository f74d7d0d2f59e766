"""CVSS v3.0/v3.1 and v4.0 base scores: our code against the `cvss` package on many generated vectors."""

from __future__ import annotations

import random

import pytest
from cvss import CVSS3, CVSS4

from mamori.vulns import cvss, cvss4
from mamori.vulns.matcher import advisory_severity
from mamori.vulns.osv import parse_record

V3 = {"AV": "NALP", "AC": "LH", "PR": "NLH", "UI": "NR", "S": "UC", "C": "HLN", "I": "HLN", "A": "HLN"}
V4 = {
    "AV": "NALP",
    "AC": "LH",
    "AT": "NP",
    "PR": "NLH",
    "UI": "NPA",
    "VC": "HLN",
    "VI": "HLN",
    "VA": "HLN",
    "SC": "HLN",
    "SI": "HLN",
    "SA": "HLN",
}
V4_OPTIONAL = {
    "E": "XAPU",
    "CR": "XHML",
    "IR": "XHML",
    "AR": "XHML",
    "MAV": "XNALP",
    "MVC": "XHLN",
    "MSI": "XSHLN",
    "MSA": "XSHLN",
}


def _vectors(
    prefix: str, metrics: dict[str, str], n: int, seed: int, optional: dict[str, str] | None = None
) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        parts = [f"{k}:{rng.choice(v)}" for k, v in metrics.items()]
        for k, v in (optional or {}).items():
            if rng.random() < 0.3:
                parts.append(f"{k}:{rng.choice(v)}")
        out.append(prefix + "/".join(parts))
    return out


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_v3_base_scores_match_the_reference_implementation(version: str) -> None:
    vectors = _vectors(f"CVSS:{version}/", V3, 3000, seed=int(version[-1]))
    mismatches = [
        (v, cvss.score_v3(v), float(CVSS3(v).base_score))
        for v in vectors
        if cvss.score_v3(v) != float(CVSS3(v).base_score)
    ]
    assert mismatches == []


def test_v4_scores_match_the_reference_implementation_on_base_threat_and_environmental_vectors() -> None:
    vectors = _vectors("CVSS:4.0/", V4, 6000, seed=4, optional=V4_OPTIONAL)
    mismatches = [
        (v, cvss4.score(v), float(CVSS4(v).base_score)) for v in vectors if cvss4.score(v) != float(CVSS4(v).base_score)
    ]
    assert mismatches == []


@pytest.mark.parametrize(
    ("vector", "expected"),
    [
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", 9.3),
        ("CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:N/VI:N/VA:N/SC:N/SI:N/SA:N", 0.0),
    ],
)
def test_v4_known_scores(vector: str, expected: float) -> None:
    assert cvss4.score(vector) == expected


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ("CVSS:4.0/AV:N/AC:L", "missing base metrics AT, PR"),
        ("CVSS:4.0/AV:Q/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N", "AV cannot be 'Q'"),
        ("CVSS:4.0/AV:N/AV:N", "repeated metric"),
        ("CVSS:3.1/AV:N", "not a CVSS v4.0 vector"),
    ],
)
def test_v4_bad_vectors_name_the_problem(vector: str, message: str) -> None:
    with pytest.raises(cvss.InvalidVector, match=message):
        cvss4.score(vector)


def test_advisory_severity_uses_v4_vectors_too() -> None:
    adv = parse_record(
        {
            "id": "GHSA-v4",
            "modified": "2026-01-01T00:00:00Z",
            "severity": [
                {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}
            ],
        }
    )
    assert advisory_severity(adv).score == 9.3 and advisory_severity(adv).label == "CRITICAL"


def _malformed_v3(rng: random.Random, version: str) -> str:
    parts = [f"{k}:{rng.choice(v)}" for k, v in V3.items()]
    broken = rng.choice(["unknown", "empty", "bad_optional", "bad_base", "trailing", "lower", "ok_optional"])
    if broken == "unknown":
        parts.insert(rng.randrange(len(parts) + 1), rng.choice(["XX:Y", "Z:1", "AVX:N"]))
    elif broken == "empty":
        i = rng.randrange(len(parts))
        parts[i] = parts[i].split(":")[0] + ":"
    elif broken == "bad_optional":
        parts.append(rng.choice(["E:Q", "RL:Z", "CR:N", "MAV:Q", "MS:X1", "RC:"]))
    elif broken == "bad_base":
        i = rng.randrange(len(parts))
        parts[i] = parts[i].split(":")[0] + ":" + rng.choice(["Q", "HH", "x"])
    elif broken == "trailing":
        parts.append("")
    elif broken == "lower":
        parts[0] = parts[0].lower()
    else:
        parts.append(rng.choice(["E:P", "RL:O", "RC:C", "CR:H", "MAV:N", "MS:C", "MPR:X"]))
    return f"CVSS:{version}/" + "/".join(parts)


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_v3_refuses_what_the_reference_refuses_and_scores_the_rest_alike(version: str) -> None:
    rng = random.Random(30 + int(version[-1]))
    disagreements = []
    refused = 0
    for vector in (_malformed_v3(rng, version) for _ in range(2000)):
        try:
            want: float | None = float(CVSS3(vector).base_score)
        except Exception:  # the reference's CVSS3MalformedError and friends
            want = None
        try:
            got: float | None = cvss.score_v3(vector)
        except cvss.InvalidVector:
            got = None
        refused += want is None
        if got != want:
            disagreements.append((vector, want, got))
    assert refused > 500, "the generator must produce malformed vectors"
    assert not disagreements, f"{len(disagreements)}: {disagreements[:10]}"
