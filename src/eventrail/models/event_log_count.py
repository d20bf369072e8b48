from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base

# A quarter of an hour: every timezone in use is a whole number of quarter-hours from
# UTC, so hour and day buckets in the org's timezone are unions of slots.
SLOT_MS = 15 * 60 * 1000


class EventLogCount(Base):
    """How many log entries of one (webhook, event name, status, message) started in
    one quarter-hour: the rollup behind GET /v2/events/logs/summary, kept in the
    transaction that writes the entries. ``event_name`` and ``status`` are '' where
    the entry has none; ``message_hash`` (md5 hex) keys a message of any length."""

    __tablename__ = "event_log_counts"

    org_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    slot: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    webhook_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    event_name: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    message_hash: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    message: Mapped[str] = mapped_column(sa.Text)
    count: Mapped[int] = mapped_column(sa.BigInteger)
