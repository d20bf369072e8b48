"""Dates on the wire: parsing query parameters, rendering timestamps.

Accepted everywhere a date parameter is read: epoch milliseconds,
``yyyy-MM-dd``, ``yyyy-MM-dd HH:mm:ss`` and ISO 8601 with or without an
offset. Without an offset the org's timezone applies. A date-only *end* means
the end of that day; a second-precision end includes that whole second.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eventrail.errors import BadRequest

_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$", re.ASCII)
_DATETIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?"
    # A space before the offset is a "+" that arrived unencoded in a query string.
    r"(Z|[+ -]\d{2}:?\d{2})?$",
    re.ASCII,
)
_EPOCH_MS = re.compile(r"^\d{1,15}$", re.ASCII)
_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

DATE_FORMATS_HELP = (
    "epoch milliseconds, yyyy-MM-dd, yyyy-MM-dd HH:mm:ss or ISO 8601 (yyyy-MM-ddTHH:mm:ss[+HH:MM])"
)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@lru_cache(maxsize=512)
def zone(name: str) -> tzinfo:
    """An IANA timezone; raises ValueError for an unknown name."""
    if name == "UTC":
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown timezone {name!r}") from exc


def to_ms(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def parse_date_param(value: str, *, name: str, tz: tzinfo, end: bool = False) -> int:
    """Parse a date query parameter into epoch milliseconds (inclusive bound)."""
    text = value.strip()
    try:
        if _EPOCH_MS.match(text):
            ms = int(text)
            if ms > _MAX_MS:
                raise ValueError("out of range")
            return ms
        match = _DATE.match(text)
        if match:
            day = date(int(match[1]), int(match[2]), int(match[3]))
            if end:
                # The last millisecond of that day on the wall clock (safe for 9999-12-31).
                return to_ms(datetime(day.year, day.month, day.day, 23, 59, 59, 999000, tzinfo=tz))
            return to_ms(datetime(day.year, day.month, day.day, tzinfo=tz))
        match = _DATETIME.match(text)
        if match:
            fraction = match[7]
            micro = int((fraction[1:] + "000000")[:6]) if fraction else 0
            offset = match[8]
            moment_tz: tzinfo = tz
            if offset:
                moment_tz = _offset_zone(offset)
            moment = datetime(
                int(match[1]),
                int(match[2]),
                int(match[3]),
                int(match[4]),
                int(match[5]),
                int(match[6]),
                micro,
                tzinfo=moment_tz,
            )
            ms = to_ms(moment)
            if end and not fraction:
                ms += 999
            return ms
    except (ValueError, OverflowError):
        pass
    raise BadRequest(f"Invalid date for parameter '{name}': expected {DATE_FORMATS_HELP}")


def _offset_zone(offset: str) -> tzinfo:
    if offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    digits = offset[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        raise ValueError("bad offset")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def parse_date_range(
    start: str | None,
    end: str | None,
    *,
    start_name: str,
    end_name: str,
    tz: tzinfo,
) -> tuple[int | None, int | None]:
    """Both bounds of a range, each optional; start after end is a 400."""
    lo = parse_date_param(start, name=start_name, tz=tz) if start is not None else None
    hi = parse_date_param(end, name=end_name, tz=tz, end=True) if end is not None else None
    if lo is not None and hi is not None and lo > hi:
        raise BadRequest(f"'{start_name}' must not be after '{end_name}'")
    return lo, hi


def format_iso(ms: int, tz: tzinfo) -> str:
    """``2025-05-08T08:56:57Z`` in UTC, ``2024-10-22T17:41:40+05:30`` elsewhere (seconds)."""
    moment = datetime.fromtimestamp(ms // 1000, tz=tz)
    text = moment.isoformat()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    return text


# Capillary's accepted eventDateTime / DATE formats, as strptime
# patterns, tried in this order. Values without an offset are UTC wall-clock time
# ("2024-04-11 12:00:00" -> 1712836800000), as Capillary stores them.
_EVENT_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%d-%m-%Y %H:%M:%S",
    "%m/%d/%Y %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%m/%d/%Y",
    "%Y%m%d %H:%M:%S",
    "%d-%b-%y",
    "%a %b %d %H:%M:%S %Z %Y",
    "%B,%d,%Y",
    "%B,%d",
    "%Y-%d-%m %H:%M:%S",
)


def parse_event_datetime(value: object) -> int | None:
    """Epoch milliseconds of an event date (any of Capillary's formats, or epoch ms)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value if 0 <= value <= _MAX_MS else None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if _EPOCH_MS.match(text):
        ms = int(text)
        return ms if ms <= _MAX_MS else None
    if "T" in text and (text.endswith("Z") or "+" in text[10:] or text[19:20] == "-"):
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return to_ms(moment) if moment.tzinfo is not None else None
    for pattern in _EVENT_FORMATS:
        try:
            moment = datetime.strptime(text, pattern)  # UTC wall clock, made aware below
        except ValueError:
            continue
        if pattern == "%B,%d":
            moment = moment.replace(year=1970)
        return to_ms(moment.replace(tzinfo=UTC))
    return None
