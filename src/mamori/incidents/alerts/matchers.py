"""Alertmanager-style label matchers: `name=value`, `!=`, `=~`, `!~`; regexes are anchored at both ends."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

_NAME = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$", re.DOTALL)
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n"}


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        hit = self._regex.fullmatch(actual) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def _unquote(raw: str) -> str:
    if not (len(raw) >= 2 and raw.startswith('"') and raw.endswith('"')):
        if raw.startswith('"') or raw.endswith('"'):
            raise ValueError(f"unbalanced quotes in matcher value {raw!r}")
        return raw
    out: list[str] = []
    body, i = raw[1:-1], 0
    while i < len(body):
        ch = body[i]
        if ch == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise ValueError(f"invalid escape in matcher value {raw!r}")
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        if ch == '"':
            raise ValueError(f"unescaped quote inside matcher value {raw!r}")
        out.append(ch)
        i += 1
    return "".join(out)


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher; raises ValueError naming what is wrong."""
    match = _NAME.fullmatch(text)
    if match is None:
        raise ValueError(f"bad matcher {text!r}: expected label=value, label!=value, label=~regex or label!~regex")
    name, op, raw = match.groups()
    value = _unquote(raw)
    regex = None
    if op in ("=~", "!~"):
        try:
            # Anchored like Alertmanager: the whole label value must match.
            regex = re.compile(f"^(?:{value})$")
        except re.error as exc:
            raise ValueError(f"bad regex in matcher {text!r}: {exc}") from None
    return Matcher(name=name, op=op, value=value, _regex=regex)


def parse_matchers(texts: list[str]) -> list[Matcher]:
    return [parse_matcher(t) for t in texts]


def matches_all(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
