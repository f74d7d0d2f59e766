"""CVSS v4.0 scores from vectors: the specification's macrovector lookup plus severity-distance interpolation."""

from __future__ import annotations

import itertools
import json
import math
from functools import cache
from pathlib import Path

from mamori.vulns.cvss import InvalidVector

_ALLOWED: dict[str, tuple[str, ...]] = {
    "AV": ("N", "A", "L", "P"),
    "AC": ("L", "H"),
    "AT": ("N", "P"),
    "PR": ("N", "L", "H"),
    "UI": ("N", "P", "A"),
    "VC": ("H", "L", "N"),
    "VI": ("H", "L", "N"),
    "VA": ("H", "L", "N"),
    "SC": ("H", "L", "N"),
    "SI": ("H", "L", "N"),
    "SA": ("H", "L", "N"),
    "E": ("X", "A", "P", "U"),
    "CR": ("X", "H", "M", "L"),
    "IR": ("X", "H", "M", "L"),
    "AR": ("X", "H", "M", "L"),
    "MAV": ("X", "N", "A", "L", "P"),
    "MAC": ("X", "L", "H"),
    "MAT": ("X", "N", "P"),
    "MPR": ("X", "N", "L", "H"),
    "MUI": ("X", "N", "P", "A"),
    "MVC": ("X", "H", "L", "N"),
    "MVI": ("X", "H", "L", "N"),
    "MVA": ("X", "H", "L", "N"),
    "MSC": ("X", "H", "L", "N"),
    "MSI": ("X", "S", "H", "L", "N"),
    "MSA": ("X", "S", "H", "L", "N"),
    "S": ("X", "N", "P"),
    "AU": ("X", "N", "Y"),
    "R": ("X", "A", "U", "I"),
    "V": ("X", "D", "C"),
    "RE": ("X", "L", "M", "H"),
    "U": ("X", "Clear", "Green", "Amber", "Red"),
}
_BASE = ("AV", "AC", "AT", "PR", "UI", "VC", "VI", "VA", "SC", "SI", "SA")

# how far a metric value lies from the most severe one, in steps of 0.1
_LEVELS: dict[str, dict[str, float]] = {
    "AV": {"N": 0.0, "A": 0.1, "L": 0.2, "P": 0.3},
    "PR": {"N": 0.0, "L": 0.1, "H": 0.2},
    "UI": {"N": 0.0, "P": 0.1, "A": 0.2},
    "AC": {"L": 0.0, "H": 0.1},
    "AT": {"N": 0.0, "P": 0.1},
    "VC": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VI": {"H": 0.0, "L": 0.1, "N": 0.2},
    "VA": {"H": 0.0, "L": 0.1, "N": 0.2},
    "SC": {"H": 0.1, "L": 0.2, "N": 0.3},
    "SI": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "SA": {"S": 0.0, "H": 0.1, "L": 0.2, "N": 0.3},
    "CR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "IR": {"H": 0.0, "M": 0.1, "L": 0.2},
    "AR": {"H": 0.0, "M": 0.1, "L": 0.2},
}
# the highest-severity vectors of each equivalence class level (EQ3 and EQ6 are taken together)
_MAX_EQ1 = {
    0: ["AV:N/PR:N/UI:N"],
    1: ["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"],
    2: ["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"],
}
_MAX_EQ2 = {0: ["AC:L/AT:N"], 1: ["AC:H/AT:N", "AC:L/AT:P"]}
_MAX_EQ3EQ6 = {
    (0, 0): ["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"],
    (0, 1): ["VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"],
    (1, 0): ["VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"],
    (1, 1): [
        "VC:L/VI:H/VA:L/CR:H/IR:M/AR:H",
        "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M",
        "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
        "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H",
        "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M",
    ],
    (2, 1): ["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"],
}
_MAX_EQ4 = {0: ["SC:H/SI:S/SA:S"], 1: ["SC:H/SI:H/SA:H"], 2: ["SC:L/SI:L/SA:L"]}
_MAX_EQ5 = {0: ["E:A"], 1: ["E:P"], 2: ["E:U"]}
# depth of each class level, in steps
_DEPTH_EQ1 = {0: 1, 1: 4, 2: 5}
_DEPTH_EQ2 = {0: 1, 1: 2}
_DEPTH_EQ3EQ6 = {(0, 0): 7, (0, 1): 6, (1, 0): 8, (1, 1): 8, (2, 1): 10}
_DEPTH_EQ4 = {0: 6, 1: 5, 2: 4}
STEP = 0.1


@cache
def _lookup() -> dict[str, float]:
    data = json.loads((Path(__file__).parent / "cvss4_macrovectors.json").read_text())
    return {k: float(v) for k, v in data["scores"].items()}


def parse(vector: str) -> dict[str, str]:
    if not vector.startswith("CVSS:4.0/"):
        raise InvalidVector(f"{vector}: not a CVSS v4.0 vector")
    metrics: dict[str, str] = {}
    for part in vector.split("/")[1:]:
        name, sep, value = part.partition(":")
        if not sep or name in metrics:
            raise InvalidVector(f"{vector}: malformed or repeated metric {part!r}")
        if name not in _ALLOWED:
            raise InvalidVector(f"{vector}: unknown metric {name!r}")
        if value not in _ALLOWED[name]:
            raise InvalidVector(f"{vector}: {name} cannot be {value!r} (allowed: {', '.join(_ALLOWED[name])})")
        metrics[name] = value
    missing = [m for m in _BASE if m not in metrics]
    if missing:
        raise InvalidVector(f"{vector}: missing base metrics {', '.join(missing)}")
    return metrics


