"""No identifier, name or PSI value in the server's log, whatever error carries it.

Driver errors quote values (``DETAIL: Key (v)=(9198...) already exists``),
SQLAlchemy's quote a statement's parameters, pydantic's and ``int()``'s quote
their input: the log shows an error's type, codes and traceback frames only.
"""

from __future__ import annotations

import io
import logging
import random
import uuid
from collections.abc import Iterator

import httpx
import pydantic
import pytest
import sqlalchemy as sa

from eventrail.db import Database
from eventrail.kit.logsafe import RedactingFilter
from tests.fixtures.server import server_process
from tests.security.cluster import make_webhook, migrate_and_make_till


def _marker() -> str:
    return "9198" + "".join(random.choices("0123456789", k=8))


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger whose handler carries the filter `eventrail serve` puts on its handlers."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"eventrail.test.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.addHandler(handler)
    yield logger, out
    logger.removeHandler(handler)


def test_driver_errors_are_logged_without_their_values(
    db: Database, backend: str, captured: tuple[logging.Logger, io.StringIO]
) -> None:
    logger, out = captured
    marker = _marker()
    table = f"privacy_{uuid.uuid4().hex[:8]}"
    insert = sa.text(f"INSERT INTO {table} (v) VALUES (:v)")
    with db.engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TABLE {table} (v VARCHAR(40) UNIQUE)"))
        conn.execute(insert, {"v": marker})
    try:
        with pytest.raises(sa.exc.IntegrityError) as raised, db.engine.begin() as conn:
            conn.execute(insert, {"v": marker})
    finally:
        with db.engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE {table}"))
    error = raised.value
    # hide_parameters: SQLAlchemy's own text no longer lists the statement's values.
    assert "SQL parameters hidden" in str(error)
    if backend == "postgresql":
        assert marker in str(error)  # the driver's DETAIL line: what the filter must hide
    logger.error("write failed", exc_info=error)
    logger.error("write failed: %s", error)
    logged = out.getvalue()
    assert marker not in logged
    assert "IntegrityError" in logged and "test_log_privacy.py" in logged  # still useful
    expected = "SQLSTATE 23505" if backend == "postgresql" else "SQLITE_CONSTRAINT_UNIQUE"
    assert expected in logged


def test_validation_and_conversion_errors_are_logged_without_their_input(
    captured: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, out = captured
    marker = _marker()

    class Identifier(pydantic.BaseModel):
        value: int

    for fail in (lambda: Identifier(value=f"x{marker}"), lambda: int(f"x{marker}")):
        try:
            fail()
        except (pydantic.ValidationError, ValueError) as exc:
            logger.exception("failed")
            logger.warning("failed: %s", exc)
    logged = out.getvalue()
    assert marker not in logged
    assert "ValidationError" in logged and "ValueError" in logged


def test_the_server_log_holds_no_personal_data(env: dict[str, str]) -> None:
    """Events and writes whose values make the server fail or refuse, each carrying a
    marker mobile or email: the marker is nowhere in the server's log."""
    auth, till_code = migrate_and_make_till(env)
    mobile, email = _marker(), f"m{uuid.uuid4().hex[:10]}@example.com"
    with server_process(env) as server:
        webhook_id = make_webhook(server.base, auth, till_code, unique=False)
        statuses = []
        with httpx.Client(base_url=server.base, timeout=60) as client:
            for body in (
                {"event_name": "Visit", "customer": mobile + "9" * 300, "ref": "r1"},
                {"event_name": "Visit", "customer": email, "ref": email * 100},
                {"event_name": "Visit", "customer": mobile, "ref": mobile * 400},
                {"event_name": "Visit", "customer": mobile, "userId": mobile + "1" * 5000},
            ):
                r = client.post(f"/webhooks/{webhook_id}?wait=true", json=body)
                assert r.status_code == 200, r.text
                statuses.append(r.json()["result"]["status"])
            for identifier in (("mobile", mobile + "9" * 300), ("email", email + "m" * 300)):
                profile = {
                    "firstName": mobile,
                    "identifiers": [{"type": identifier[0], "value": identifier[1]}],
                }
                r = client.post("/v2/customers", json={"profiles": [profile]}, headers=auth)
                assert r.status_code == 400, r.text
            r = client.get(
                "/v2/customers/lookup",
                params={"source": "INSTORE", "identifierName": "mobile", "identifierValue": mobile},
                headers=auth,
            )
            assert r.status_code < 500, r.text
    logged = server.log.read_text()
    if "EVENT_PROCESSING_FAILED" in statuses:
        assert "set aside" in logged, "the failure was logged (without the values)"
    assert mobile not in logged
    assert email not in logged
