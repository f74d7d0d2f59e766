"""Alertmanager label matchers, parsed and matched as Alertmanager 0.25 does; regexes are RE2, as in Go.

One matcher is `name op value` with op `=`, `!=`, `=~` or `!~`. The name is `[a-zA-Z_:][a-zA-Z0-9_:]*`;
ASCII blanks (space, tab, CR, LF, FF; not VT) may surround name, op and value. A value may be quoted;
in it, quoted or not, `\\n` is a newline, `\\"` a quote, `\\\\` a backslash, and any other backslash is
kept as it is. An unescaped quote may only open and close the value. A missing label matches as the
empty string.

A regex is compiled as `^(?:value)$` and searched, exactly as Alertmanager does, so the usual value is
matched whole (a value such as `a)|(b` escapes the anchors there too). The engine is RE2 (google-re2):
Perl classes and `\\b` are ASCII, POSIX classes, `\\pN`, flags `(?imsU)`, no backreferences or
lookaround, repetition counts up to 1000. Go's parser refuses three things RE2 accepts, so they are
refused here: the `\\C` escape, `(?<name>...)` groups and non-ASCII capture names.
Known differences that remain: RE2's Unicode tables are newer than those of the Go that built amtool
0.25 (Unicode 13), so `\\p{Kawi}` and letters added since are known here only; and RE2 refuses as too
large a few huge patterns that Go takes, such as `[\\pL\\pN]{1000}`.

`parse_matcher_list` reads the list form of Alertmanager's configuration, `{a="b", c=~"d"}`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, cast

import re2  # type: ignore[import-untyped]

_BLANK = "[ \t\n\f\r]*"  # Go's \s: ASCII only and without \v
_MATCHER = re.compile(
    rf"{_BLANK}([a-zA-Z_:][a-zA-Z0-9_:]*){_BLANK}(=~|=|!=|!~){_BLANK}(.*?){_BLANK}", re.DOTALL | re.ASCII
)
_ESCAPED = {"n": "\n", '"': '"', "\\": "\\"}
_UNICODE_SPACE = "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_UNICODE_SPACE += "\u2028\u2029\u202f\u205f\u3000"
"""Unicode's White_Space property, which Go's strings.TrimSpace trims (Python's strip also trims \\x1c-\\x1f)."""
_CAPTURE_NAME = re.compile(r"[A-Za-z0-9_]+", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")
OPS = ("=", "!=", "=~", "!~")


class _Regex(Protocol):
    def search(self, text: str) -> object | None: ...


_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused regex is a ValueError for the caller, not a line on stderr


@dataclass(frozen=True)
class Matcher:
    name: str
    op: str
    value: str
    _regex: _Regex | None = field(default=None, compare=False, repr=False)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        hit = self._regex.search(_utf8(actual)) is not None
        return hit if self.op == "=~" else not hit

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'


def new_matcher(name: str, op: str, value: str) -> Matcher:
    """A matcher from its parts (the value already unescaped); raises ValueError for a bad op or regex."""
    if op not in OPS:
        raise ValueError(f"bad matcher operator {op!r}: expected one of {', '.join(OPS)}")
    if op in ("=", "!="):
        return Matcher(name=name, op=op, value=value)
    return Matcher(name=name, op=op, value=value, _regex=compile_regex(value))


def compile_regex(value: str) -> _Regex:
    """`^(?:value)$` in RE2, refusing what Go's regexp refuses; raises ValueError."""
    _refuse_what_go_refuses(value)
    try:
        return cast(_Regex, re2.compile(f"^(?:{_utf8(value)})$", _OPTIONS))
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"bad regex in matcher: {reason}") from None


def _utf8(text: str) -> str:
    """Lone surrogates (JSON's `"\\ud800"` decodes to one) as U+FFFD, which Go's JSON decoder makes of them;
    RE2 reads UTF-8 and cannot take them."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _refuse_what_go_refuses(pattern: str) -> None:
    """Walk the pattern's escapes, classes and \\Q...\\E quotes looking for the syntax only RE2 allows."""
    i, in_class = 0, False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            if nxt == "C":
                raise ValueError("bad regex in matcher: invalid escape sequence: \\C")
            if nxt == "Q" and not in_class:
                end = pattern.find("\\E", i + 2)
                i = len(pattern) if end < 0 else end + 2
                continue
            i += 2
            continue
        if in_class:
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                i = i + 1 if end < 0 else end + 2
                continue
            in_class = ch != "]"
            i += 1
            continue
        if ch == "[":
            i = _class_body(pattern, i)
            in_class = True
            continue
        if pattern.startswith("(?<", i):
            raise ValueError("bad regex in matcher: invalid or unsupported Perl syntax: (?<")
        if pattern.startswith("(?P<", i):
            end = pattern.find(">", i + 4)
            if end >= 0 and _CAPTURE_NAME.fullmatch(pattern, i + 4, end) is None:
                raise ValueError(f"bad regex in matcher: invalid named capture: {pattern[i : end + 1]}")
        i += 1


def _class_body(pattern: str, start: int) -> int:
    """Index just past `[`, `[^` and a leading `]`, which is a literal there."""
    i = start + 1
    if pattern.startswith("^", i):
        i += 1
    if pattern.startswith("]", i):
        i += 1
    return i


def _unescape(raw: str, text: str) -> str:
    quoted = raw.startswith('"')
    body = raw[1:] if quoted else raw
    out: list[str] = []
    i, last = 0, len(body) - 1
    while i <= last:
        ch = body[i]
        if ch == "\\" and i < last:
            nxt = body[i + 1]
            out.append(_ESCAPED.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == '"':
            if not quoted or i < last:
                raise ValueError(f"bad matcher {text!r}: unescaped double quote in the value")
            quoted = False
        else:
            out.append(ch)
        i += 1
    if quoted:
        raise ValueError(f"bad matcher {text!r}: the value's closing double quote is missing")
    return "".join(out)


@functools.lru_cache(maxsize=4096)
def parse_matcher(text: str) -> Matcher:
    """Parse one matcher; raises ValueError naming what is wrong. Cached: a Matcher is immutable."""
    match = _MATCHER.fullmatch(text)
    if match is None:
        raise ValueError(f"bad matcher {text!r}: expected label=value, label!=value, label=~regex or label!~regex")
    name, op, raw = match.groups()
    value = _unescape(raw, text)
    try:
        return new_matcher(name, op, value)
    except ValueError as exc:
        raise ValueError(f"{exc} (in {text!r})") from None


def _split_list(text: str) -> list[str]:
    """Split at commas outside quotes; a quote preceded by an odd run of backslashes is not a quote."""
    body = text.removeprefix("{").removesuffix("}")
    tokens: list[str] = []
    current: list[str] = []
    in_quotes = escaped = False
    for ch in body:
        if ch == "," and not in_quotes:
            tokens.append("".join(current))
            current = []
            continue
        if ch == '"':
            in_quotes = in_quotes if escaped else not in_quotes
            escaped = False
        elif ch == "\\":
            escaped = not escaped
        elif ch != ",":
            escaped = False
        current.append(ch)
    tail = "".join(current).strip(_UNICODE_SPACE)
    if tail:
        tokens.append(tail)
    return tokens


def parse_matcher_list(text: str) -> list[Matcher]:
    """The matchers of one configuration line, `{a="b", c!~"d"}` (braces optional, may be empty)."""
    return [parse_matcher(token) for token in _split_list(text)]


def parse_matchers(texts: list[str]) -> list[Matcher]:
    """Every matcher of every configuration line; each line may hold a list, as in Alertmanager's
    `matchers:` (`{a="b", c="d"}` is two matchers, `a=x,y` is refused)."""
    return [m for text in texts for m in parse_matcher_list(text)]


def matches_all(matchers: list[Matcher], labels: Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