def _effective(m: dict[str, str], metric: str) -> str:
    """The value scoring uses: a modified metric wins; unset threat and requirements assume the worst."""
    if metric == "E" and m.get("E", "X") == "X":
        return "A"
    if metric in ("CR", "IR", "AR") and m.get(metric, "X") == "X":
        return "H"
    modified = m.get("M" + metric, "X")
    if modified != "X":
        return modified
    return m.get(metric, "X")


def _macrovector(v: dict[str, str]) -> tuple[int, int, int, int, int, int]:
    av, pr, ui = v["AV"], v["PR"], v["UI"]
    if av == "N" and pr == "N" and ui == "N":
        eq1 = 0
    elif (av == "N" or pr == "N" or ui == "N") and av != "P":
        eq1 = 1
    else:
        eq1 = 2
    eq2 = 0 if v["AC"] == "L" and v["AT"] == "N" else 1
    vc, vi, va = v["VC"], v["VI"], v["VA"]
    eq3 = 0 if vc == "H" and vi == "H" else (1 if "H" in (vc, vi, va) else 2)
    eq4 = 0 if "S" in (v["SI"], v["SA"]) else (1 if "H" in (v["SC"], v["SI"], v["SA"]) else 2)
    eq5 = {"A": 0, "P": 1, "U": 2}[v["E"]]
    eq6 = 0 if (v["CR"] == "H" and vc == "H") or (v["IR"] == "H" and vi == "H") or (v["AR"] == "H" and va == "H") else 1
    return eq1, eq2, eq3, eq4, eq5, eq6


def _score_of(eqs: tuple[int, ...]) -> float:
    return _lookup().get("".join(map(str, eqs)), math.nan)


def _next_eq3eq6(eq3: int, eq6: int, rest: tuple[int, int, int, int]) -> float:
    eq1, eq2, eq4, eq5 = rest
    if eq3 == 0 and eq6 == 0:
        left = _score_of((eq1, eq2, eq3, eq4, eq5, eq6 + 1))
        right = _score_of((eq1, eq2, eq3 + 1, eq4, eq5, eq6))
        return (
            max(left, right) if not (math.isnan(left) or math.isnan(right)) else (right if math.isnan(left) else left)
        )
    if eq3 in (0, 1) and eq6 == 1:
        return _score_of((eq1, eq2, eq3 + 1, eq4, eq5, eq6))
    if eq3 == 1 and eq6 == 0:
        return _score_of((eq1, eq2, eq3, eq4, eq5, eq6 + 1))
    return _score_of((eq1, eq2, eq3 + 1, eq4, eq5, eq6 + 1))


def _distances(v: dict[str, str], eqs: tuple[int, ...]) -> tuple[float, float, float, float]:
    """Severity distances from the first maximal vector of the macrovector that `v` does not exceed."""
    eq1, eq2, eq3, eq4, eq5, eq6 = eqs
    for parts in itertools.product(_MAX_EQ1[eq1], _MAX_EQ2[eq2], _MAX_EQ3EQ6[(eq3, eq6)], _MAX_EQ4[eq4], _MAX_EQ5[eq5]):
        maximal = dict(p.split(":") for p in "/".join(parts).split("/"))
        d = {k: _LEVELS[k][v[k]] - _LEVELS[k][maximal[k]] for k in _LEVELS}
        if all(x >= 0 for x in d.values()):
            return (
                d["AV"] + d["PR"] + d["UI"],
                d["AC"] + d["AT"],
                d["VC"] + d["VI"] + d["VA"] + d["CR"] + d["IR"] + d["AR"],
                d["SC"] + d["SI"] + d["SA"],
            )
    raise InvalidVector("no maximal vector found for the macrovector")  # unreachable for valid vectors


def score(vector: str) -> float:
    """The CVSS v4.0 score of a vector (CVSS-B, -BT, -BE or -BTE, depending on the metrics it carries)."""
    m = parse(vector)
    v = {k: _effective(m, k) for k in (*_BASE, "E", "CR", "IR", "AR")}
    if all(v[k] == "N" for k in ("VC", "VI", "VA", "SC", "SI", "SA")):
        return 0.0
    eqs = _macrovector(v)
    eq1, eq2, eq3, eq4, eq5, eq6 = eqs
    value = _score_of(eqs)
    lower = {
        "eq1": _score_of((eq1 + 1, eq2, eq3, eq4, eq5, eq6)),
        "eq2": _score_of((eq1, eq2 + 1, eq3, eq4, eq5, eq6)),
        "eq3eq6": _next_eq3eq6(eq3, eq6, (eq1, eq2, eq4, eq5)),
        "eq4": _score_of((eq1, eq2, eq3, eq4 + 1, eq5, eq6)),
        "eq5": _score_of((eq1, eq2, eq3, eq4, eq5 + 1, eq6)),
    }
    d1, d2, d36, d4 = _distances(v, eqs)
    depth = {
        "eq1": _DEPTH_EQ1[eq1] * STEP,
        "eq2": _DEPTH_EQ2[eq2] * STEP,
        "eq3eq6": _DEPTH_EQ3EQ6[(eq3, eq6)] * STEP,
        "eq4": _DEPTH_EQ4[eq4] * STEP,
    }
    current = {"eq1": d1, "eq2": d2, "eq3eq6": d36, "eq4": d4}
    present, total = 0, 0.0
    for eq, next_score in lower.items():
        if math.isnan(next_score):
            continue
        present += 1
        if eq != "eq5":  # within EQ5 every vector sits at the top, so it moves nothing
            total += (value - next_score) * (current[eq] / depth[eq])
    if present:
        value -= total / present
    value = min(max(value, 0.0), 10.0)
    return math.floor(value * 10 + 0.5 + 1e-6) / 10
