"""iCalendar (RFC 5545) for on-call: export final shifts as VEVENTs, and read VEVENTs back as fixed shifts.

Pure: no I/O. Export writes UTC instants (`DTSTART:20260105T080000Z`), escapes TEXT values and folds
lines at 75 octets without splitting a UTF-8 character. Import accepts the UTC, `TZID=` and floating
(schedule-local) forms of DTSTART/DTEND (or DURATION), and all-day dates; the person on call is the
first `ATTENDEE` with a mailto: address, else an email address in SUMMARY.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mamori.incidents.oncall.rotation import Shift

PRODID = "-//Mamori//On-call schedules//EN"
FOLD_AT = 75
_EMAIL = re.compile(r"[^@\s<>:;,\"]+@[^@\s<>:;,\"]+\.[^@\s<>:;,\"]+")
_DURATION = re.compile(r"^([+-])?P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


class ICalError(ValueError):
    """The calendar cannot be read; the message names the line or event."""


# ---------------------------------------------------------------- export


def escape_text(value: str) -> str:
    """RFC 5545 3.3.11 TEXT: backslash, semicolon, comma and newlines are escaped."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """RFC 5545 3.1: lines longer than 75 octets continue on the next line after CRLF + one space."""
    raw = line.encode("utf-8")
    if len(raw) <= FOLD_AT:
        return line
    parts: list[str] = []
    current, size, limit = "", 0, FOLD_AT
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, FOLD_AT - 1  # continuation lines start with a space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def calendar(shifts: Iterable[tuple[str, Shift]], *, name: str, now: datetime, uid_domain: str = "mamori") -> str:
    """A VCALENDAR with one VEVENT per (schedule, shift) that has someone on call; gaps are left out."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
    ]
    for schedule, shift in shifts:
        if shift.user is None:
            continue
        uid = hashlib.sha256(f"{schedule}|{shift.user}|{_stamp(shift.start)}".encode()).hexdigest()[:32]
        layer = "override" if shift.layer == "override" else f"layer {shift.layer}"
        lines += [
            "BEGIN:VEVENT",
            f"UID:{uid}@{uid_domain}",
            f"DTSTAMP:{_stamp(now)}",
            f"DTSTART:{_stamp(shift.start)}",
            f"DTEND:{_stamp(shift.end)}",
            f"SUMMARY:{escape_text(f'On call: {shift.user} ({schedule})')}",
            f"DESCRIPTION:{escape_text(f'Schedule {schedule}, {layer}')}",
            f"ATTENDEE;ROLE=REQ-PARTICIPANT:mailto:{shift.user}",
            "TRANSP:TRANSPARENT",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)


# ---------------------------------------------------------------- import


@dataclass(frozen=True)
class Property:
    name: str
    params: dict[str, str]
    value: str
    line: int


@dataclass(frozen=True)
class Event:
    """One imported VEVENT: `start`/`end` are aware (UTC or TZID) or naive (floating: schedule-local)."""

    uid: str | None
    start: datetime
    end: datetime
    user: str
    summary: str


def unfold(text: str) -> list[tuple[int, str]]:
    """Content lines with their first physical line number; a line starting with space/tab continues."""
    out: list[tuple[int, str]] = []
    for number, physical in enumerate(re.split(r"\r\n|\n|\r", text), start=1):
        if physical[:1] in (" ", "\t") and out:
            out[-1] = (out[-1][0], out[-1][1] + physical[1:])
        elif physical.strip():
            out.append((number, physical))
    return out


def parse_property(line: str, number: int) -> Property:
    """`NAME;PARAM=a;PARAM="quoted:value":value` — colons inside quoted parameter values do not split."""
    in_quotes = False
    for i, char in enumerate(line):
        if char == '"':
            in_quotes = not in_quotes
        elif char == ":" and not in_quotes:
            head, value = line[:i], line[i + 1 :]
            break
    else:
        raise ICalError(f"line {number}: not a content line (no ':'): {line[:60]!r}")
    pieces = re.findall(r'(?:[^;"]|"[^"]*")+', head)
    if not pieces:
        raise ICalError(f"line {number}: property has no name")
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        key, sep, val = piece.partition("=")
        if not sep:
            raise ICalError(f"line {number}: parameter {piece!r} has no '='")
        params[key.upper()] = val.strip('"')
    return Property(pieces[0].upper(), params, value, number)


