"""Writing notifications into the outbox, in the transaction of the change.

Writers (the customer, card, group and processing services) call :func:`emit`
in the session that makes the change: the outbox rows are inserted there, so a
committed change always has its notifications and a rolled-back one (or a
rolled-back savepoint) never does. An org that no active webhook listens to pays
one dictionary look-up: the webhooks of each org are cached per process for
``CACHE_SECONDS`` and dropped at once when this process changes a webhook
(another process's change is seen within ``CACHE_SECONDS``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from eventrail.audit.service import AuditEvent
from eventrail.kit.dates import now_ms
from eventrail.kit.ids import uuid4
from eventrail.notifications.names import PENDING
from eventrail.notifications.repository import NotificationRepository, Subscriber

CACHE_SECONDS = 1.0


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    by_name: dict[str, tuple[Subscriber, ...]]


class SubscriberCache:
    """Per org: notification name -> the active webhooks that want it."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._entries: dict[int, _Entry] = {}

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def get(self, session: Session, org_id: int, name: str) -> tuple[Subscriber, ...]:
        now = time.monotonic()
        entry = self._entries.get(org_id)
        if entry is None or entry.expires < now:
            by_name: dict[str, list[Subscriber]] = {}
            for names, subscriber in NotificationRepository(session).subscribers(org_id):
                for event_name in orjson.loads(names):
                    by_name.setdefault(event_name, []).append(subscriber)
            entry = _Entry(now + self.ttl, {k: tuple(v) for k, v in by_name.items()})
            with self._lock:
                self._entries[org_id] = entry
        return entry.by_name.get(name, ())


subscribers = SubscriberCache()

# Orders the rows of one entity: microseconds, strictly increasing in a process. Two
# writes to one entity are serialised by the entity's row lock, so the later one
# also gets the larger value across processes (one host clock).
_seq_lock = threading.Lock()
_last_seq = 0


def _next_seq() -> int:
    global _last_seq
    with _seq_lock:
        _last_seq = max(_last_seq + 1, time.time_ns() // 1000)
        return _last_seq


def _iso(ms: int) -> str:
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def emit(
    session: Session,
    org_id: int,
    event_name: str,
    entity_id: int | str,
    data: dict[str, Any],
    *,
    request_id: str | None = None,
) -> int:
    """Queue ``event_name`` about ``entity_id`` of ``org_id`` for every webhook that
    wants it; the number of outbox rows written (0 when nobody listens)."""
    wanted = subscribers.get(session, org_id, event_name)
    if not wanted:
        return 0
    now = now_ms()
    event_id = str(uuid4())
    ref_id = f"{org_id}_{entity_id}"
    api_request_id = request_id or event_id
    body = orjson.dumps(
        {
            "eventId": event_id,
            "eventName": event_name,
            "orgId": org_id,
            "refId": ref_id,
            "createdAt": _iso(now),
            "apiRequestId": api_request_id,
            "data": data,
        }
    ).decode()
    seq = _next_seq()
    rows = [
        {
            "org_id": sub.org_id,
            "id": str(uuid4()),
            "webhook_id": sub.webhook_id,
            "event_id": event_id,
            "event_name": event_name,
            "ref_id": ref_id,
            "request_id": api_request_id[:64],
            "source_org_id": org_id,
            "seq": seq,
            "payload": body,
            "state": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "retry_from": now,
            "sla_seconds": sub.sla_seconds,
        }
        for sub in wanted
    ]
    NotificationRepository(session).add_deliveries(rows)
    return len(rows)


def changes(events: list[AuditEvent | None]) -> list[dict[str, Any]]:
    """The change items of an audit entry (each field before and after), for a payload."""
    out: list[dict[str, Any]] = []
    for item in events:
        if item is None:
            continue
        stored = item.stored()
        out.append(
            {
                "eventType": stored["eventType"],
                "updatedField": stored["updatedField"],
                "additionalFields": stored["additionalFields"],
                "associateEntities": stored["associateEntities"],
                "psi": stored["psi"],
            }
        )
    return out
