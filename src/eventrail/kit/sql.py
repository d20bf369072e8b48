"""Dialect differences, kept in one place so the same code runs on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants 64-bit ids.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Plain JSON on both: PostgreSQL's JSONB would reorder keys, and the wire format
# keeps Capillary's key order (previousValue before currentValue). Nothing
# queries inside these documents.
JsonType = sa.JSON()


def insert_unique(session: Session, obj: object) -> bool:
    """Insert ``obj`` inside a savepoint; False when a constraint refuses it.

    The surrounding transaction stays usable, so the caller can answer with the
    domain's error (e.g. Capillary's 8006) instead of a database error.
    """
    try:
        with session.begin_nested():
            session.add(obj)
            session.flush()
    except IntegrityError:
        return False
    return True
