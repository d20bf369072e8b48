"""Webhooks by id, as ingestion needs them on every post, kept for a second.

A change made through this process (PUT /v2/events/webhook, disable) drops the
entry as soon as it commits, so the very next post sees it; other server
processes see it within a second.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session

from eventrail.db import Database
from eventrail.events.repository import EventRepository

_SECONDS = 1.0
_MAX_ENTRIES = 10_000
_CACHES: weakref.WeakSet[WebhookCache] = weakref.WeakSet()


@dataclass(frozen=True, slots=True)
class WebhookInfo:
    id: str
    org_id: int
    enabled: bool
    auth_enabled: bool
    rate_limit: int


class WebhookCache:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._items: dict[str, tuple[float, WebhookInfo | None]] = {}
        self._lock = threading.Lock()
        _CACHES.add(self)

    def cached(self, webhook_id: str) -> tuple[bool, WebhookInfo | None]:
        """(found, info) from memory only: never touches the database, so the event
        loop may call it."""
        with self._lock:
            hit = self._items.get(webhook_id)
        if hit is not None and hit[0] > time.monotonic():
            return True, hit[1]
        return False, None

    def get(self, webhook_id: str) -> WebhookInfo | None:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(webhook_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self.db.transaction(write=False) as session:
            found = EventRepository(session).webhook_with_org(webhook_id)
            info = None
            if found is not None:
                webhook, org = found
                info = WebhookInfo(
                    webhook.id,
                    webhook.org_id,
                    webhook.enabled,
                    webhook.auth_enabled,
                    org.rate_limit_per_minute,
                )
        with self._lock:
            if len(self._items) >= _MAX_ENTRIES:
                self._items.clear()
            self._items[webhook_id] = (now + _SECONDS, info)
        return info

    def drop(self, webhook_id: str) -> None:
        with self._lock:
            self._items.pop(webhook_id, None)


def forget_after_commit(session: Session, webhook_id: str) -> None:
    """Drop the webhook from every cache of this process once the session commits."""

    def forget(_: Session) -> None:
        for cache in list(_CACHES):
            cache.drop(webhook_id)

    event.listen(session, "after_commit", forget, once=True)
