"""The newcomer's first session, against a real `eventrail serve` process (issue #2)."""

from __future__ import annotations

import httpx

from tests.fixtures.factories import basic, md5
from tests.fixtures.server import run_cli, running_server


def test_newcomer_flow(env: dict[str, str]) -> None:
    assert run_cli(["migrate"], env)[0] == 0
    _, org = run_cli(["org", "create", "--name", "Demo Brand"], env)
    org_id = org["orgId"]
    _, till = run_cli(
        [
            "till",
            "create",
            "--org",
            str(org_id),
            "--code",
            "demo.till",
            "--password",
            "Pass123",
            "--store-code",
            "demo.store",
            "--admin",
        ],
        env,
    )
    with (
        running_server(env) as base,
        httpx.Client(base_url=base, headers=basic("demo.till", md5("Pass123")), timeout=10) as api,
    ):
        r = api.post(
            "/v2/customers",
            json={
                "profiles": [
                    {
                        "firstName": "Tom",
                        "lastName": "V",
                        "identifiers": [
                            {"type": "mobile", "value": "919988776655"},
                            {"type": "email", "value": "tom@example.com"},
                        ],
                    }
                ]
            },
        )
        assert r.status_code == 200, r.text
        assert r.headers["x-cap-requestid"]
        customer_id = r.json()["createdId"]

        r = api.post(
            f"/v2/customers/{customer_id}/changeIdentifier",
            json={
                "add": [{"type": "mobile", "value": "919986000581"}],
                "remove": [{"type": "mobile", "value": "919988776655"}],
            },
        )
        assert r.status_code == 200, r.text
        r = api.put(f"/v2/customers/{customer_id}", json={"profiles": [{"lastName": "Vatsal"}]})
        assert r.status_code == 200, r.text
        series_id = api.post(
            "/v2/orgs/settings/cardSeries", json={"name": "Gold", "code": "GOLD"}
        ).json()["seriesId"]
        r = api.post(
            f"/v2/customers/{customer_id}/changeIdentifier",
            json={"add": [{"type": "cardnumber", "value": "GOLD000001", "seriesId": series_id}]},
        )
        assert r.status_code == 200, r.text
        issue_request_id = r.headers["x-cap-requestid"]

        page = api.get(
            "/api_gateway/v2/audits", params={"entityType": "CUSTOMER", "entityId": customer_id}
        ).json()
        assert page["pagination"] == {
            "totalElements": 4,
            "totalPages": 1,
            "numberOfElements": 4,
            "number": 0,
        }
        card_event, surname_event, mobile_event = (e["events"][0] for e in page["data"][:3])
        assert card_event == {
            "eventType": "Identifiers",
            "updatedField": "cardnumber",
            "additionalFields": {"previousValue": "NA", "currentValue": "GOLD000001"},
            "associateEntities": None,
        }
        assert surname_event["additionalFields"] == {"previousValue": "V", "currentValue": "Vatsal"}
        assert surname_event["updatedField"] == "LastName"
        assert mobile_event["additionalFields"] == {
            "previousValue": "919988776655",
            "currentValue": "919986000581",
        }
        newest = page["data"][0]
        assert newest["requestId"] == issue_request_id
        assert newest["updatedBy"] == till["tillId"]
        assert newest["till"] == {"code": "demo.till", "name": "demo.till", "id": till["tillId"]}
        assert newest["store"]["code"] == "demo.store"
        assert newest["orgId"] == org_id and newest["source"] == "INSTORE"

        card_id = api.get("/v2/card", params={"number": "GOLD000001"}).json()["cardId"]
        cards = api.get(
            "/api_gateway/v2/audits", params={"entityType": "CARD", "entityId": card_id}
        ).json()
        [card_entry] = cards["data"]
        assert card_entry["requestId"] == issue_request_id
        assert [e["additionalFields"] for e in card_entry["events"]] == [
            {
                "labelId": card_entry["events"][0]["additionalFields"]["labelId"],
                "value": "NOT_ISSUED",
            },
            {
                "previousLabelId": card_entry["events"][0]["additionalFields"]["labelId"],
                "previousValue": "NOT_ISSUED",
                "currentValue": "ACTIVE",
                "currentLabelId": card_entry["events"][1]["additionalFields"]["currentLabelId"],
            },
        ]
        assert card_entry["events"][1]["associateEntities"] == [
            {"entityType": "CUSTOMER", "entityId": customer_id}
        ]
