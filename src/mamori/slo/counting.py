"""Request events -> per-minute good/total tallies per SLI series and slice. No I/O.

An event is a JSON object with at least `ts` (RFC 3339 or epoch milliseconds) and `service`.
A batch is checked completely before anything is counted: one bad line refuses the whole batch.
"""

from __future__ import annotations

import gzip
import itertools
import re
import zlib
from bisect import bisect_left
from collections import _count_elements  # type: ignore[attr-defined]
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import Annotated, Any

import msgspec
import orjson

from mamori.core.errors import InvalidInput, PayloadTooLarge, Problem
from mamori.slo import filter as event_filter
from mamori.slo.definitions import CompiledObjective

try:
    from mamori.slo import _scan
except ImportError:  # not compiled where Mamori was installed: the msgspec columns count instead
    _scan = None  # type: ignore[assignment]

MAX_BATCH_BYTES = 64 * 1024 * 1024
MAX_REPORTED_PROBLEMS = 20
NO_SLICE = ""
MISSING_SLICE = "(none)"

Key = tuple[str, str, int]  # series, slice, epoch minute


@dataclass
class Tally:
    """Good/total per (series, slice, minute), plus what was seen."""

    counts: dict[Key, list[int]] = field(default_factory=dict)
    events: int = 0
    counted: int = 0
    path: str = ""  # how the lines were counted: "native", "columns", "lines" or "careful" (see count_lines)

    def add(self, key: Key, good: bool) -> None:
        acc = self.counts.get(key)
        if acc is None:
            acc = self.counts[key] = [0, 0]
        acc[1] += 1
        if good:
            acc[0] += 1

    def merge(self, other: Tally) -> None:
        for key, (good, total) in other.counts.items():
            acc = self.counts.setdefault(key, [0, 0])
            acc[0] += good
            acc[1] += total
        self.events += other.events
        self.counted += other.counted


