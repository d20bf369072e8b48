from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from eventrail.models.base import Base


class AuditChainHead(Base):
    """The newest link of an org's audit hash chain (``audit/chain.py``).

    Writers lock this row (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's write
    lock serialises them anyway) in the transaction that writes their entries, so
    the entries of one org get consecutive ``seq`` and each ``prev_hash`` is the
    hash of the entry before it, whatever the number of servers. ``pruned_seq`` and
    ``pruned_hash`` are the newest link retention (``auditDays``) has deleted: the
    chain's verification starts after it.
    """

    __tablename__ = "audit_chain_heads"

    org_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    head_hash: Mapped[str] = mapped_column(sa.String(64))
    updated_at: Mapped[int] = mapped_column(sa.BigInteger)
    pruned_seq: Mapped[int] = mapped_column(sa.BigInteger)
    pruned_hash: Mapped[str] = mapped_column(sa.String(64))
