"""Did a change help? Before/after a marked moment: medians, the Mann-Whitney rank test (normal
approximation with tie and continuity corrections) and a bootstrap interval of the median's change, with
sample sizes, and a plain verdict that says when the data are too few (pure; the random source is passed in).

Lower is better for every measure compared here (durations, lead times).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import median

MEASURE_HELP = "step:<job>/<step> (a build step), build (whole runs), lead_time (per change) or tests (suite time)"
MIN_SAMPLES = 8
ALPHA = 0.05
RESAMPLES = 2000


@dataclass(frozen=True)
class Effect:
    n_before: int
    n_after: int
    median_before: float | None
    median_after: float | None
    change: float | None
    """median_after - median_before (negative: faster)."""
    change_pct: float | None
    u: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    """95 % bootstrap interval of the change of the median."""
    verdict: str  # too few data | improved | worse | no clear change


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def mann_whitney(before: Sequence[float], after: Sequence[float]) -> tuple[float, float]:
    """U of `before` and the two-sided p-value (normal approximation, tie-corrected, with continuity)."""
    n1, n2 = len(before), len(after)
    pooled = sorted([(v, 0) for v in before] + [(v, 1) for v in after])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t**3 - t
        i = j + 1
    r1 = sum(r for r, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u1 = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    mu = n1 * n2 / 2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return u1, 1.0
    z = (abs(u1 - mu) - 0.5) / sigma
    return u1, min(1.0, 2 * (1 - _phi(max(z, 0.0))))


def bootstrap_change(
    before: Sequence[float], after: Sequence[float], rnd: random.Random, resamples: int = RESAMPLES
) -> tuple[float, float]:
    """The 2.5th and 97.5th percentiles of median(after*) - median(before*) over resamples."""
    diffs = sorted(
        median(rnd.choices(after, k=len(after))) - median(rnd.choices(before, k=len(before))) for _ in range(resamples)
    )
    return diffs[int(0.025 * (resamples - 1))], diffs[int(0.975 * (resamples - 1))]


def compare(
    before: Sequence[float], after: Sequence[float], *, rnd: random.Random, min_samples: int = MIN_SAMPLES
) -> Effect:
    n1, n2 = len(before), len(after)
    m1 = median(before) if before else None
    m2 = median(after) if after else None
    if n1 < min_samples or n2 < min_samples or m1 is None or m2 is None:
        return Effect(n1, n2, m1, m2, None if m1 is None or m2 is None else m2 - m1, None, None, None, None, None,
                      "too few data")  # fmt: skip
    u, p = mann_whitney(before, after)
    low, high = bootstrap_change(before, after, rnd)
    change = m2 - m1
    verdict = "no clear change"
    if p < ALPHA and high < 0:
        verdict = "improved"
    elif p < ALPHA and low > 0:
        verdict = "worse"
    return Effect(n1, n2, m1, m2, change, change / m1 if m1 else None, u, p, low, high, verdict)


def check_measure(measure: str) -> str:
    """The measure, if Mamori can compare it; ValueError naming the forms otherwise."""
    if measure in ("build", "lead_time", "tests"):
        return measure
    job, _, step = measure.removeprefix("step:").partition("/")
    if measure.startswith("step:") and job and step:
        return measure
    raise ValueError(f"unknown measure {measure!r}; use {MEASURE_HELP}")
