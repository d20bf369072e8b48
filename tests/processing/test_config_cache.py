"""The processors keep each org's configuration between batches and read it again
only when its ``config_versions`` counter moved: the triggers move it for every
change to what processing reads, whoever makes it (the API or plain SQL), and a
batch of an unchanged org reads none of its configuration."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from eventrail.app import EventrailApp
from eventrail.db import Database
from tests.fixtures.factories import Tenant
from tests.fixtures.pipeline import (
    SUCCESS,
    add_customer,
    customer_fld,
    define,
    event_name,
    fld,
    invalid_event_name,
    make_webhook,
    mobile,
    outcome,
    post,
)

Drain = Callable[[], int]
CONFIG_TABLES = ("orgs", "tills", "webhooks", "event_definitions", "transformer_mappings")


def _version(db: Database, org_id: int) -> int:
    with db.transaction(write=False) as session:
        found = session.execute(
            sa.text("SELECT version FROM config_versions WHERE org_id = :o"), {"o": org_id}
        ).scalar()
    return int(found or 0)


def _sql(db: Database, statement: str, org_id: int) -> None:
    with db.transaction() as session:
        session.execute(sa.text(statement), {"o": org_id})


async def _setup(tenant: Tenant) -> tuple[str, str, str]:
    """A definition, a webhook and a customer: (event name, webhook, mobile)."""
    name = event_name()
    await define(tenant, name, [customer_fld(), fld("amount", "double")])
    webhook = await make_webhook(tenant)
    customer = mobile()
    await add_customer(tenant, value=customer)
    return name, webhook, customer


async def test_every_change_to_what_processing_reads_moves_the_counter(
    tenant: Tenant, db: Database
) -> None:
    await _setup(tenant)
    org = tenant.org_id
    changes = [
        "UPDATE orgs SET timezone = timezone WHERE id = :o",
        "UPDATE tills SET name = name WHERE org_id = :o",
        "UPDATE webhooks SET enabled = enabled WHERE org_id = :o",
        "UPDATE event_definitions SET enabled = enabled WHERE org_id = :o",
        "INSERT INTO transformer_mappings (org_id, transformer_type, name_path, value_map, "
        "field_mappings, events_mapped, updated_at) VALUES (:o, 'shopify', 'event_name', "
        "'{}', '{}', '[]', 0)",
        "UPDATE transformer_mappings SET name_path = name_path WHERE org_id = :o",
        "DELETE FROM transformer_mappings WHERE org_id = :o",
    ]
    for statement in changes:
        before = _version(db, org)
        _sql(db, statement, org)
        assert _version(db, org) > before, statement
    # what processing does not read leaves it alone
    before = _version(db, org)
    _sql(db, "UPDATE customers SET org_id = org_id WHERE org_id = :o", org)
    assert _version(db, org) == before


async def test_a_change_made_in_sql_reaches_the_next_batch(
    tenant: Tenant, db: Database, drain: Drain
) -> None:
    drain()
    name, webhook, customer = await _setup(tenant)
    body = {"event_name": name, "customer": customer, "amount": 1}
    first = await post(tenant, webhook, body)
    assert drain() == 1  # the org's configuration is now kept
    assert await outcome(tenant, first) == ("EVENT_SUCCESS", SUCCESS)
    _sql(db, "UPDATE event_definitions SET enabled = false WHERE org_id = :o", tenant.org_id)
    request_id = await post(tenant, webhook, body)
    assert drain() == 1
    assert await outcome(tenant, request_id) == ("INVALID_EVENT_NAME", invalid_event_name(name))
    _sql(db, "UPDATE event_definitions SET enabled = true WHERE org_id = :o", tenant.org_id)
    request_id = await post(tenant, webhook, body)
    assert drain() == 1
    assert await outcome(tenant, request_id) == ("EVENT_SUCCESS", SUCCESS)


@pytest.mark.parametrize("change", ["none", "definition"])
async def test_a_batch_reads_the_configuration_only_when_it_changed(
    tenant: Tenant, app: EventrailApp, db: Database, drain: Drain, change: str
) -> None:
    drain()
    name, webhook, customer = await _setup(tenant)
    body = {"event_name": name, "customer": customer, "amount": 1}
    for _ in range(2):  # the first success marks the definition verified: a change too
        await post(tenant, webhook, body)
        assert drain() == 1
    if change == "definition":
        await define(tenant, event_name(), [customer_fld()])  # another definition
    seen: list[str] = []

    def record(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        seen.append(" ".join(sql.lower().split()))

    await post(tenant, webhook, body)
    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert app.state.background.processor.run_once() == 1
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    read = {
        t
        for t in CONFIG_TABLES
        for sql in seen
        if sql.startswith("select") and f"from {t} " in sql + " "
    }
    assert sum("from config_versions" in sql for sql in seen) == 1  # once a batch
    if change == "none":
        assert read == set(), seen
    else:
        assert {"event_definitions", "webhooks", "orgs", "transformer_mappings"} <= read
