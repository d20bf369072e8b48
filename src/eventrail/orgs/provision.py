"""Creating an org: the rules and the statements, shared by ``orgs.service.create_org``
(in a SQLAlchemy session) and ``eventrail org create`` (on a plain driver
connection, without the ORM: kit/plainsql.py). The ``orgs`` and ``status_labels``
tables are the models'; the values written here for the columns the models give
a default are the models' defaults (tests/kit/test_plainsql.py compares the rows)."""

from __future__ import annotations

from eventrail.errors import BadRequest
from eventrail.kit.dates import now_ms, zone
from eventrail.kit.plainsql import Statements
from eventrail.orgs import vocabulary as v

MAX_ORG_ID = 2**31 - 1
# The models' defaults of the columns an org is created without (models/org.py).
DEFAULT_RATE_LIMIT_PER_MINUTE = 1000


def org_parent(statements: Statements, org_id: int) -> tuple[bool, int | None]:
    """(whether the org exists, its parent's id)."""
    found = statements.rows("SELECT parent_org_id FROM orgs WHERE id = :id", {"id": org_id})
    return (True, found[0][0]) if found else (False, None)


def create_org(
    statements: Statements,
    *,
    name: str,
    org_id: int | None = None,
    parent_org_id: int | None = None,
    timezone: str = "UTC",
) -> int:
    """A new org with one default label per customer status and per card status; its id."""
    if not name.strip():
        raise BadRequest("Org name must not be empty")
    try:
        zone(timezone)
    except ValueError as exc:
        raise BadRequest(f"Invalid timezone '{timezone}': use an IANA name") from exc
    if org_id is not None and (org_id <= 0 or org_id > MAX_ORG_ID):
        raise BadRequest("Org id must be a positive 32-bit integer")
    if org_id is not None and org_parent(statements, org_id)[0]:
        raise BadRequest(f"Org {org_id} already exists")
    if parent_org_id is not None:
        exists, grandparent = org_parent(statements, parent_org_id)
        if not exists:
            raise BadRequest(f"Parent org {parent_org_id} does not exist")
        if grandparent is not None:
            raise BadRequest("A child org cannot be a parent: connected orgs are one level deep")
    now = now_ms()
    values = {
        "name": name.strip(),
        "timezone": timezone,
        "parent_org_id": parent_org_id,
        "psi_masking_enabled": False,
        "rate_limit_per_minute": DEFAULT_RATE_LIMIT_PER_MINUTE,
        "created_at": now,
    }
    columns = list(values)
    if org_id is not None:
        columns.insert(0, "id")
        values["id"] = org_id
    [(new_id,)] = statements.rows(
        f"INSERT INTO orgs ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)}) RETURNING id",
        values,
    )
    for entity_type, statuses in ((v.CUSTOMER, v.CUSTOMER_STATUSES), (v.CARD, v.CARD_STATUSES)):
        for status in statuses:
            statements.rows(
                "INSERT INTO status_labels "
                "(org_id, entity_type, status, label, is_default, created_at) "
                "VALUES (:org_id, :entity_type, :status, :label, :is_default, :created_at)",
                {
                    "org_id": new_id,
                    "entity_type": entity_type,
                    "status": status,
                    "label": status,
                    "is_default": True,
                    "created_at": now,
                },
            )
    return int(new_id)
