"""Delivery's samples as Prometheus metric families (the kernel's `core.exposition` renders them): one family
per name, its HELP and TYPE from the first sample of that name (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from mamori.core import exposition
from mamori.core.exposition import MetricFamily, MetricType
from mamori.delivery.sinks.samples import Sample

CONTENT_TYPE = exposition.CONTENT_TYPE


def families(samples: Iterable[Sample]) -> list[MetricFamily]:
    out: dict[str, MetricFamily] = {}
    for s in samples:
        fam = out.get(s.name)
        if fam is None:
            fam = out[s.name] = MetricFamily(s.name, s.help, cast(MetricType, s.kind))
        fam.add(s.value, s.labels)
    return list(out.values())


def render(samples: Sequence[Sample]) -> str:
    """The exposition text; samples of one name are grouped under one HELP/TYPE in first-seen order."""
    return exposition.render(families(samples))
