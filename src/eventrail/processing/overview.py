"""The console's overview: outcomes per status over the last day and week (from the
rollup, event_log_counts), the most frequent failures, each webhook's last entry and
the ingestion backlog. Every read is bounded by an index range, whatever the log's size."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eventrail.auth.schemas import Caller
from eventrail.kit.dates import now_ms, to_ms, zone
from eventrail.models.event_log_count import SLOT_MS
from eventrail.processing import statuses as st
from eventrail.processing.repository import EventReads
from eventrail.processing.service import UNAUTHORIZED_FILTER, visible_orgs

TOP_FAILURES = 10
BACKLOG_CAP = 10_000
HOUR_MS = 3_600_000


@dataclass(frozen=True, slots=True)
class Bucket:
    start_ms: int
    end_ms: int  # exclusive
    counts: dict[str, int]  # per status (UNAUTHORIZED for entries without one)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _bucket_starts(now: int, tz_name: str, *, days: bool, n: int) -> list[int]:
    """The starts of the ``n`` last hours or days (in the org's timezone), oldest first,
    the last one holding ``now``."""
    tz = zone(tz_name)
    moment = datetime.fromtimestamp(now / 1000, tz=tz)
    if days:
        day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return [to_ms(day - timedelta(days=k)) for k in range(n - 1, -1, -1)]
    hour = to_ms(moment.replace(minute=0, second=0, microsecond=0))
    return [hour - k * HOUR_MS for k in range(n - 1, -1, -1)]


def _buckets(slots: dict[int, dict[str, int]], starts: list[int], now: int) -> list[Bucket]:
    ends = [*starts[1:], now + 1]
    out = []
    for start, end in zip(starts, ends, strict=True):
        counts: dict[str, int] = {}
        for slot, per_status in slots.items():
            if start <= slot < end:
                for status, n in per_status.items():
                    counts[status] = counts.get(status, 0) + n
        out.append(Bucket(start, end, counts))
    return out


def overview(reader: EventReads, caller: Caller, now: int | None = None) -> dict[str, Any]:
    """What the console's landing page shows (the caller's orgs: a parent's children too)."""
    now = now_ms() if now is None else now
    org_ids = list(visible_orgs(reader, caller))
    days = _bucket_starts(now, caller.org_timezone, days=True, n=7)
    hours = _bucket_starts(now, caller.org_timezone, days=False, n=24)
    lo = min(days[0], hours[0]) // SLOT_MS * SLOT_MS
    slots: dict[int, dict[str, int]] = {}
    for slot, status, count in reader.overview_slots(org_ids, lo):
        per_status = slots.setdefault(slot, {})
        key = status or UNAUTHORIZED_FILTER
        per_status[key] = per_status.get(key, 0) + count
    week_lo = days[0] // SLOT_MS * SLOT_MS
    failures = [
        {
            "eventName": name,
            "status": status or UNAUTHORIZED_FILTER,
            "message": message,
            "count": count,
            "lastSlot": last,
        }
        for name, status, message, count, last in reader.top_failures(
            org_ids, week_lo, st.EVENT_SUCCESS, TOP_FAILURES
        )
    ]
    waiting, oldest = reader.backlog(org_ids, BACKLOG_CAP + 1)
    return {
        "hours": _buckets(slots, hours, now),
        "days": _buckets(slots, days, now),
        "failures": failures,
        "from_ms": days[0],
        "backlog": {
            "waiting": min(waiting, BACKLOG_CAP),
            "more": waiting > BACKLOG_CAP,
            "oldest_ms": oldest,
            "age_seconds": 0.0 if oldest is None else max(0.0, (now - oldest) / 1000),
        },
    }


def webhook_last_entries(
    reader: EventReads, org_id: int, webhook_ids: list[str]
) -> dict[str, int | None]:
    """When each of the org's webhooks last had an entry (epoch ms; None: never): the
    rollup's newest quarter-hour of the webhook, then the log within it. An entry
    retention deleted since is dated by its quarter-hour."""
    return {webhook_id: reader.webhook_last_entry(org_id, webhook_id) for webhook_id in webhook_ids}


def replays_of(reader: EventReads, caller: Caller, log_id: str) -> list[dict[str, Any]]:
    """The replays of one of the caller's orgs' entries, newest first."""
    org_ids = list(visible_orgs(reader, caller))
    return [
        {
            "id": rid,
            "state": state,
            "requestedBy": who,
            "requestedAt": at,
            "status": status,
            "message": message,
        }
        for rid, state, who, at, status, message in reader.replays_of(org_ids, log_id)
    ]
