"""PyPI ordering: PEP 440, with pre-PEP 440 ("legacy") versions sorting below every valid one as setuptools did."""

from __future__ import annotations

import re
from typing import Any

from mamori.vulns.versions.text import is_digits

# The version pattern published in PEP 440, appendix B.
_PEP440 = re.compile(
    r"""^\s*v?
    (?:(?P<epoch>[0-9]+)!)?
    (?P<release>[0-9]+(?:\.[0-9]+)*)
    (?P<pre>[-_\.]?(?P<pre_l>alpha|a|beta|b|preview|pre|c|rc)[-_\.]?(?P<pre_n>[0-9]+)?)?
    (?P<post>(?:-(?P<post_n1>[0-9]+))|(?:[-_\.]?(?P<post_l>post|rev|r)[-_\.]?(?P<post_n2>[0-9]+)?))?
    (?P<dev>[-_\.]?(?P<dev_l>dev)[-_\.]?(?P<dev_n>[0-9]+)?)?
    (?:\+(?P<local>[a-z0-9]+(?:[-_\.][a-z0-9]+)*))?
    \s*$""",
    re.VERBOSE | re.IGNORECASE | re.ASCII,
)
_PRE = {"alpha": "a", "a": "a", "beta": "b", "b": "b", "c": "rc", "pre": "rc", "preview": "rc", "rc": "rc"}
_INF = (2,)  # sentinels for tuple comparisons: (0,) < any (1, x) < (2,)
_NEG = (0,)
_LEGACY_PART = re.compile(r"([0-9]+|[a-z]+|\.|-)")
_LEGACY_REPLACE = {"pre": "c", "preview": "c", "-": "final-", "rc": "c", "dev": "@"}


def is_valid(version: str) -> bool:
    return _PEP440.match(version) is not None


def _pep440_key(m: re.Match[str]) -> tuple[Any, ...]:
    release = [int(p) for p in m.group("release").split(".")]
    while len(release) > 1 and release[-1] == 0:
        release.pop()
    pre = (1, _PRE[m.group("pre_l").lower()], int(m.group("pre_n") or 0)) if m.group("pre_l") else None
    if m.group("post"):
        post: tuple[Any, ...] = (1, int(m.group("post_n1") or m.group("post_n2") or 0))
    else:
        post = _NEG
    dev = (1, int(m.group("dev_n") or 0)) if m.group("dev") else _INF
    if pre is None:
        # a dev release of a final version sorts before its pre-releases
        pre_key: tuple[Any, ...] = (0,) if (dev != _INF and post == _NEG) else _INF
    else:
        pre_key = pre
    local: tuple[Any, ...] = _NEG
    if m.group("local"):
        local = (
            1,
            tuple((1, int(p), "") if is_digits(p) else (0, 0, p.lower()) for p in re.split(r"[-_.]", m.group("local"))),
        )
    return (int(m.group("epoch") or 0), tuple(release), pre_key, post, dev, local)


def _legacy_key(version: str) -> tuple[Any, ...]:
    parts: list[str] = []
    for raw in [*_LEGACY_PART.split(version.lower()), "final"]:
        part = _LEGACY_REPLACE.get(raw, raw)
        if not part or part == ".":
            continue
        part = part.zfill(8) if is_digits(part[:1]) else "*" + part
        if part.startswith("*"):
            if part < "*final":
                while parts and parts[-1] == "*final-":
                    parts.pop()
            while parts and parts[-1] == "00000000":
                parts.pop()
        parts.append(part)
    return (-1, tuple(parts))


def key(version: str) -> tuple[Any, ...]:
    m = _PEP440.match(version)
    return _pep440_key(m) if m else _legacy_key(version)
