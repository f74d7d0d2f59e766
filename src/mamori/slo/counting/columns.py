"""The columnar path: decode only the fields the SLIs read, then work on whole columns. No I/O.

msgspec decodes each line into a small struct holding just `ts`, `service` and the fields the filters read,
skipping (but still checking) the rest of the object. The key parts are then built column by column with
C-level map/zip, the numeric reductions are computed once per distinct value, and the keys are counted as
on the line path. Anything unusual -- a line msgspec refuses for any reason, another timestamp form, an
integer beyond 64 bits, a value that cannot be hashed -- sends the whole batch down the line path, which has
the reference behaviour and names bad lines. msgspec does not check UTF-8 in the parts it skips, so lines
are checked for it first. It also accepts, in a skipped field, a number beyond the double range, which orjson
refuses; the line path accepts such a line too (see `batches.Careful.wide`), so both paths agree.
Before either, the compiled scanner (`_scan.c`) counts the same keys without making Python objects.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections import _count_elements  # type: ignore[attr-defined]
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Annotated, Any

import msgspec

from mamori.slo import filter as event_filter
from mamori.slo.counting.keys import MISSING_FIELD, Path, Use
from mamori.slo.counting.stamps import Stamps, Unusual

try:
    from mamori.slo import _scan
except ImportError:  # not compiled where Mamori was installed: the msgspec columns count instead
    _scan = None  # type: ignore[assignment]

_NUMBER_OR_TEXT = int | float | str | None  # no bool, object or array: those go the line path
_SERVICE = Annotated[str, msgspec.Meta(min_length=1)]
_ROOT = ("ts", "service")
INT_RANGE = (-(2**63), 2**64)
_head, _tail = itemgetter(slice(0, 16)), itemgetter(slice(16, None))


@dataclass
class Columns:
    """A typed decoder for one configuration, how to read each field's column from its structs, and the
    compiled scanner (`_scan.c`) that counts the same keys without making Python objects per event."""

    decode: Callable[[bytes], Any]
    getters: list[Callable[[Any], Any]]
    uses: list[Use]
    native: Any = None
    stamps: Stamps = field(default_factory=Stamps)

    @classmethod
    def build(cls, paths: list[tuple[Path, Use]], stamps: Stamps) -> Columns | None:
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
                    fields.append((attr, kind, msgspec.field(name=name, default=MISSING_FIELD)))
                    getters[child] = attrgetter(prefix + attr)
            return msgspec.defstruct(f"_Event{next(numbering)}", fields, gc=False)

        return cls(msgspec.json.Decoder(struct(tree, "", True)).decode, getters, uses, _native(paths), stamps)

    def count(self, lines: list[bytes]) -> tuple[dict[tuple[Any, ...], int], str] | None:
        """Key counts for the batch and the way they were made, or None when some line needs the line path."""
        if self.native is not None:
            pairs = self.native.count(lines)
            if pairs is not None:
                counts: dict[tuple[Any, ...], int] = {}
                for key, n in pairs:  # keys that differ in C (1 and 1.0 where only text matters) may be equal
                    counts[key] = counts.get(key, 0) + n
                if not all(map(self.stamps.remember_head, {key[1] for key in counts})):
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
        ts_of = attrgetter("ts")
        parts: list[Iterable[Any]] = [
            map(attrgetter("service"), structs),
            map(_head, map(ts_of, structs)),
            map(self.stamps.tail_table.__getitem__, map(_tail, map(ts_of, structs))),
        ]
        raw: list[int] = []  # key positions holding raw values, checked afterwards
        for getter, use in zip(self.getters, self.uses, strict=True):
            if isinstance(use, tuple):
                parts.append(map(Reduction(use).__getitem__, map(getter, structs)))
            elif use == event_filter.TEXT:
                parts.append(map(getter, structs))
            else:
                raw.append(len(parts))
                parts += [map(getter, structs), map(type, map(getter, structs))]
        counts: dict[tuple[Any, ...], int] = {}
        try:
            _count_elements(counts, zip(*parts, strict=True))
        except (TypeError, Unusual):  # an unhashable value where a value is read, or an unusual one
            return None
        heads = {key[1] for key in counts}
        if not all(map(self.stamps.remember_head, heads)):
            return None
        if any(type(key[i]) is int and not INT_RANGE[0] <= key[i] < INT_RANGE[1] for key in counts for i in raw):
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
        return _scan.Scanner(fields, MISSING_FIELD)
    except ValueError:  # e.g. an integer constant beyond 2**53, which a double cannot hold exactly
        return None


class Reduction(dict[Any, Any]):
    """Key part of each distinct value of a field only ordered against numeric constants, made on first sight."""

    def __init__(self, consts: tuple[int | float, ...]) -> None:
        super().__init__()
        self.consts = consts

    def __missing__(self, value: Any) -> Any:
        if type(value) is int and not INT_RANGE[0] <= value < INT_RANGE[1]:
            raise Unusual(value)  # orjson reads such an integer as a float
        part = self[value] = reduced(self.consts, value)
        return part


def reduced(consts: tuple[int | float, ...], value: Any) -> Any:
    """The key part of a value of a field only ordered against numeric constants (as in the generated code)."""
    if type(value) is int or type(value) is float:
        return 2 * bisect_left(consts, value) + (value in consts)
    return (value, type(value))
