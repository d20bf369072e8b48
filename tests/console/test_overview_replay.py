"""The console's overview, Replay button and "try a payload" over HTTP on both
databases: what they show, CSRF, org isolation, bad input, and the console's requests
charged to the caller's rate limit; status counts exact without a time range."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import anyio
import httpx
import pytest

from eventrail.app import EventrailApp
from eventrail.retention.repository import EVENT_LOGS
from eventrail.retention.service import Target, prune
from tests.fixtures.console import csrf_of, show_data, signed_in
from tests.fixtures.factories import Tenant
from tests.fixtures.pipeline import customer_fld, fld, logs

pytestmark = pytest.mark.anyio


async def press(
    client: httpx.AsyncClient, url: str, form: dict[str, str], drain: Callable[[], int]
) -> httpx.Response:
    """Post a form that waits for the processors (Replay), processing meanwhile."""
    done: list[httpx.Response] = []

    async def send() -> None:
        done.append(await client.post(url, data=form))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(send)
        while not done:
            await anyio.to_thread.run_sync(drain)
            await anyio.sleep(0.05)
    return done[0]


async def test_overview_shows_the_charts_the_failures_the_webhooks_and_the_backlog(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int]
) -> None:
    empty = await signed_in(app, tenant)
    before = await empty.get("/console")
    assert before.status_code == 200
    assert "No log entries in this period." in before.text
    assert "No failures in the last 7 days." in before.text

    data = await show_data(tenant, drain)
    client = await signed_in(app, tenant)
    page = await client.get("/console")
    assert page.status_code == 200, page.text
    for chart in ("chart-day", "chart-week"):
        section = page.text[page.text.index(f'id="{chart}"') :]
        assert "<b>2</b> log entries" in section[:400], chart
    assert page.text.count('class="bar s-EVENT_SUCCESS"') == 2  # one bar in each chart
    assert page.text.count('class="bar s-EVENT_FIELD_VALIDATION_FAILED"') == 2
    failures = page.text[page.text.index('id="failures"') : page.text.index('id="webhooks"')]
    assert data.name in failures and "Invalid value for field amount" in failures
    assert "EVENT_SUCCESS" not in failures
    link = re.search(
        r'href="(/console/events\?status=EVENT_FIELD_VALIDATION_FAILED[^"]*)"', page.text
    )
    assert link is not None
    entries = await client.get(link.group(1).replace("&amp;", "&"))
    assert entries.status_code == 200
    assert data.failed_id in entries.text and data.ok_id not in entries.text
    hooks = page.text[page.text.index('id="webhooks"') :]
    row = hooks[hooks.index(data.webhook_id) :]
    assert "never" not in row[: row.index("</tr>")]
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    assert today in row[: row.index("</tr>")]
    assert "requests waiting" in page.text


async def test_log_counts_are_exact_with_and_without_a_time_range(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int]
) -> None:
    data = await show_data(tenant, drain)
    client = await signed_in(app, tenant)
    now = datetime.now(UTC)
    for params in (
        {},
        {"event": data.name},
        {"webhook": data.webhook_id},
        {"from": (now - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")},
        {"from": (now - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S")},
        {"from": (now - timedelta(days=3)).strftime("%Y-%m-%d"), "to": now.strftime("%Y-%m-%d")},
        {"from": (now - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S"), "to": "2099-01-01"},
    ):
        page = await client.get("/console/events", params=params)
        assert page.status_code == 200, (params, page.text)
        assert re.search(r"EVENT_SUCCESS <b>1</b>", page.text), params
        assert re.search(r"EVENT_FIELD_VALIDATION_FAILED <b>1</b>", page.text), params
    past = await client.get("/console/events", params={"to": "2001-01-01"})
    assert "No entries under this filter" in past.text


async def test_replay_button_replays_through_the_api_service_and_lists_the_replays(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int]
) -> None:
    data = await show_data(tenant, drain)
    client = await signed_in(app, tenant)
    other = await signed_in(app, tenant)
    page = await client.get(f"/console/events/{data.failed_id}")
    assert "Never replayed." in page.text
    assert f'action="/console/events/{data.failed_id}/replay"' in page.text
    token = csrf_of(page.text)
    url = f"/console/events/{data.failed_id}/replay"
    for form in ({}, {"csrf": ""}, {"csrf": csrf_of((await other.get("/console")).text)}):
        refused = await client.post(url, data=form)
        assert refused.status_code == 403, form
        assert "The form expired" in refused.text
    cross = await client.post(url, data={"csrf": token}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert len(await logs(tenant, limit=50)) == 2  # nothing replayed

    # Not fixed yet: the replay fails the same way, as a new entry.
    again = await press(client, url, {"csrf": token}, drain)
    assert again.status_code == 200, again.text
    result = again.text[again.text.index('id="replay-result"') :][:600]
    assert "Replayed as" in result and "EVENT_FIELD_VALIDATION_FAILED" in result
    # The definition fixed through the API: the next replay succeeds.
    r = await tenant.http.put(
        "/v2/events",
        json={
            "eventName": data.name,
            "actions": ["EIConsumer"],
            "fields": [
                customer_fld(),
                fld("amount", "string", isRequired=True),
                fld("email", "string", isPsiData=True),
            ],
        },
    )
    assert r.status_code == 200, r.text
    fixed = await press(client, url, {"csrf": token}, drain)
    assert fixed.status_code == 200, fixed.text
    found = re.search(
        r'Replayed as <a class="mono" href="/console/events/([0-9a-f-]{36})"', fixed.text
    )
    assert found is not None, fixed.text
    assert "EVENT_SUCCESS" in fixed.text[fixed.text.index('id="replay-result"') :][:600]
    replay_id = found.group(1)
    assert 'class="replay"' not in fixed.text  # no button once a replay succeeded
    entry = await client.get(f"/console/events/{replay_id}")
    assert "Event processed successfully" in entry.text
    assert f'href="/console/events/{data.failed_id}"' in entry.text  # Replay of
    assert "/replay" not in entry.text.split("<h2>Earlier replays</h2>")[0][-400:]
    listed = await client.get(f"/console/events/{data.failed_id}")
    replays = listed.text[listed.text.index('id="replays"') :]
    replays = replays[: replays.index("</table>")]
    assert replays.count("<tr>") == 3  # the header, then the two replays
    assert replay_id in replays and "succeeded" in replays and "failed" in replays
    customer = await client.get(f"/console/customers/{data.customer_id}")
    assert f"/console/events/{replay_id}" in customer.text

    # Pressed again: skipped, the reason in plain words; nothing new in the log.
    count = len(await logs(tenant, limit=50))
    twice = await press(client, url, {"csrf": token}, drain)
    assert "Not replayed: A replay of this entry already succeeded." in twice.text
    assert len(await logs(tenant, limit=50)) == count
    ok = await press(client, f"/console/events/{data.ok_id}/replay", {"csrf": token}, drain)
    assert "Not replayed: The entry succeeded" in ok.text


async def test_another_orgs_session_cannot_replay_and_a_reader_is_refused(
    app: EventrailApp, make_tenant: Callable[..., object], drain: Callable[[], int]
) -> None:
    a: Tenant = await make_tenant()  # type: ignore[misc]
    b: Tenant = await make_tenant()  # type: ignore[misc]
    data = await show_data(a, drain)
    client = await signed_in(app, b)
    token = csrf_of((await client.get("/console")).text)
    for log_id in (data.failed_id, data.ok_id, "0" * 36, "x" * 100):
        r = await client.post(f"/console/events/{log_id}/replay", data={"csrf": token})
        assert r.status_code == 404, log_id
        assert data.mobile not in r.text
    assert len(await logs(a, limit=50)) == 2


async def test_try_a_payload_is_a_dry_run_and_bad_input_shows_the_page_again(
    app: EventrailApp, make_tenant: Callable[..., object], drain: Callable[[], int]
) -> None:
    a: Tenant = await make_tenant()  # type: ignore[misc]
    b: Tenant = await make_tenant()  # type: ignore[misc]
    data = await show_data(a, drain)
    other = await show_data(b, drain)
    client = await signed_in(app, a)
    page = await client.get("/console/definitions")
    assert 'action="/console/definitions/try#try"' in page.text
    token = csrf_of(page.text)
    body = f'{{"event_name": "{data.name}", "customer": "{data.mobile}", "amount": 3}}'
    ok = await client.post(
        "/console/definitions/try",
        data={"csrf": token, "webhook": data.webhook_id, "payload": body},
    )
    assert ok.status_code == 200, ok.text
    assert "Dry run, nothing written" in ok.text and "EVENT_SUCCESS" in ok.text
    assert "Every step passed." in ok.text
    bad_field = body.replace('"amount": 3', '"amount": "lots"')
    failed = await client.post(
        "/console/definitions/try",
        data={"csrf": token, "webhook": data.webhook_id, "payload": bad_field},
    )
    assert "EVENT_FIELD_VALIDATION_FAILED" in failed.text
    assert re.search(r'Failed at the <b class="step">field validation</b> step', failed.text)
    assert len(await logs(a, limit=50)) == 2  # nothing logged
    for form, status, message in (
        ({"payload": "{not json"}, 400, "not valid JSON"),
        ({"payload": "[1, 2]"}, 400, "not a JSON object"),
        ({"payload": "  "}, 400, "Paste a JSON payload"),
        ({"webhook": ""}, 400, "Enter the webhook"),
        ({"webhook": other.webhook_id}, 404, "No such webhook in this org"),
        ({"webhook": "nope"}, 404, "No such webhook in this org"),
        ({"payload": "x" * 70_000}, 400, "The form is too large"),
    ):
        fields = {"csrf": token, "webhook": data.webhook_id, "payload": body, **form}
        r = await client.post("/console/definitions/try", data=fields)
        assert r.status_code == status, (form, r.text[-500:])
        assert message in r.text, form
        assert "<h1>Event definitions</h1>" in r.text  # the page again
    for fields in ({"webhook": data.webhook_id, "payload": body}, {"csrf": "x", "payload": body}):
        refused = await client.post("/console/definitions/try", data=fields)
        assert refused.status_code == 403
    assert len(await logs(a, limit=50)) == 2


async def test_console_requests_are_charged_to_the_callers_rate_limit(
    app: EventrailApp, tenant: Tenant
) -> None:
    r = await tenant.http.put("/v2/orgs/settings", json={"rateLimitPerMinute": 5})
    assert r.status_code == 200, r.text
    client = await signed_in(app, tenant)
    codes = [(await client.get("/console/events")).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429], codes
    refused = await client.get("/console/events")
    assert "Rate limit exceeded" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert "retry-after" in {k.lower() for k in refused.headers}
    # Another page is another endpoint, with its own budget, as in the API.
    assert (await client.get("/console/definitions")).status_code == 200


async def test_counts_without_a_range_leave_out_what_retention_pruned(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int]
) -> None:
    """Retention deletes old entries from the log but not from the rollup: counts start
    at the oldest entry kept."""
    data = await show_data(tenant, drain)
    ok = next(e for e in await logs(tenant, limit=50) if e["id"] == data.ok_id)
    target = Target(tenant.org_id, EVENT_LOGS, ok["startTime"] + 1)
    assert await anyio.to_thread.run_sync(prune, app.state.db, target, 100) == 1
    client = await signed_in(app, tenant)
    page = await client.get("/console/events")
    assert "EVENT_SUCCESS <b>" not in page.text
    assert re.search(r"EVENT_FIELD_VALIDATION_FAILED <b>1</b>", page.text)