def unescape_text(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        char = value[i]
        if char == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        out.append(char)
        i += 1
    return "".join(out)


def parse_datetime(prop: Property) -> datetime:
    """DATE-TIME in UTC (Z), with TZID, or floating (naive); DATE (all day) is local midnight."""
    value = prop.value.strip()
    try:
        if prop.params.get("VALUE", "").upper() == "DATE" or re.fullmatch(r"\d{8}", value):
            day = date(int(value[0:4]), int(value[4:6]), int(value[6:8]))
            at = datetime(day.year, day.month, day.day)
        else:
            at = datetime.strptime(value.rstrip("Zz"), "%Y%m%dT%H%M%S")
    except ValueError:
        raise ICalError(f"line {prop.line}: {prop.name} {value!r} is not an iCalendar date or date-time") from None
    if value.upper().endswith("Z"):
        return at.replace(tzinfo=UTC)
    tzid = prop.params.get("TZID")
    if tzid:
        try:
            return at.replace(tzinfo=ZoneInfo(tzid.lstrip("/")))
        except (ZoneInfoNotFoundError, ValueError):
            raise ICalError(f"line {prop.line}: unknown TZID {tzid!r}; use an IANA time zone name") from None
    return at


def parse_duration(prop: Property) -> timedelta:
    match = _DURATION.match(prop.value.strip())
    if match is None or not any(match.groups()[1:]):
        raise ICalError(f"line {prop.line}: DURATION {prop.value!r} is not an iCalendar duration like PT8H")
    sign, weeks, days, hours, minutes, seconds = match.groups()
    delta = timedelta(
        weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0), minutes=int(minutes or 0),
        seconds=int(seconds or 0),
    )  # fmt: skip
    return -delta if sign == "-" else delta


def _user(props: dict[str, list[Property]], where: str) -> str:
    for attendee in props.get("ATTENDEE", []):
        address = attendee.value.strip()
        if address.lower().startswith("mailto:"):
            return address[7:].strip().lower()
        if _EMAIL.fullmatch(address):
            return address.lower()
    for summary in props.get("SUMMARY", []):
        found = _EMAIL.search(unescape_text(summary.value))
        if found:
            return found.group(0).rstrip(".)").lower()
    raise ICalError(f"{where}: cannot tell who is on call: add ATTENDEE:mailto:<email> or an email in SUMMARY")


def _aware_order(start: datetime, end: datetime) -> bool:
    if (start.tzinfo is None) != (end.tzinfo is None):
        return True  # mixed floating/zoned: the schedule's zone decides; checked when laid out
    return end > start


def parse_events(text: str) -> list[Event]:
    """Every VEVENT of a VCALENDAR; recurring events (RRULE/RDATE) are refused with a clear error."""
    lines = unfold(text)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise ICalError("not an iCalendar file: it must start with BEGIN:VCALENDAR")
    events: list[Event] = []
    current: dict[str, list[Property]] | None = None
    depth: list[str] = []
    started = 0
    for number, line in lines:
        prop = parse_property(line, number)
        if prop.name == "BEGIN":
            depth.append(prop.value.strip().upper())
            if depth[-1] == "VEVENT":
                current, started = {}, number
            continue
        if prop.name == "END":
            ended = prop.value.strip().upper()
            if not depth or depth[-1] != ended:
                raise ICalError(f"line {number}: END:{ended} does not close {depth[-1] if depth else 'anything'}")
            depth.pop()
            if ended == "VEVENT" and current is not None:
                events.append(_event(current, f"event at line {started}"))
                current = None
            continue
        if current is not None and depth and depth[-1] == "VEVENT":
            current.setdefault(prop.name, []).append(prop)
    if depth:
        raise ICalError(f"unterminated {depth[-1]}: missing END:{depth[-1]}")
    return events


def _event(props: dict[str, list[Property]], where: str) -> Event:
    if "RRULE" in props or "RDATE" in props:
        raise ICalError(f"{where}: recurring events (RRULE/RDATE) are not supported; export expanded events")
    if "DTSTART" not in props:
        raise ICalError(f"{where}: has no DTSTART")
    start = parse_datetime(props["DTSTART"][0])
    if "DTEND" in props:
        end = parse_datetime(props["DTEND"][0])
    elif "DURATION" in props:
        end = start + parse_duration(props["DURATION"][0])
    else:
        raise ICalError(f"{where}: has neither DTEND nor DURATION")
    if not _aware_order(start, end):
        raise ICalError(f"{where}: ends before it starts")
    summary = unescape_text(props["SUMMARY"][0].value) if "SUMMARY" in props else ""
    uid = props["UID"][0].value if "UID" in props else None
    return Event(uid, start, end, _user(props, where), summary)


def to_shift_specs(events: list[Event]) -> list[dict[str, str]]:
    """Events as the `shifts` of a schedule layer: ISO text, offsets kept, floating times left local."""

    def iso(at: datetime) -> str:
        if at.tzinfo is None:
            return at.isoformat()
        if at.tzinfo is UTC:
            return at.isoformat().replace("+00:00", "Z")
        return at.isoformat()  # TZID: resolved to its offset at that instant (DST-correct)

    return [{"user": e.user, "from": iso(e.start), "to": iso(e.end)} for e in sorted(events, key=_sort_key)]


def _sort_key(event: Event) -> tuple[str, str]:
    start = event.start.astimezone(UTC).isoformat() if event.start.tzinfo else event.start.isoformat()
    return (start, event.user)
