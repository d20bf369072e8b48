"""audit.record(): entries written with the transaction, dropped with a savepoint."""

from __future__ import annotations

import contextlib
import json
import uuid

import pytest
import sqlalchemy as sa

from eventrail.audit.service import ChangeContext, record, value_change
from eventrail.db import Database
from tests.fixtures.factories import make_org


def _context(org_id: int) -> ChangeContext:
    return ChangeContext(
        org_id=org_id,
        request_id=uuid.uuid4().hex,
        updated_by=7,
        till={"code": "t", "name": "t", "id": 7},
        store=None,
        user_context=None,
    )


def _entities(db: Database, org_id: int) -> list[int]:
    with db.transaction(write=False) as session:
        return list(
            session.execute(
                sa.text("SELECT entity_id FROM audit_entries WHERE org_id = :o ORDER BY entity_id"),
                {"o": org_id},
            ).scalars()
        )


class Boom(Exception):
    pass


def test_savepoint_rollback_drops_only_its_own_events(db: Database) -> None:
    org_id = make_org(db)
    ctx = _context(org_id)
    event = value_change("StandardField", "FirstName", None, "A")
    with db.transaction() as session:
        record(session, ctx, "CUSTOMER", 1, [event])
        with contextlib.suppress(Boom), session.begin_nested():
            record(session, ctx, "CUSTOMER", 2, [event])
            with session.begin_nested():
                record(session, ctx, "CUSTOMER", 3, [event])
            raise Boom
        with session.begin_nested():
            record(session, ctx, "CUSTOMER", 4, [event])
        record(session, ctx, "CUSTOMER", 1, [value_change("StandardField", "LastName", None, "B")])
    assert _entities(db, org_id) == [1, 4]
    with db.transaction(write=False) as session:
        events = session.execute(
            sa.text("SELECT events FROM audit_entries WHERE org_id = :o AND entity_id = 1"),
            {"o": org_id},
        ).scalar_one()
    if isinstance(events, str):
        events = json.loads(events)
    fields = [e["updatedField"] for e in events]
    assert fields == ["FirstName", "LastName"], "one entry per (entity, request), in order"


def _record_then_fail(db: Database, org_id: int) -> None:
    with db.transaction() as session:
        event = value_change("Identifier", "mobile", None, "1")
        record(session, _context(org_id), "CUSTOMER", 9, [event])
        raise Boom


def test_rolled_back_transaction_records_nothing(db: Database) -> None:
    org_id = make_org(db)
    with pytest.raises(Boom):
        _record_then_fail(db, org_id)
    assert _entities(db, org_id) == []


def test_nothing_changed_records_nothing(db: Database) -> None:
    org_id = make_org(db)
    with db.transaction() as session:
        record(
            session,
            _context(org_id),
            "CUSTOMER",
            5,
            [value_change("Identifier", "mobile", "1", "1")],
        )
    assert _entities(db, org_id) == []
