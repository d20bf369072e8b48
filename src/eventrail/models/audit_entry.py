from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.kit.sql import BigIntId, JsonType
from eventrail.models.base import Base


class AuditEntry(Base):
    """One change to one customer or card by one request. Append-only.

    ``events`` holds the change items as rendered by the audits API, each with
    its ``referenceType`` (and a ``psi`` flag) kept for filtering and masking.
    The two indexes serve the audits API's two sort keys within one entity, so
    a read never scans more than that entity's entries.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        sa.PrimaryKeyConstraint("org_id", "id"),
        sa.Index(
            "ix_audit_entries_entity_auto_update_time",
            "org_id",
            "entity_type",
            "entity_id",
            "auto_update_time",
            "id",
        ),
        sa.Index(
            "ix_audit_entries_entity_created_on",
            "org_id",
            "entity_type",
            "entity_id",
            "created_on",
            "id",
        ),
        # retention (auditDays): an org's oldest entries, a batch at a time
        sa.Index("ix_audit_entries_org_created_on", "org_id", "created_on", "id"),
        # the hash chain (audit/chain.py): one entry per link; verify walks it in order
        sa.Index("uq_audit_entries_org_seq", "org_id", "seq", unique=True),
        sa.Index("uq_audit_entries_org_prev_hash", "org_id", "prev_hash", unique=True),
    )

    id: Mapped[int] = mapped_column(BigIntId, autoincrement=True)
    org_id: Mapped[int] = mapped_column(sa.Integer)
    entity_type: Mapped[str] = mapped_column(sa.String(20))
    entity_id: Mapped[int] = mapped_column(sa.BigInteger)
    request_id: Mapped[str] = mapped_column(sa.String(64))
    updated_by: Mapped[int] = mapped_column(sa.BigInteger)
    till: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    store: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    user_context: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    victim_details: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    survivor_details: Mapped[dict[str, Any] | None] = mapped_column(JsonType, default=None)
    source: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    updated_by_mode: Mapped[str] = mapped_column(sa.String(40))
    auto_update_time: Mapped[int] = mapped_column(sa.BigInteger)
    created_on: Mapped[int] = mapped_column(sa.BigInteger)
    events: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    # The hash chain: NULL on entries written before it existed (migration 20261204).
    seq: Mapped[int | None] = mapped_column(sa.BigInteger, default=None)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    row_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
