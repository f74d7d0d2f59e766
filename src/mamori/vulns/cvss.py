"""CVSS base scores from vectors (v3.0/v3.1 formulas from the FIRST specification) and qualitative ratings."""

from __future__ import annotations

import math

_V3_WEIGHTS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.85, "A": 0.62, "L": 0.55, "P": 0.2},
    "AC": {"L": 0.77, "H": 0.44},
    "UI": {"N": 0.85, "R": 0.62},
    "C": {"H": 0.56, "L": 0.22, "N": 0.0},
    "I": {"H": 0.56, "L": 0.22, "N": 0.0},
    "A": {"H": 0.56, "L": 0.22, "N": 0.0},
}
_PR = {"U": {"N": 0.85, "L": 0.62, "H": 0.27}, "C": {"N": 0.85, "L": 0.68, "H": 0.5}}
_V3_REQUIRED = ("AV", "AC", "PR", "UI", "S", "C", "I", "A")
_V3_VALUES: dict[str, str] = {
    "AV": "NALP",
    "AC": "LH",
    "PR": "NLH",
    "UI": "NR",
    "S": "UC",
    "C": "HLN",
    "I": "HLN",
    "A": "HLN",
    # temporal and environmental metrics: not part of the base score, but a vector naming them must be valid
    "E": "XUPFH",
    "RL": "XOTWU",
    "RC": "XURC",
    "CR": "XLMH",
    "IR": "XLMH",
    "AR": "XLMH",
    "MAV": "XNALP",
    "MAC": "XLH",
    "MPR": "XNLH",
    "MUI": "XNR",
    "MS": "XUC",
    "MC": "XHLN",
    "MI": "XHLN",
    "MA": "XHLN",
}


class InvalidVector(ValueError):
    """A CVSS vector that cannot be scored."""


def _roundup_31(value: float) -> float:
    as_int = round(value * 100000)
    if as_int % 10000 == 0:
        return as_int / 100000.0
    return (math.floor(as_int / 10000) + 1) / 10.0


def _roundup_30(value: float) -> float:
    return math.ceil(value * 10) / 10


def _metrics(vector: str, prefix_len: int) -> dict[str, str]:
    metrics: dict[str, str] = {}
    for part in vector.split("/")[prefix_len:]:
        name, sep, value = part.partition(":")
        if not sep or name in metrics:
            raise InvalidVector(f"{vector}: malformed or repeated metric {part!r}")
        metrics[name] = value
    return metrics


def score_v3(vector: str) -> float:
    """The base score of a CVSS:3.0 or CVSS:3.1 vector."""
    if not vector.startswith(("CVSS:3.1/", "CVSS:3.0/")):
        raise InvalidVector(f"{vector}: not a CVSS v3 vector")
    m = _metrics(vector, 1)
    for name, value in m.items():
        allowed = _V3_VALUES.get(name)
        if allowed is None:
            raise InvalidVector(f"{vector}: unknown metric {name!r}")
        if len(value) != 1 or value not in allowed:
            raise InvalidVector(f"{vector}: {name} must be one of {', '.join(allowed)}, not {value!r}")
    missing = [k for k in _V3_REQUIRED if k not in m]
    if missing:
        raise InvalidVector(f"{vector}: missing base metrics {', '.join(missing)}")
    try:
        scope_changed = {"U": False, "C": True}[m["S"]]
        iss = 1 - (1 - _V3_WEIGHTS["C"][m["C"]]) * (1 - _V3_WEIGHTS["I"][m["I"]]) * (1 - _V3_WEIGHTS["A"][m["A"]])
        pr = _PR[m["S"]][m["PR"]]
        exploitability = (
            8.22 * _V3_WEIGHTS["AV"][m["AV"]] * _V3_WEIGHTS["AC"][m["AC"]] * pr * _V3_WEIGHTS["UI"][m["UI"]]
        )
    except KeyError as exc:
        raise InvalidVector(f"{vector}: unknown metric value {exc}") from None
    impact = 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02) ** 15 if scope_changed else 6.42 * iss
    if impact <= 0:
        return 0.0
    roundup = _roundup_31 if vector.startswith("CVSS:3.1/") else _roundup_30
    if scope_changed:
        return roundup(min(1.08 * (impact + exploitability), 10))
    return roundup(min(impact + exploitability, 10))


def rating(score: float) -> str:
    """The qualitative severity shared by CVSS v3 and v4."""
    if score == 0:
        return "NONE"
    if score < 4:
        return "LOW"
    if score < 7:
        return "MEDIUM"
    if score < 9:
        return "HIGH"
    return "CRITICAL"


def base_score(vector: str) -> float:
    if vector.startswith("CVSS:3."):
        return score_v3(vector)
    raise InvalidVector(f"{vector}: unsupported CVSS version")
