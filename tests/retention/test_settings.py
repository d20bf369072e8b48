"""Retention in the org settings: defaults, changes (in the settings history), and
bad values refused with a 400 naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixtures.factories import Tenant

SETTINGS = "/v2/orgs/settings"
DEFAULTS = {"eventLogsDays": 90, "eventDataDays": 365, "auditDays": None}


def _error(r: Any) -> str:
    assert r.status_code == 400, r.text
    [error] = r.json()["errors"]
    message: str = error["message"]
    return message


async def test_defaults_changes_and_history(tenant: Tenant) -> None:
    r = await tenant.http.get(SETTINGS)
    assert r.status_code == 200 and r.json()["retention"] == DEFAULTS

    change = {"eventLogsDays": 30, "auditDays": 3650}
    r = await tenant.http.put(SETTINGS, json={"retention": change})
    assert r.status_code == 200, r.text
    assert r.json()["retention"] == {**DEFAULTS, **change}
    assert (await tenant.http.get(SETTINGS)).json()["retention"] == {**DEFAULTS, **change}

    # null: back to the default (auditDays: kept for ever)
    r = await tenant.http.put(SETTINGS, json={"retention": {"auditDays": None}})
    assert r.status_code == 200 and r.json()["retention"] == {**DEFAULTS, "eventLogsDays": 30}
    # the same values again change nothing, and record nothing
    r = await tenant.http.put(SETTINGS, json={"retention": {"eventLogsDays": 30}})
    assert r.status_code == 200

    history = (await tenant.http.get(f"{SETTINGS}/history")).json()["data"]
    assert len(history) == 2
    newest, first = history
    unset = {"eventLogsDays": None, "eventDataDays": None, "auditDays": None}
    assert first["before"]["retention"] == unset
    assert first["after"]["retention"] == {**unset, **change}
    assert newest["before"]["retention"] == {**unset, **change}
    assert newest["after"]["retention"] == {**unset, "eventLogsDays": 30}
    assert newest["till"]["code"] == tenant.till_code


@pytest.mark.parametrize("field", ["eventLogsDays", "eventDataDays", "auditDays"])
@pytest.mark.parametrize("value", [-1, 0, 36_501, True, False, "30", 30.5, [30], {"days": 30}])
async def test_bad_days_are_a_400_naming_the_field(tenant: Tenant, field: str, value: Any) -> None:
    r = await tenant.http.put(SETTINGS, json={"retention": {field: value}})
    assert f"retention.{field}" in _error(r)
    assert (await tenant.http.get(SETTINGS)).json()["retention"] == DEFAULTS


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"retention": {"eventLogDays": 30}}, "retention.eventLogDays"),
        ({"retention": 30}, "retention"),
        ({"retention": True}, "retention"),
    ],
)
async def test_bad_retention_objects_are_a_400(
    tenant: Tenant, body: dict[str, Any], name: str
) -> None:
    assert f"'{name}'" in _error(await tenant.http.put(SETTINGS, json=body))


async def test_the_limits_are_accepted(tenant: Tenant) -> None:
    days = {"eventLogsDays": 1, "eventDataDays": 36_500, "auditDays": 36_500}
    r = await tenant.http.put(SETTINGS, json={"retention": days})
    assert r.status_code == 200 and r.json()["retention"] == days
