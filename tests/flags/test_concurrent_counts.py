"""Evaluation counts reported at once by many writers (SDKs, OFREP replicas) add up: none is lost or refused."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import select

from mamori.core.runtime import Runtime
from mamori.flags import counts
from mamori.flags.models import FlagEvaluationCount

WRITERS, ROUNDS = 8, 15


def test_concurrent_count_writers_lose_no_evaluation(runtime: Runtime) -> None:
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def writer(w: int) -> None:
        start.wait()
        try:
            for r in range(ROUNDS):
                tally: Counter[counts.Key] = Counter(
                    {("staging", "new-search", "on"): 1, ("staging", "new-search", "off"): 2}
                )
                tally[("staging", f"flag-{r}", "on")] = w + 1  # first written by whichever writer gets there first
                with runtime.sessions.begin() as session:
                    counts.record(session, tally, now=runtime.now())
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors[:3]
    with runtime.sessions() as session:
        stored = {(r.flag_key, r.variant): r.count for r in session.scalars(select(FlagEvaluationCount))}
    expected = {("new-search", "on"): WRITERS * ROUNDS, ("new-search", "off"): 2 * WRITERS * ROUNDS}
    expected |= {(f"flag-{r}", "on"): sum(range(1, WRITERS + 1)) for r in range(ROUNDS)}
    assert stored == expected
