from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base

# The states a replay is in while it can still make its original succeed: at most one
# row per original in them (the partial unique index), so two concurrent replays of
# the same entry cannot both run, and an entry a replay already fixed is not run again.
LIVE_STATES = ("pending", "succeeded")
_LIVE = "state IN ('pending', 'succeeded')"


class EventReplay(Base):
    """One replay of a failed log entry: who asked for it, when, in which call, and
    how it ended (``pending`` until processed, then ``succeeded`` or ``failed``).
    ``id`` is the replay's own request id, the id of its new log entry."""

    __tablename__ = "event_replays"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.Index(
            "uq_event_replays_live_original",
            "org_id",
            "original_id",
            unique=True,
            sqlite_where=sa.text(_LIVE),
            postgresql_where=sa.text(_LIVE),
        ),
        sa.Index("ix_event_replays_org_original", "org_id", "original_id"),
        sa.Index("ix_event_replays_org_requested", "org_id", "requested_at"),
    )

    id: Mapped[str] = mapped_column(sa.String(36))
    org_id: Mapped[int] = mapped_column(sa.Integer)
    original_id: Mapped[str] = mapped_column(sa.String(36))
    state: Mapped[str] = mapped_column(sa.String(10))
    # The credential that asked (till:<id> or client:<id>) and the API call's request id.
    requested_by: Mapped[str] = mapped_column(sa.String(40))
    requested_at: Mapped[int] = mapped_column(sa.BigInteger)
    call_id: Mapped[str] = mapped_column(sa.String(36))
