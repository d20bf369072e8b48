"""Set-up shared by the tests that run real `eventrail serve` processes on one
database (test_kill_customers, test_two_processes).

The schema, the org and its till are made in-process rather than with the CLI:
the same code the CLI runs, without a Python start-up per command, which keeps
these tests fast on a busy machine. Definitions and webhooks go through the API.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import sqlalchemy as sa

from eventrail.config import Settings
from eventrail.db import Database, create_db_engine, migrate
from tests.events.test_durability import DEFINITION
from tests.fixtures.factories import basic, make_org, make_till, md5


def settings_for(env: dict[str, str]) -> Settings:
    return Settings(
        database_url=env["EVENTRAIL_DATABASE_URL"],
        data_dir=Path(env["EVENTRAIL_DATA_DIR"]),
        secret_key="s" * 40,
    )


def engine_for(env: dict[str, str]) -> sa.Engine:
    return create_db_engine(settings_for(env))


def migrate_and_make_till(env: dict[str, str]) -> tuple[dict[str, str], str]:
    """Bring the schema to head, create an org with one till; its Basic auth and code."""
    settings = settings_for(env)
    migrate(settings)
    db = Database(settings)
    try:
        org_id = make_org(db)
        _, code, password = make_till(db, org_id)
    finally:
        db.dispose()
    return basic(code, md5(password)), code


def make_webhook(base: str, auth: dict[str, str], till_code: str, *, unique: bool) -> str:
    """The Visit definition and a default-transformer webhook for it; the webhook id.

    The org's rate limit is lifted first: these tests measure what the load does
    to the data, and a 429 would only cut the load short.
    """
    with httpx.Client(base_url=base, headers=auth, timeout=30) as api:
        r = api.put("/v2/orgs/settings", json={"rateLimitPerMinute": 1_000_000})
        assert r.status_code == 200, r.text
        r = api.post("/v2/events", json=DEFINITION)
        assert r.status_code == 200, r.text
        r = api.post(
            "/v2/events/webhook",
            json={
                "transformerType": "defaultTransformer",
                "tillCode": till_code,
                "uniquenessCheckEnabled": unique,
            },
        )
        assert r.status_code == 200, r.text
        webhook_id: str = r.json()["webHookId"]
        return webhook_id
