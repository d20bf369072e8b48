"""event logs: replays (event_replays, replay_of) and the outcome rollup (event_log_counts)

Revision ID: 20261203_0010
Revises: 20261203_0009
Create Date: 2026-12-03 18:40:00

``event_log_counts`` is filled from the existing log here, then kept by the
processors in the transaction that writes each entry.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261203_0010"
down_revision: str | None = "20261203_0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LIVE = "state IN ('pending', 'succeeded')"
_SLOT_MS = 15 * 60 * 1000


def upgrade() -> None:
    op.add_column("event_logs", sa.Column("replay_of", sa.String(length=36), nullable=True))
    op.add_column("ingest_requests", sa.Column("replay_of", sa.String(length=36), nullable=True))
    op.create_table(
        "event_replays",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("original_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("requested_by", sa.String(length=40), nullable=False),
        sa.Column("requested_at", sa.BigInteger(), nullable=False),
        sa.Column("call_id", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_replays")),
    )
    op.create_index(
        "uq_event_replays_live_original",
        "event_replays",
        ["original_id"],
        unique=True,
        sqlite_where=sa.text(_LIVE),
        postgresql_where=sa.text(_LIVE),
    )
    op.create_index("ix_event_replays_org_original", "event_replays", ["org_id", "original_id"])
    op.create_index("ix_event_replays_org_requested", "event_replays", ["org_id", "requested_at"])
    counts = op.create_table(
        "event_log_counts",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.BigInteger(), nullable=False),
        sa.Column("webhook_id", sa.String(length=32), nullable=False),
        sa.Column("event_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=40), nullable=False),
        sa.Column("message_hash", sa.String(length=32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "org_id",
            "slot",
            "webhook_id",
            "event_name",
            "status",
            "message_hash",
            name=op.f("pk_event_log_counts"),
        ),
    )
    # The existing log, counted the way the processors count (in Python: SQLite has no md5).
    grouped = op.get_bind().execute(
        sa.text(
            f"SELECT org_id, (start_time / {_SLOT_MS}) * {_SLOT_MS}, webhook_id, "
            "COALESCE(event_name, ''), COALESCE(status, ''), message, count(*) "
            "FROM event_logs GROUP BY 1, 2, 3, 4, 5, 6"
        )
    )
    totals: dict[tuple[object, ...], list[object]] = defaultdict(lambda: ["", 0])
    for org_id, slot, webhook_id, name, status, message, count in grouped:
        digest = hashlib.md5(message.encode(), usedforsecurity=False).hexdigest()
        entry = totals[(org_id, slot, webhook_id, name, status, digest)]
        entry[0] = message
        entry[1] = int(entry[1]) + int(count)  # type: ignore[call-overload]
    rows = [
        {
            "org_id": key[0],
            "slot": key[1],
            "webhook_id": key[2],
            "event_name": key[3],
            "status": key[4],
            "message_hash": key[5],
            "message": value[0],
            "count": value[1],
        }
        for key, value in totals.items()
    ]
    for start in range(0, len(rows), 5000):
        op.bulk_insert(counts, rows[start : start + 5000])


def downgrade() -> None:
    op.drop_table("event_log_counts")
    op.drop_index("ix_event_replays_org_requested", table_name="event_replays")
    op.drop_index("ix_event_replays_org_original", table_name="event_replays")
    op.drop_index("uq_event_replays_live_original", table_name="event_replays")
    op.drop_table("event_replays")
    op.drop_column("ingest_requests", "replay_of")
    op.drop_column("event_logs", "replay_of")