def decompress(data: bytes, *, limit: int = MAX_BATCH_BYTES) -> bytes:
    """The body as NDJSON bytes; gzip is recognised by its magic number."""
    if data[:2] != b"\x1f\x8b":
        if len(data) > limit:
            raise PayloadTooLarge(f"the batch is larger than {limit} bytes")
        return data
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        out = inflater.decompress(data, limit + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise InvalidInput(f"the body looks like gzip but cannot be decompressed: {exc}") from None
    if len(out) > limit:
        raise PayloadTooLarge(f"the decompressed batch is larger than {limit} bytes")
    return out


_MINUTE_CACHE: dict[str, int] = {}


def _utc_minute(text: str) -> int | None:
    """Fast path for `YYYY-MM-DDTHH:MM:SS[.fff]Z`: events of one minute share their first 16 characters."""
    if len(text) < 20 or text[-1] not in "Zz" or text[10] not in "Tt " or text[16] != ":":
        return None
    seconds = text[17:-1]
    if not (seconds[:2].isdigit() and (len(seconds) == 2 or (seconds[2] == "." and seconds[3:].isdigit()))):
        return None
    if int(seconds[:2]) > 60:
        return None
    key = text[:16]
    minute = _MINUTE_CACHE.get(key)
    if minute is None:
        try:
            parsed = datetime.fromisoformat(key + ":00+00:00")
        except ValueError:
            return None
        if len(_MINUTE_CACHE) > 100_000:
            _MINUTE_CACHE.clear()
        minute = _MINUTE_CACHE[key] = int(parsed.timestamp() // 60)
    return minute


def event_minute(value: Any) -> int:
    """Epoch minute of an event's `ts`; raises ValueError saying what was expected."""
    if type(value) is str:
        fast = _utc_minute(value)
        if fast is not None:
            return fast
    if isinstance(value, bool):
        raise ValueError("ts must be an RFC 3339 string or epoch milliseconds")
    if isinstance(value, int | float):
        return int(value // 60_000)
    if isinstance(value, str):
        text = value.strip()
        if text.isdigit():
            return int(text) // 60_000
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise ValueError(f"ts {value!r} is not RFC 3339 or epoch milliseconds") from None
        if parsed.tzinfo is None:
            raise ValueError(f"ts {value!r} has no offset; add Z or +HH:MM")
        return int(parsed.timestamp() // 60)
    raise ValueError("ts is required: an RFC 3339 string or epoch milliseconds")


def parse_lines(lines: Iterable[bytes], *, source: str = "body") -> list[tuple[int, dict[str, Any]]]:
    """(minute, event) for every non-blank line; raises InvalidInput listing bad lines (nothing is counted)."""
    out: list[tuple[int, dict[str, Any]]] = []
    append = out.append
    loads = orjson.loads
    problems: list[Problem] = []
    bad = 0
    for number, line in enumerate(lines, start=1):
        try:
            event = loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():
                continue
            reason = f"invalid JSON: {exc}"
        else:
            if type(event) is dict:
                service, ts = event.get("service"), event.get("ts")
                if type(service) is str and service:
                    minute = _utc_minute(ts) if type(ts) is str else None
                    if minute is not None:
                        append((minute, event))
                        continue
                    try:
                        append((event_minute(ts), event))
                        continue
                    except ValueError as exc:
                        reason = str(exc)
                else:
                    reason = "service is required: a non-empty string"
            else:
                reason = "expected a JSON object"
        bad += 1
        if len(problems) < MAX_REPORTED_PROBLEMS:
            problems.append(Problem(loc=f"line {number}", msg=reason, file=source))
    if problems:
        raise InvalidInput(f"{bad} bad event line(s); nothing was counted", problems=problems)
    return out


def split_lines(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def _slice_value(event: Mapping[str, Any], path: tuple[str, ...]) -> str:
    current: Any = event
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return MISSING_SLICE
        current = current[part]
    return str(current)[:200] if current is not None else MISSING_SLICE


def count(events: list[tuple[int, dict[str, Any]]], objectives: list[CompiledObjective]) -> Tally:
    """Count each event into every objective of its service whose SLI it belongs to, judging every event.

    The reference semantics; ingest uses the grouped `count_lines` (property-tested to count the same)."""
    by_service: dict[str, list[CompiledObjective]] = {}
    for objective in objectives:
        if objective.counter is not None:
            by_service.setdefault(objective.counter.service, []).append(objective)
    tally = Tally(events=len(events))
    for minute, event in events:
        counted = False
        for objective in by_service.get(event["service"], ()):
            assert objective.counter is not None
            if objective.maintenance and any(a <= minute < b for a, b in objective.maintenance):
                continue
            verdict = objective.counter.judge(event)
            if verdict is None:
                continue
            part = _slice_value(event, objective.slice_by) if objective.slice_by else NO_SLICE
            tally.add((objective.series, part, minute), verdict)
            counted = True
        if counted:
            tally.counted += 1
    return tally


def minute_start(minute: int) -> datetime:
    return datetime.fromtimestamp(minute * 60, UTC)


# -- the fast path: group equivalent events, judge each group once -------------------------------------------------
#
# Whether an event is counted, and whether it is good, depends only on the few fields the SLIs read. Ingest
# therefore reduces each event to a key -- service, minute, and for each field read by any SLI its value and
# type, or, for a field only ever ordered against numeric constants, its position among those constants --
# counts the keys (in C, with collections' counter), and then judges one event rebuilt from each distinct key
# with the ordinary compiled filters. The key code is generated once per configuration from the parsed filters
# (field paths are inserted with repr(), constants passed as values), never from raw filter text.

_TAIL = re.compile(r":(?:[0-5]\d|60)(?:\.\d{1,9})?(?:[Zz]|[+-]00:00)")
_PREFIX = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")
_TAILS: set[str] = set()
_PREFIXES: dict[str, int] = {}
_CACHE_LIMIT = 200_000
_MISSING_FIELD = object()
_INLINE_CONSTS = 3


def _remember_ts(text: str) -> bool:
    """Check a `YYYY-MM-DDTHH:MM:SS[.f]Z` timestamp and cache its two halves; False when it has another form."""
    return _remember_tail(text[16:]) and _remember_head(text[:16])


def _remember_tail(tail: str) -> bool:
    """`:SS[.f]Z` (or `+00:00`) after the minute: checked once, then found in the cache."""
    if tail in _TAILS:
        return True
    if _TAIL.fullmatch(tail) is None:
        return False
    if len(_TAILS) > _CACHE_LIMIT:
        _TAILS.clear()
    _TAILS.add(tail)
    return True


def _remember_head(head: str) -> bool:
    """`YYYY-MM-DDTHH:MM`, a real UTC minute: checked once, then its epoch minute is in the cache."""
    if head in _PREFIXES:
        return True
    if _PREFIX.fullmatch(head) is None:
        return False
    try:
        parsed = datetime.fromisoformat(head.replace("t", "T") + ":00+00:00")
    except ValueError:
        return False
    if len(_PREFIXES) > _CACHE_LIMIT:
        _PREFIXES.clear()
    _PREFIXES[head] = int(parsed.timestamp() // 60)
    return True


Path = tuple[str, ...]
Use = tuple[int | float, ...] | str | None  # sorted numeric constants, "text", or None (raw value and type)


def _key_lines(paths: list[tuple[Path, Use]], indent: str) -> tuple[list[str], str]:
    """Statements computing v0.. from event `e`, and the tuple expression of the field part of the key."""
    lines, parts = [], []
    for i, (path, use) in enumerate(paths):
        v = f"v{i}"
        if use == event_filter.TEXT and len(path) == 1:  # inline: every non-string gives the same verdict
            parts.append(f"e.get({path[0]!r}, M)")
            continue
        lines.append(f"{indent}{v} = e.get({path[0]!r}, M)")
        for part in path[1:]:
            lines.append(f"{indent}{v} = {v}.get({part!r}, M) if {v}.__class__ is dict else M")
        if use == event_filter.TEXT:
            parts.append(v)
        elif use is None or isinstance(use, str):
            parts += [v, f"{v}.__class__"]
        else:
            # A number becomes 2 x (constants below it) + (1 if equal to one): an int, never equal to the
            # (value, type) tuple that any other value becomes.
            lines.append(f"{indent}if {v}.__class__ is int or {v}.__class__ is float:")
            if len(use) <= _INLINE_CONSTS:  # a few comparisons are cheaper than a call
                terms = " + ".join(f"({v} > C{i}_{j}) + ({v} >= C{i}_{j})" for j in range(len(use)))
                lines.append(f"{indent}    {v} = {terms}")
            else:
                lines.append(f"{indent}    {v} = 2 * bisect(C{i}, {v}) + ({v} in S{i})")
            lines.append(f"{indent}else:")
            lines.append(f"{indent}    {v} = ({v}, {v}.__class__)")
            parts.append(v)
    return lines, "".join(p + ", " for p in parts)


def _scanner_source(paths: list[tuple[Path, Use]]) -> str:
    body, fields = _key_lines(paths, " " * 16)
    slow_body, _ = _key_lines(paths, "    ")
    return "\n".join(
        [
            "def keyof(e, svc, m):",
            *slow_body,
            f"    return (svc, m, {fields})",
            "",
            "def scan(lines, slow):",
            "    for number, line in enumerate(lines, 1):",
            "        try:",
            "            e = loads(line)",
            '            ts = e["ts"]',
            '            svc = e["service"]',
            # a non-string ts fails here (TypeError) and goes the careful way; a bad service is caught after
            "            if ts[16:] in tails and (m := ts[:16]) in prefixes:",
            *body,
            f"                yield (svc, m, {fields})",
            "                continue",
            "        except Exception:",
            "            pass",
            "        key = slow(number, line)",
            "        if key is not None:",
            "            yield key",
            "",
        ]
    )


@dataclass
class CountPlan:
    """What ingest needs, built once per configuration with `plan_for`."""

    services: dict[str, list[CompiledObjective]]
    paths: list[tuple[Path, Use]]
    keyof: Callable[[dict[str, Any], str, Any], tuple[Any, ...]]
    scan: Callable[[Iterable[bytes], Callable[[int, bytes], Any]], Iterator[tuple[Any, ...]]]
    columns: Columns | None = None


def plan_for(objectives: list[CompiledObjective]) -> CountPlan:
    services: dict[str, list[CompiledObjective]] = {}
    uses: event_filter.FieldUses = {}
    for objective in objectives:
        if objective.counter is None:
            continue
        services.setdefault(objective.counter.service, []).append(objective)
        event_filter.merge_uses(uses, objective.counter.uses)
        if objective.slice_by:
            event_filter.merge_uses(uses, {objective.slice_by: None})
    paths: list[tuple[Path, Use]] = [
        (path, tuple(sorted(use)) if isinstance(use, frozenset) else use) for path, use in sorted(uses.items())
    ]
    scope: dict[str, Any] = {
        "M": _MISSING_FIELD,
        "bisect": bisect_left,
        "loads": orjson.loads,
        "tails": _TAILS,
        "prefixes": _PREFIXES,
    }
    for i, (_path, use) in enumerate(paths):
        if isinstance(use, tuple):
            scope[f"C{i}"], scope[f"S{i}"] = list(use), frozenset(use)
            scope.update({f"C{i}_{j}": c for j, c in enumerate(use)})
    exec(compile(_scanner_source(paths), "<slo-scan>", "exec"), scope)  # noqa: S102 - from parsed paths only
    return CountPlan(services, paths, scope["keyof"], scope["scan"], Columns.build(paths))


# -- the columnar path: decode only the fields the SLIs read, then work on whole columns ---------------------------
#
# msgspec decodes each line into a small struct holding just `ts`, `service` and the fields the filters read,
# skipping (but still checking) the rest of the object. The key parts are then built column by column with
# C-level map/zip, the numeric reductions are computed once per distinct value, and the keys are counted as
# on the line path. Anything unusual -- a line msgspec refuses for any reason, another timestamp form, an
# integer beyond 64 bits, a value that cannot be hashed -- sends the whole batch down the line path, which has
# the reference behaviour and names bad lines. msgspec does not check UTF-8 in the parts it skips, so lines
# are checked for it first. It also accepts, in a skipped field, a number beyond the double range, which orjson
# refuses; the line path accepts such a line too (see _Careful.wide), so both paths agree.

_NUMBER_OR_TEXT = int | float | str | None  # no bool, object or array: those go the line path
_SERVICE = Annotated[str, msgspec.Meta(min_length=1)]
_ROOT = ("ts", "service")
_INT_RANGE = (-(2**63), 2**64)
_head, _tail = itemgetter(slice(0, 16)), itemgetter(slice(16, None))


@dataclass
class Columns:
    """A typed decoder for one configuration, how to read each field's column from its structs, and the
    compiled scanner (`_scan.c`) that counts the same keys without making Python objects per event."""

    decode: Callable[[bytes], Any]
    getters: list[Callable[[Any], Any]]
    uses: list[Use]
    native: Any = None

    @classmethod
    def build(cls, paths: list[tuple[Path, Use]]) -> Columns | None:
        """None when the fields cannot be laid out as structs (a field read both as a value and as an object)."""
        tree: dict[str, Any] = {}
        getters: list[Callable[[Any], Any]] = []
        for i, (path, _use) in enumerate(paths):
            if path[0] in _ROOT:
                if len(path) > 1:
                    return None
                getters.append(attrgetter(path[0]))
                continue
            node = tree
            for name in path[:-1]:
                node = node.setdefault(name, {})
                if not isinstance(node, dict):
                    return None
            if path[-1] in node:
                return None
            node[path[-1]] = i
            getters.append(attrgetter(""))  # replaced below, once the struct attribute names are known
        numbering = itertools.count()
        uses = [use for _path, use in paths]

        def struct(node: dict[str, Any], prefix: str, root: bool) -> type:
            fields: list[Any] = [("ts", str), ("service", _SERVICE)] if root else []
            for name, child in node.items():
                attr = f"f{next(numbering)}"
                if isinstance(child, dict):
                    inner = struct(child, f"{prefix}{attr}.", False)
                    fields.append((attr, inner, msgspec.field(name=name, default_factory=inner)))
                else:
                    kind = _NUMBER_OR_TEXT if isinstance(uses[child], tuple) else Any
                    fields.append((attr, kind, msgspec.field(name=name, default=_MISSING_FIELD)))
                    getters[child] = attrgetter(prefix + attr)
            return msgspec.defstruct(f"_Event{next(numbering)}", fields, gc=False)

        return cls(msgspec.json.Decoder(struct(tree, "", True)).decode, getters, uses, _native(paths))

    def count(self, lines: list[bytes]) -> tuple[dict[tuple[Any, ...], int], str] | None:
        """Key counts for the batch and the way they were made, or None when some line needs the line path."""
        if self.native is not None:
            pairs = self.native.count(lines)
            if pairs is not None:
                counts: dict[tuple[Any, ...], int] = {}
                for key, n in pairs:  # keys that differ in C (1 and 1.0 where only text matters) may be equal
                    counts[key] = counts.get(key, 0) + n
                if not all(map(_remember_head, {key[1] for key in counts})):
                    return None
                return counts, "native"
        counts_ = self.columns(lines)
        return None if counts_ is None else (counts_, "columns")

    def columns(self, lines: list[bytes]) -> dict[tuple[Any, ...], int] | None:
        """Key counts made with msgspec and whole columns, or None when some line needs the line path.

        One pass over the decoded structs builds every key (lazy maps zipped together keep each struct in the
        cache while its key is made); values are checked and reduced once per distinct value, in the tables'
        `__missing__`, or afterwards on the distinct keys."""
        lines = list(filter(None, lines))
        if not all(map(bytes.isascii, lines)):
            try:
                for line in itertools.filterfalse(bytes.isascii, lines):
                    line.decode()
            except UnicodeDecodeError:
                return None
        try:
            structs = list(map(self.decode, lines))
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None
        stamps = attrgetter("ts")
        parts: list[Iterable[Any]] = [
            map(attrgetter("service"), structs),
            map(_head, map(stamps, structs)),
            map(_TAIL_TABLE.__getitem__, map(_tail, map(stamps, structs))),
        ]
        raw: list[int] = []  # key positions holding raw values, checked afterwards
        for getter, use in zip(self.getters, self.uses, strict=True):
            if isinstance(use, tuple):
                parts.append(map(_Reduction(use).__getitem__, map(getter, structs)))
            elif use == event_filter.TEXT:
                parts.append(map(getter, structs))
            else:
                raw.append(len(parts))
                parts += [map(getter, structs), map(type, map(getter, structs))]
        counts: dict[tuple[Any, ...], int] = {}
        try:
            _count_elements(counts, zip(*parts, strict=True))
        except (TypeError, _Unusual):  # an unhashable value where a value is read, or an unusual one
            return None
        heads = {key[1] for key in counts}
        if not all(map(_remember_head, heads)):
            return None
        if any(type(key[i]) is int and not _INT_RANGE[0] <= key[i] < _INT_RANGE[1] for key in counts for i in raw):
            return None  # orjson reads such an integer as a float
        return {(key[0], key[1], *key[3:]): n for key, n in counts.items()}


def _native(paths: list[tuple[Path, Use]]) -> Any:
    """The compiled scanner for these fields, or None when it is not built or cannot read them."""
    if _scan is None:
        return None
    fields = []
    for path, use in paths:
        if isinstance(use, tuple):
            fields.append((path, _scan.KIND_NUMBER, use))
        else:
            fields.append((path, _scan.KIND_TEXT if use == event_filter.TEXT else _scan.KIND_RAW, ()))
    try:
        return _scan.Scanner(fields, _MISSING_FIELD)
    except ValueError:  # e.g. an integer constant beyond 2**53, which a double cannot hold exactly
        return None


class _Unusual(Exception):
    """A value the columnar path leaves to the line path."""


class _TailTable(dict[str, None]):
    """Seconds-and-offset tails of `ts` seen before; a new one is checked once (`_remember_tail`)."""

    def __missing__(self, tail: str) -> None:
        if not _remember_tail(tail):
            raise _Unusual(tail)
        if len(self) > _CACHE_LIMIT:
            self.clear()
        self[tail] = None


_TAIL_TABLE = _TailTable()


class _Reduction(dict[Any, Any]):
    """Key part of each distinct value of a field only ordered against numeric constants, made on first sight."""

    def __init__(self, consts: tuple[int | float, ...]) -> None:
        super().__init__()
        self.consts = consts

    def __missing__(self, value: Any) -> Any:
        if type(value) is int and not _INT_RANGE[0] <= value < _INT_RANGE[1]:
            raise _Unusual(value)  # orjson reads such an integer as a float
        part = self[value] = _reduced(self.consts, value)
        return part


def _reduced(consts: tuple[int | float, ...], value: Any) -> Any:
    """The key part of a value of a field only ordered against numeric constants (as in the generated code)."""
    if type(value) is int or type(value) is float:
        return 2 * bisect_left(consts, value) + (value in consts)
    return (value, type(value))


def _representative(consts: tuple[int | float, ...], position: int) -> int | float:
    """A number with the given position among `consts` (the inverse of the key's reduction)."""
    below, equal = divmod(position, 2)
    if equal:
        return consts[below]
    if below == 0:
        return consts[0] - 1
    if below == len(consts):
        return consts[-1] + 1
    return (consts[below - 1] + consts[below]) / 2


def _rebuild(paths: list[tuple[Path, Use]], fields: tuple[Any, ...]) -> dict[str, Any]:
    """An event with the same values, for every field the SLIs read, as the events of one key."""
    event: dict[str, Any] = {}
    i = 0
    for path, use in paths:
        part = fields[i]
        if use == event_filter.TEXT:
            value, i = part, i + 1
        elif use is None or isinstance(use, str):
            value, i = part, i + 2
        else:
            value = _representative(use, part) if type(part) is int else part[0]
            i += 1
        if value is _MISSING_FIELD:
            continue
        target = event
        for name in path[:-1]:
            inner = target.setdefault(name, {})
            if not isinstance(inner, dict):
                break
            target = inner
        else:
            target.setdefault(path[-1], value)
    return event


def _verdicts(members: list[CompiledObjective], event: dict[str, Any]) -> list[tuple[CompiledObjective, str, bool]]:
    out = []
    for objective in members:
        assert objective.counter is not None
        verdict = objective.counter.judge(event)
        if verdict is not None:
            part = _slice_value(event, objective.slice_by) if objective.slice_by else NO_SLICE
            out.append((objective, part, verdict))
    return out


class _Careful:
    """Lines off the fast path: blank, invalid, another timestamp form, or an unhashable field value."""

    def __init__(self, plan: CountPlan, source: str) -> None:
        self.plan, self.source = plan, source
        self.problems: list[Problem] = []
        self.bad = 0
        self.odd: list[tuple[int, dict[str, Any]]] = []  # judged one by one

    def __call__(self, number: int, line: bytes) -> tuple[Any, ...] | None:
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if not line.strip():
                return None
            wide = self.wide(line)
            if wide is None:
                return self._bad(number, f"invalid JSON: {exc}")
            event = wide
        if type(event) is not dict:
            return self._bad(number, "expected a JSON object")
        service, ts = event.get("service"), event.get("ts")
        if type(service) is not str or not service:
            return self._bad(number, "service is required: a non-empty string")
        try:
            minute = _PREFIXES[ts[:16]] if type(ts) is str and _remember_ts(ts) else event_minute(ts)
        except ValueError as exc:
            return self._bad(number, str(exc))
        key = self.plan.keyof(event, service, minute)
        try:
            hash(key)
        except TypeError:  # e.g. a nested object where a filter expects a value
            self.odd.append((minute, event))
            return None
        return key

    def wide(self, line: bytes) -> dict[str, Any] | None:
        """The fields read from a line orjson refuses but the typed decoder reads: valid JSON with a number
        beyond the double range in a field no SLI reads. The columnar path counts such lines, and so does this."""
        if self.plan.columns is None:
            return None
        try:
            line.decode()
            return _as_event(self.plan.columns.decode(line))
        except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            return None

    def _bad(self, number: int, reason: str) -> tuple[Any, ...] | None:
        """Record a bad line; nothing to count (None)."""
        self.bad += 1
        if len(self.problems) < MAX_REPORTED_PROBLEMS:
            self.problems.append(Problem(loc=f"line {number}", msg=reason, file=self.source))
        return None


def _as_event(struct: Any) -> dict[str, Any]:
    """The fields of a decoded struct as an event (missing fields left out)."""
    out: dict[str, Any] = {}
    for info in msgspec.structs.fields(struct):
        value = getattr(struct, info.name)
        if isinstance(value, msgspec.Struct):
            value = _as_event(value)
        if value is not _MISSING_FIELD:
            out[info.encode_name] = value
    return out


def count_lines(lines: list[bytes], plan: CountPlan, *, source: str = "body") -> Tally:
    """Parse, check and count NDJSON lines; raises InvalidInput listing bad lines (nothing counted).

    Four ways, each taken only when the one before cannot count the batch: the compiled scanner (typical
    batches), msgspec and whole columns, line by line with a generated key function, and carefully line by
    line (names every bad line)."""
    counted = plan.columns.count(lines) if plan.columns is not None else None
    if counted is not None:
        return _tally_keys(plan, counted[0], [], path=counted[1])
    careful = _Careful(plan, source)
    counts: dict[tuple[Any, ...], int] = {}
    path = "lines"
    try:
        _count_elements(counts, plan.scan(lines, careful))
        fast_ok = all(type(key[0]) is str and key[0] for key in counts)
    except TypeError:  # an unhashable value on the fast path
        fast_ok = False
    if not fast_ok:  # count this batch the careful way (it also names the lines with a bad service)
        careful, counts, path = _Careful(plan, source), {}, "careful"
        for number, line in enumerate(lines, 1):
            key = careful(number, line)
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
    if careful.problems:
        raise InvalidInput(f"{careful.bad} bad event line(s); nothing was counted", problems=careful.problems)
    return _tally_keys(plan, counts, careful.odd, path=path)


def _tally_keys(
    plan: CountPlan, counts: dict[tuple[Any, ...], int], odd: list[tuple[int, dict[str, Any]]], *, path: str
) -> Tally:
    """Judge one rebuilt event per distinct key and add each key's count to the objectives it belongs to."""
    tally = Tally(events=sum(counts.values()) + len(odd), path=path)
    judged: dict[tuple[Any, ...], list[tuple[CompiledObjective, str, bool]]] = {}
    for key, n in counts.items():
        members = plan.services.get(key[0])
        if members is None:
            continue
        what = (key[0], *key[2:])
        verdicts = judged.get(what)
        if verdicts is None:
            verdicts = judged[what] = _verdicts(members, _rebuild(plan.paths, key[2:]))
        minute = key[1] if type(key[1]) is int else _PREFIXES.get(key[1])
        if minute is None:  # the timestamp cache was cleared meanwhile
            minute = int(datetime.fromisoformat(key[1].replace("t", "T") + ":00+00:00").timestamp() // 60)
        _add_verdicts(tally, verdicts, minute, n)
    for minute, event in odd:
        _add_verdicts(tally, _verdicts(plan.services.get(event["service"], []), event), minute, 1)
    return tally


def _add_verdicts(tally: Tally, verdicts: list[tuple[CompiledObjective, str, bool]], minute: int, n: int) -> None:
    counted = False
    counts = tally.counts
    for objective, part, good in verdicts:
        if objective.maintenance and any(a <= minute < b for a, b in objective.maintenance):
            continue
        key = (objective.series, part, minute)
        acc = counts.get(key)
        if acc is None:
            acc = counts[key] = [0, 0]
        acc[1] += n
        if good:
            acc[0] += n
        counted = True
    if counted:
        tally.counted += n


def count_events(events: list[tuple[int, dict[str, Any]]], plan: CountPlan) -> Tally:
    """Count already parsed (minute, event) pairs (OTLP), judging each event directly."""
    tally = Tally(events=len(events))
    for minute, event in events:
        members = plan.services.get(event["service"])
        if members:
            _add_verdicts(tally, _verdicts(members, event), minute, 1)
    return tally
