"""The SQL of notification webhooks and of their deliveries (outbox and log)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from eventrail.kit.sql import for_update, skip_locked
from eventrail.models import NotificationDelivery, NotificationWebhook, Org
from eventrail.notifications.names import DELIVERED, FAILED, INFLIGHT, PENDING


@dataclass(frozen=True, slots=True)
class Subscriber:
    """An active webhook that wants a notification name of an org."""

    org_id: int
    webhook_id: str
    sla_seconds: int


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery taken by a worker, with what it needs to send it."""

    org_id: int
    id: str
    token: str
    payload: str
    url: str
    method: str
    headers: str
    secret: str
    webhook_id: str


@dataclass(frozen=True, slots=True)
class LogFilter:
    """Which deliveries of an org's log: those caused by one API request (``request_id``,
    oldest first), those about one entity (``ref_id``, newest first), or the org's
    (newest first); each narrowed by the filters given."""

    org_id: int
    request_id: str | None = None
    ref_id: str | None = None
    status: str | None = None
    webhook_id: str | None = None
    event_name: str | None = None
    start: int | None = None
    end: int | None = None
    limit: int = 100
    offset: int = 0
    # Keyset paging: only the rows after this (created_at, seq, id) in the log's order.
    before: tuple[int, int, str] | None = None


class NotificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # -- webhooks -----------------------------------------------------------------
    def add_webhook(self, webhook: NotificationWebhook) -> None:
        self.session.add(webhook)
        self.session.flush()

    def update_webhook(
        self,
        webhook: NotificationWebhook,
        values: dict[str, Any],
        *,
        updated_at: int,
        updated_by: str,
    ) -> None:
        """New values of the webhook's columns (``values``: column name -> value)."""
        for key, value in values.items():
            setattr(webhook, key, value)
        webhook.updated_at = updated_at
        webhook.updated_by = updated_by
        self.session.flush()

    def delete_webhook(
        self, webhook: NotificationWebhook, now: int, *, updated_by: str, reason: str
    ) -> None:
        """Mark the webhook deleted (and inactive); its undelivered notifications end
        as failed with ``reason``."""
        webhook.deleted = True
        webhook.active = False
        webhook.updated_at = now
        webhook.updated_by = updated_by
        self.fail_pending_of(webhook.org_id, webhook.id, now, reason)
        self.session.flush()

    def webhook(self, org_id: int, webhook_id: str) -> NotificationWebhook | None:
        found = self.session.get(NotificationWebhook, (org_id, webhook_id))
        return None if found is None or found.deleted else found

    def webhooks(self, org_id: int) -> Sequence[NotificationWebhook]:
        stmt = (
            sa.select(NotificationWebhook)
            .where(NotificationWebhook.org_id == org_id, sa.not_(NotificationWebhook.deleted))
            .order_by(NotificationWebhook.created_at, NotificationWebhook.id)
        )
        return self.session.scalars(stmt).all()

    def consumer_groups(self, org_id: int, webhook_ids: set[str]) -> dict[str, str]:
        """webHookId -> consumerGroupId (deleted webhooks included: their log stays)."""
        if not webhook_ids:
            return {}
        hook = NotificationWebhook
        stmt = sa.select(hook.id, hook.consumer_group_id).where(
            hook.org_id == org_id, hook.id.in_(sorted(webhook_ids))
        )
        return {str(i): str(g) for i, g in self.session.execute(stmt)}

    def subscribers(self, org_id: int) -> list[tuple[str, Subscriber]]:
        """(event names as JSON text, webhook) of every active webhook that listens to
        ``org_id``: its own, and its parent's that listen to child events."""
        parent = self.session.scalar(sa.select(Org.parent_org_id).where(Org.id == org_id))
        hook = NotificationWebhook
        mine = hook.org_id == org_id
        if parent is not None:
            mine = sa.or_(mine, (hook.org_id == parent) & hook.listen_to_child_events)
        stmt = sa.select(hook.event_names, hook.org_id, hook.id, hook.sla_seconds).where(
            mine, hook.active, sa.not_(hook.deleted)
        )
        return [
            (names, Subscriber(int(org), str(wid), int(sla)))
            for names, org, wid, sla in self.session.execute(stmt)
        ]

    def fail_pending_of(self, org_id: int, webhook_id: str, now: int, reason: str) -> None:
        """A deleted webhook's undelivered notifications end as failed."""
        d = NotificationDelivery
        self.session.execute(
            sa.update(d)
            .where(
                d.org_id == org_id,
                d.webhook_id == webhook_id,
                d.state.in_([PENDING, INFLIGHT]),
            )
            .values(
                state=FAILED,
                ended_at=now,
                lease_until=None,
                attempt_token=None,
                last_error=reason,
            )
        )

    # -- the outbox -----------------------------------------------------------------
    def add_deliveries(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(sa.insert(NotificationDelivery), rows)

    def release_expired(self, now: int) -> int:
        """Put back the deliveries whose worker's lease ran out (a crashed process)."""
        d = NotificationDelivery
        result = self.session.execute(
            sa.update(d)
            .where(d.state == INFLIGHT, d.lease_until < now)
            .values(state=PENDING, lease_until=None, attempt_token=None, next_attempt_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def claim(self, now: int, limit: int, lease_ms: int, tokens: list[str]) -> list[Claimed]:
        """Take up to ``limit`` due deliveries, each the oldest undelivered one of its
        (webhook, refId) with none of that key in flight, within each webhook's
        ``maxAllowedConnections``. PostgreSQL: ``FOR UPDATE SKIP LOCKED`` on the
        deliveries and a lock on each webhook row while its in-flight count is read;
        SQLite: the writing transaction already excludes every other claimer. The
        webhook row, once locked, is read again: one deactivated or deleted meanwhile
        gets nothing."""
        sql = """
            SELECT d.org_id, d.id, d.webhook_id
            FROM notification_deliveries d
            JOIN notification_webhooks w ON w.org_id = d.org_id AND w.id = d.webhook_id
            WHERE d.state = 'pending' AND d.next_attempt_at <= :now
              AND w.active AND NOT w.deleted
              AND NOT EXISTS (
                SELECT 1 FROM notification_deliveries e
                WHERE e.org_id = d.org_id AND e.webhook_id = d.webhook_id
                  AND e.ref_id = d.ref_id
                  AND (e.state = 'inflight' OR (e.state = 'pending' AND e.seq < d.seq))
              )
            ORDER BY d.seq
            LIMIT :limit
        """
        sql += skip_locked(self.session, of="d")
        candidates = self.session.execute(sa.text(sql), {"now": now, "limit": limit * 4}).all()
        by_webhook: dict[tuple[int, str], list[str]] = {}
        for org_id, delivery_id, webhook_id in candidates:
            by_webhook.setdefault((int(org_id), str(webhook_id)), []).append(str(delivery_id))
        claimed: list[Claimed] = []
        lock = for_update(self.session)
        for (org_id, webhook_id), ids in sorted(by_webhook.items()):
            if len(claimed) >= limit:
                break
            row = self.session.execute(
                sa.text(
                    "SELECT url, method, headers, secret, max_connections, active, deleted "
                    "FROM notification_webhooks WHERE org_id = :org AND id = :id" + lock
                ),
                {"org": org_id, "id": webhook_id},
            ).one()
            if not row.active or row.deleted:
                # Deactivated (a 410, an admin) or deleted since the candidates were
                # read: on PostgreSQL the lock above waited for that change to commit.
                continue
            busy = int(
                self.session.execute(
                    sa.text(
                        "SELECT count(*) FROM notification_deliveries WHERE org_id = :org "
                        "AND webhook_id = :id AND state = 'inflight'"
                    ),
                    {"org": org_id, "id": webhook_id},
                ).scalar_one()
            )
            room = min(int(row.max_connections) - busy, limit - len(claimed))
            for delivery_id in ids[: max(room, 0)]:
                token = tokens[len(claimed)]
                payload = self.session.execute(
                    sa.text(
                        "UPDATE notification_deliveries SET state = 'inflight', "
                        "attempt_token = :token, lease_until = :lease, attempts = attempts + 1, "
                        "started_at = COALESCE(started_at, :now) "
                        "WHERE org_id = :org AND id = :id RETURNING payload"
                    ),
                    {
                        "token": token,
                        "lease": now + lease_ms,
                        "now": now,
                        "org": org_id,
                        "id": delivery_id,
                    },
                ).scalar_one()
                claimed.append(
                    Claimed(
                        org_id,
                        delivery_id,
                        token,
                        str(payload),
                        str(row.url),
                        str(row.method),
                        str(row.headers),
                        str(row.secret),
                        webhook_id,
                    )
                )
        return claimed

    def delivered(
        self, org_id: int, delivery_id: str, token: str, now: int, status: int, took_ms: int
    ) -> bool:
        d = NotificationDelivery
        result = self.session.execute(
            sa.update(d)
            .where(d.org_id == org_id, d.id == delivery_id, d.attempt_token == token)
            .values(
                state=DELIVERED,
                ended_at=now,
                http_status=status,
                time_taken_ms=took_ms,
                lease_until=None,
                attempt_token=None,
                last_error=None,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    def attempts(self, org_id: int, delivery_id: str) -> int:
        d = NotificationDelivery
        found = self.session.scalar(
            sa.select(d.attempts).where(d.org_id == org_id, d.id == delivery_id)
        )
        return int(found or 1)

    def attempt_failed(
        self,
        org_id: int,
        delivery_id: str,
        token: str,
        now: int,
        *,
        status: int | None,
        took_ms: int,
        error: str,
        give_up_ms: int,
        retry_at: int,
    ) -> str | None:
        """Back to pending for ``retry_at``, or failed once ``give_up_ms`` has passed since
        the clock started; the new state (None when the lease was lost meanwhile)."""
        d = NotificationDelivery
        row = self.session.execute(
            sa.select(d.retry_from).where(
                d.org_id == org_id, d.id == delivery_id, d.attempt_token == token
            )
        ).first()
        if row is None:
            return None
        give_up = now - int(row[0]) >= give_up_ms
        values: dict[str, Any] = {
            "http_status": status,
            "time_taken_ms": took_ms,
            "last_error": error[:200],
            "lease_until": None,
            "attempt_token": None,
        }
        if give_up:
            values.update(state=FAILED, ended_at=now)
        else:
            values.update(state=PENDING, next_attempt_at=retry_at)
        self.session.execute(
            sa.update(d)
            .where(d.org_id == org_id, d.id == delivery_id, d.attempt_token == token)
            .values(**values)
        )
        return FAILED if give_up else PENDING

    def gone(
        self,
        org_id: int,
        delivery_id: str,
        webhook_id: str,
        token: str,
        now: int,
        *,
        took_ms: int,
        error: str,
        reason: str,
    ) -> bool:
        """The receiver answered 410 Gone: this delivery fails with ``error`` and the
        webhook is made inactive with ``reason`` and ``now`` (unless it is inactive
        already: the first reason stays). Whether the webhook was deactivated now."""
        d = NotificationDelivery
        self.session.execute(
            sa.update(d)
            .where(d.org_id == org_id, d.id == delivery_id, d.attempt_token == token)
            .values(
                state=FAILED,
                ended_at=now,
                http_status=410,
                time_taken_ms=took_ms,
                lease_until=None,
                attempt_token=None,
                last_error=error[:200],
            )
        )
        hook = NotificationWebhook
        result = self.session.execute(
            sa.update(hook)
            .where(hook.org_id == org_id, hook.id == webhook_id, hook.active)
            .values(active=False, disabled_reason=reason[:200], disabled_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    def redeliver(self, row: NotificationDelivery, now: int) -> None:
        """Queue a delivered or failed notification again; ``row`` is read back."""
        d = NotificationDelivery
        self.session.execute(
            sa.update(d)
            .where(d.org_id == row.org_id, d.id == row.id, d.state.in_([DELIVERED, FAILED]))
            .values(
                state=PENDING,
                next_attempt_at=now,
                retry_from=now,
                attempts=0,
                ended_at=None,
                last_error=None,
            )
        )
        self.session.refresh(row)

    # -- the delivery log -----------------------------------------------------------
    def delivery(self, org_id: int, delivery_id: str) -> NotificationDelivery | None:
        return self.session.get(NotificationDelivery, (org_id, delivery_id))

    def deliveries(self, query: LogFilter) -> Sequence[NotificationDelivery]:
        """The deliveries ``query`` selects, in its order (each by an index of its own:
        a request's, an entity's ``(ref_id, seq)``, the org's ``(created_at, seq)``)."""
        d = NotificationDelivery
        stmt = sa.select(d).where(d.org_id == query.org_id)
        for column, value in (
            (d.request_id, query.request_id),
            (d.ref_id, query.ref_id),
            (d.state, query.status),
            (d.webhook_id, query.webhook_id),
            (d.event_name, query.event_name),
        ):
            if value is not None:
                stmt = stmt.where(column == value)
        if query.start is not None:
            stmt = stmt.where(d.created_at >= query.start)
        if query.end is not None:
            stmt = stmt.where(d.created_at <= query.end)
        if query.before is not None:
            # The rows of one change share created_at and seq (one per webhook): the id
            # breaks the tie, so a page boundary between them skips none.
            stmt = stmt.where(sa.tuple_(d.created_at, d.seq, d.id) < sa.tuple_(*query.before))
        if query.request_id is not None:
            order: tuple[Any, ...] = (d.seq, d.id)
        elif query.ref_id is not None:
            order = (d.seq.desc(), d.id)
        else:
            order = (d.created_at.desc(), d.seq.desc(), d.id.desc())
        stmt = stmt.order_by(*order).limit(query.limit)
        if query.offset:
            stmt = stmt.offset(query.offset)
        return self.session.scalars(stmt).all()
