from __future__ import annotations

from datetime import UTC

import pytest

from eventrail.errors import BadRequest
from eventrail.kit.dates import format_iso, parse_date_param, parse_date_range, zone

IST = zone("Asia/Kolkata")


@pytest.mark.parametrize(
    ("text", "tz", "end", "expected"),
    [
        ("1712836800000", UTC, False, 1712836800000),
        ("0", UTC, False, 0),
        ("2024-04-11", UTC, False, 1712793600000),
        ("2024-04-11", UTC, True, 1712793600000 + 86_400_000 - 1),
        ("2024-04-11", IST, False, 1712793600000 - 19_800_000),
        ("2024-04-11 12:00:00", UTC, False, 1712836800000),
        ("2024-04-11 12:00:00", UTC, True, 1712836800999),
        ("2024-04-11 12:00:00", IST, False, 1712836800000 - 19_800_000),
        ("2024-04-11T12:00:00", UTC, False, 1712836800000),
        ("2024-04-11T12:00:00Z", IST, False, 1712836800000),
        ("2024-04-11T17:30:00+05:30", UTC, False, 1712836800000),
        ("2024-04-11T17:30:00+0530", UTC, False, 1712836800000),
        # an unencoded "+" in a query string arrives as a space
        ("2024-04-11T17:30:00 05:30", UTC, False, 1712836800000),
        ("2024-04-11T12:00:00.250Z", UTC, False, 1712836800250),
        ("2024-04-11T12:00:00.250Z", UTC, True, 1712836800250),
        ("  2024-04-11  ", UTC, False, 1712793600000),
    ],
)
def test_accepted_formats(text: str, tz: object, end: bool, expected: int) -> None:
    assert parse_date_param(text, name="from_date", tz=tz, end=end) == expected  # type: ignore[arg-type]


MALFORMED = [
    "",
    " ",
    "yesterday",
    "2024-13-01",
    "2024-02-30",
    "2024/01/01",
    "01-02-2024",
    "2024-1-1",
    "12:00",
    "2024-01-01T25:00:00",
    "2024-01-01 23:60:00",
    "2024-01-01T10:00:00+25:00",
    "2024-01-01T10:00",
    "-1",
    "1e12",
    "9999999999999999",
    "2024-01-01T10:00:00+05:30:00",
    "２０２４-01-01",
    "NaN",
    "null",
    "2024-01-01'; DROP TABLE orgs; --",
]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_dates_name_the_parameter(text: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_date_param(text, name="startDate", tz=UTC)
    assert "'startDate'" in info.value.message
    assert info.value.status_code == 400


def test_range_order() -> None:
    assert parse_date_range("2024-01-01", "2024-01-01", start_name="a", end_name="b", tz=UTC) == (
        1704067200000,
        1704153599999,
    )
    with pytest.raises(BadRequest) as info:
        parse_date_range(
            "2024-01-02", "2024-01-01", start_name="from_date", end_name="to_date", tz=UTC
        )
    assert "'from_date'" in info.value.message and "'to_date'" in info.value.message


def test_format_iso_matches_seed_samples() -> None:
    assert format_iso(1746694617000, UTC) == "2025-05-08T08:56:57Z"
    assert format_iso(1729599100186, IST) == "2024-10-22T17:41:40+05:30"


def test_unknown_zone() -> None:
    with pytest.raises(ValueError, match="unknown timezone"):
        zone("Mars/Olympus")
