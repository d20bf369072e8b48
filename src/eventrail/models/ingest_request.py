from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId
from eventrail.models.base import Base


class IngestRequest(Base):
    """A posted request, committed before it is acknowledged, until a processor
    turns it into its log entry (and event) and deletes it in the same transaction.

    ``verdict`` is what ingestion already knows: 0 to process, 1 refused as
    unauthorised, 2 not a JSON object (``detail`` says why).
    """

    __tablename__ = "ingest_requests"
    # Ids only grow (SQLite would otherwise reuse them once the queue empties):
    # they order what arrived in the same millisecond. The processors claim the
    # oldest across orgs (ORDER BY id) and delete what they claimed by id: on
    # PostgreSQL, where the primary key leads with org_id, that takes an index of
    # its own (on SQLite the id is the rowid).
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.UniqueConstraint("org_id", "request_id"),
        sa.Index("ix_ingest_requests_id", "id", info={"only_on": "postgresql"}),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    request_id: Mapped[str] = mapped_column(sa.String(36))
    org_id: Mapped[int] = mapped_column(sa.Integer)
    webhook_id: Mapped[str] = mapped_column(sa.String(32))
    received_at: Mapped[int] = mapped_column(sa.BigInteger)
    body: Mapped[str] = mapped_column(sa.Text)
    verdict: Mapped[int] = mapped_column(sa.SmallInteger, default=0)
    detail: Mapped[str | None] = mapped_column(sa.Text, default=None)
    # A replay: the id of the log entry it replays, carried into its own entry.
    replay_of: Mapped[str | None] = mapped_column(sa.String(36), default=None)
