"""audit_counts and audit_kinds, kept by the database: always what a count of the
trail would say, whoever wrote it, so the audits API's totals can be read, not counted."""

from __future__ import annotations

import uuid
from typing import Any

import sqlalchemy as sa

from eventrail.audit.service import EVENT_TYPES, REFERENCE_TYPES
from eventrail.db import Database
from eventrail.models import AuditEntry, AuditRef
from tests.fixtures.factories import Tenant

AUDITS = "/api_gateway/v2/audits"

_TRUE_COUNTS = """
SELECT entity_type, entity_id, '' AS reference_type, count(*) FROM audit_entries
WHERE org_id = :o GROUP BY entity_type, entity_id
UNION ALL
SELECT e.entity_type, e.entity_id, r.reference_type, count(DISTINCT e.id)
FROM audit_entries e JOIN audit_refs r ON r.entry_id = e.id
WHERE e.org_id = :o GROUP BY e.entity_type, e.entity_id, r.reference_type
"""


def kept_and_true(db: Database, org_id: int) -> tuple[dict[Any, int], dict[Any, int]]:
    with db.transaction(write=False) as session:
        kept = session.execute(
            sa.text(
                "SELECT entity_type, entity_id, reference_type, entries FROM audit_counts "
                "WHERE org_id = :o"
            ),
            {"o": org_id},
        ).all()
        truth = session.execute(sa.text(_TRUE_COUNTS), {"o": org_id}).all()
    return (
        {(t, int(e), r): int(n) for t, e, r, n in kept},
        {(t, int(e), r): int(n) for t, e, r, n in truth},
    )


def mobile() -> str:
    return f"91{uuid.uuid4().int % 10**10:010d}"


async def test_counts_follow_the_write_apis(make_tenant: Any, db: Database) -> None:
    a, b = await make_tenant(), await make_tenant()
    for tenant in (a, b):  # the same writes in two orgs: counted apart
        ids: list[int] = []
        for _ in range(3):
            r = await tenant.http.post(
                "/v2/customers",
                json={
                    "profiles": [
                        {
                            "firstName": "Ravi",
                            "identifiers": [
                                {"type": "mobile", "value": mobile()},
                                {"type": "email", "value": f"{uuid.uuid4().hex[:8]}@x.com"},
                            ],
                        }
                    ]
                },
            )
            assert r.status_code == 200, r.text
            ids.append(r.json()["createdId"])
        for n in range(4):
            r = await tenant.http.put(
                f"/v2/customers/{ids[0]}", json={"profiles": [{"firstName": f"Ravi {n}"}]}
            )
            assert r.status_code == 200, r.text
        r = await tenant.http.post(
            f"/v2/customers/{ids[1]}/changeIdentifier",
            json={"add": [{"type": "mobile", "value": mobile()}]},
        )
        assert r.status_code == 200, r.text

        kept, truth = kept_and_true(db, tenant.org_id)
        assert kept == truth
        assert kept[("CUSTOMER", ids[0], "")] == 5
        assert kept[("CUSTOMER", ids[0], "StandardField")] == 5

        # and the API's totals are those counts, which are what a full listing holds
        for customer in ids:
            r = await tenant.http.get(
                AUDITS, params={"entityType": "CUSTOMER", "entityId": customer, "limit": 100}
            )
            listing = r.json()
            assert listing["pagination"]["totalElements"] == len(listing["data"])
            for reference_type in REFERENCE_TYPES:
                r = await tenant.http.get(
                    AUDITS,
                    params={
                        "entityType": "CUSTOMER",
                        "entityId": customer,
                        "referenceType": reference_type,
                    },
                )
                holding = [
                    e
                    for e in listing["data"]
                    if any(ev["eventType"] == EVENT_TYPES[reference_type] for ev in e["events"])
                ]
                assert r.json()["pagination"]["totalElements"] == len(holding), reference_type


async def test_counts_follow_one_statement_over_many_entities(tenant: Tenant, db: Database) -> None:
    """One insert of many entries (as a request touching several entities makes),
    with an entry holding one referenceType twice: counted once per entry."""
    base = 10**12 + uuid.uuid4().int % 10**12
    rows = [
        {
            "org_id": tenant.org_id,
            "entity_type": kind,
            "entity_id": base + i % 3,
            "request_id": f"r{i}",
            "updated_by": 1,
            "updated_by_mode": "API",
            "auto_update_time": 1000 + i,
            "created_on": 2000 + i,
            "events": [],
        }
        for i in range(12)
        for kind in ("CUSTOMER", "CARD")
    ]
    with db.transaction() as session:
        session.execute(sa.insert(AuditEntry), rows)
        entries = session.execute(
            sa.select(AuditEntry.id, AuditEntry.entity_type, AuditEntry.entity_id).where(
                AuditEntry.org_id == tenant.org_id
            )
        ).all()
        session.execute(
            sa.insert(AuditRef),
            [
                {
                    "entry_id": entry_id,
                    "org_id": tenant.org_id,
                    "entity_type": kind,
                    "entity_id": entity,
                    "reference_type": reference_type,
                    "updated_field": field,
                }
                for entry_id, kind, entity in entries
                for reference_type, field in (
                    ("Identifier", "mobile"),
                    ("Identifier", "email"),
                    ("StandardField" if entry_id % 2 else "CardStatus", "x"),
                )
            ],
        )
    kept, truth = kept_and_true(db, tenant.org_id)
    assert kept == truth
    assert kept[("CUSTOMER", base, "")] == 4
    assert kept[("CARD", base + 2, "Identifier")] == 4
    with db.transaction(write=False) as session:
        kinds = session.execute(
            sa.text("SELECT count(*) FROM audit_kinds WHERE org_id = :o"), {"o": tenant.org_id}
        ).scalar_one()
    assert kinds == 24 * 2  # Identifier once per entry, plus one other type each
