"""The console over HTTP on both databases: sign-in and the session cookie, CSRF,
what each page shows, org isolation with guessed URLs, PSI masking, bad input."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from eventrail.app import EventrailApp
from eventrail.auth.service import set_till_password
from eventrail.console import endpoints
from eventrail.console import session as console_session
from tests.customers.helpers import merge
from tests.fixtures.console import browser, csrf_of, show_data, sign_in, signed_in
from tests.fixtures.factories import Tenant, make_client
from tests.fixtures.pipeline import add_customer, mobile, post, tick

pytestmark = pytest.mark.anyio

SECURITY_HEADERS = {
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}


async def test_sign_in_sets_a_strict_httponly_expiring_cookie_and_sign_out_needs_the_token(
    app: EventrailApp, tenant: Tenant
) -> None:
    client = browser(app)
    r = await client.get("/console/events?status=EVENT_SUCCESS")
    assert r.status_code == 303
    assert (
        r.headers["location"]
        == "/console/sign-in?next=%2Fconsole%2Fevents%3Fstatus%3DEVENT_SUCCESS"
    )

    wrong = await sign_in(client, tenant.till_code, "not-the-password")
    assert wrong.status_code == 401
    assert "Wrong till code or password" in wrong.text
    assert "eventrail_console=" not in wrong.headers.get("set-cookie", "")

    r = await sign_in(client, tenant.till_code, tenant.password)
    assert r.status_code == 303
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("eventrail_console="))
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/console", "Max-Age=28800"):
        assert attribute.lower() in cookie.lower(), cookie
    page = await client.get("/console/events")
    assert page.status_code == 200
    for name, value in SECURITY_HEADERS.items():
        assert page.headers[name] == value
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert f"till {tenant.till_code}" in page.text

    other = await signed_in(app, tenant)
    other_token = csrf_of((await other.get("/console/events")).text)
    own_token = csrf_of(page.text)
    assert other_token != own_token
    for form in ({}, {"csrf": other_token}, {"csrf": ""}):
        refused = await client.post("/console/sign-out", data=form)
        assert refused.status_code == 403, form
        assert "The form expired" in refused.text
    cross = await client.post(
        "/console/sign-out", data={"csrf": own_token}, headers={"Origin": "http://evil.example"}
    )
    assert cross.status_code == 403
    assert (await client.get("/console/events")).status_code == 200  # still signed in

    out = await client.post("/console/sign-out", data={"csrf": own_token})
    assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
    assert (await client.get("/console/events")).status_code == 303


async def test_sign_in_form_needs_its_own_token(app: EventrailApp, tenant: Tenant) -> None:
    client = browser(app)
    r = await client.post(
        "/console/sign-in",
        data={
            "csrf": "made-up",
            "kind": "till",
            "name": tenant.till_code,
            "secret": tenant.password,
        },
    )
    assert r.status_code == 403
    assert "sign in again" in r.text
    for form, message in (
        ({"name": "", "secret": "x"}, "Enter the till code"),
        ({"name": "x", "secret": ""}, "Enter the password"),
        ({"kind": "root", "name": "x", "secret": "y"}, "Choose a till or an OAuth client"),
    ):
        page = await client.get("/console/sign-in")
        r = await client.post(
            "/console/sign-in", data={"csrf": csrf_of(page.text), "kind": "till", **form}
        )
        assert r.status_code == 400, form
        assert message in r.text


async def test_failed_sign_ins_count_against_the_api_lockout(
    app: EventrailApp, tenant: Tenant
) -> None:
    client = browser(app)
    limit = app.state.settings.auth_failures_per_minute
    for _ in range(limit):
        assert (await sign_in(client, tenant.till_code, "wrong")).status_code == 401
    r = await sign_in(client, tenant.till_code, tenant.password)
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.text
    # The API's Basic auth from the same source is refused alike: one budget.
    api = await tenant.http.get("/v2/events/webhooks")
    assert api.status_code == 429


async def test_oauth_client_signs_in_and_a_changed_password_ends_till_sessions(
    app: EventrailApp, tenant: Tenant
) -> None:
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code)
    client = browser(app)
    assert (await sign_in(client, key, "wrong", kind="client")).status_code == 401
    assert (await sign_in(client, key, secret, kind="client")).status_code == 303
    assert "client of till" in (await client.get("/console/events")).text

    till_session = await signed_in(app, tenant)
    assert (await till_session.get("/console/definitions")).status_code == 200
    with tenant.db.transaction() as session:
        set_till_password(session, org_id=tenant.org_id, code=tenant.till_code, password="New-1")
    app.state.authenticator.callers.org_changed(tenant.org_id)
    r = await till_session.get("/console/definitions")
    assert r.status_code == 303 and r.headers["location"].startswith("/console/sign-in")


async def test_tampered_or_expired_cookie_goes_back_to_sign_in(
    app: EventrailApp, tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = await signed_in(app, tenant)
    value = client.cookies["eventrail_console"]
    key = app.state.authenticator.signing_key
    good = console_session.read_session(key, value)
    assert good is not None and good.org_id == tenant.org_id
    body, mac = value.split(".")
    forged_body = body[:-2] + ("AA" if body[-2:] != "AA" else "BB")
    monkeypatch.setattr(console_session, "SESSION_SECONDS", -5)
    expired, _ = console_session.new_session(key, tenant.org_id, tenant.till_id, None, good.stamp)
    for bad in (f"{forged_body}.{mac}", f"{body}.{'0' * len(mac)}", "junk", expired):
        client.cookies.set("eventrail_console", bad, path="/console")
        r = await client.get("/console/events")
        assert r.status_code == 303, bad
        assert r.headers["location"].startswith("/console/sign-in")
        assert 'eventrail_console=""' in r.headers["set-cookie"]


async def test_pages_show_the_log_an_event_a_customer_and_the_definitions(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int]
) -> None:
    data = await show_data(tenant, drain)
    client = await signed_in(app, tenant)

    log = await client.get("/console/events")
    assert log.status_code == 200
    assert log.text.index(data.failed_id) < log.text.index(data.ok_id)  # newest first
    assert re.search(r"EVENT_SUCCESS <b>1</b>", log.text)
    assert re.search(r"EVENT_FIELD_VALIDATION_FAILED <b>1</b>", log.text)
    failed = await client.get("/console/events", params={"status": "EVENT_FIELD_VALIDATION_FAILED"})
    assert data.failed_id in failed.text and data.ok_id not in failed.text
    for params in (
        {"request": data.ok_id},
        {"event": data.name, "status": "EVENT_SUCCESS"},
        {"webhook": data.webhook_id, "status": "EVENT_SUCCESS"},
        {"customer": data.mobile, "status": "EVENT_SUCCESS"},
        {"customer": f"id:{data.customer_id}", "status": "EVENT_SUCCESS"},
    ):
        page = await client.get("/console/events", params=params)
        assert page.status_code == 200, params
        assert data.ok_id in page.text and data.failed_id not in page.text, params
    none = await client.get("/console/events", params={"event": "NoSuchEvent"})
    assert "No entries under this filter" in none.text

    ok = await client.get(f"/console/events/{data.ok_id}")
    assert ok.status_code == 200
    assert "Event processed successfully" in ok.text
    assert "Stored event" in ok.text and f"/console/customers/{data.customer_id}" in ok.text
    assert "Definition checked against" in ok.text and "amount" in ok.text
    bad = await client.get(f"/console/events/{data.failed_id}")
    assert "Invalid value for field amount" in bad.text
    assert "Fix the sender; the reason says what was expected." in bad.text
    assert "Stored event" not in bad.text
    assert "&#34;amount&#34;: &#34;lots&#34;" in bad.text  # the posted body, pretty and escaped

    found = await client.get("/console/customers", params={"by": "mobile", "q": data.mobile})
    assert found.status_code == 303
    assert found.headers["location"] == f"/console/customers/{data.customer_id}"
    by_card = await client.get(
        "/console/customers", params={"by": "cardnumber", "q": data.card_number}
    )
    assert by_card.headers["location"] == f"/console/customers/{data.customer_id}"
    customer = await client.get(f"/console/customers/{data.customer_id}")
    assert customer.status_code == 200
    assert data.mobile in customer.text and data.card_number in customer.text
    assert f"/console/events/{data.ok_id}" in customer.text  # the event, in the timeline
    assert "cardnumber</b>: NA → " + data.card_number in customer.text  # an audit entry
    assert f"by till {tenant.till_code}" in customer.text and "via API" in customer.text
    only_audits = await client.get(
        f"/console/customers/{data.customer_id}", params={"kind": "audit"}
    )
    assert f"/console/events/{data.ok_id}" not in only_audits.text
    assert "cardnumber</b>" in only_audits.text
    card = await client.get(f"/console/cards/{data.card_id}")
    assert card.status_code == 200
    assert data.card_number in card.text and "Trail" in card.text

    definitions = await client.get("/console/definitions")
    assert data.name in definitions.text
    assert f"/webhooks/{data.webhook_id}" in definitions.text
    row = re.search(
        r"<td>email</td><td>(\w+)</td>\s*<td>(\w*)</td><td>(\w*)</td><td>(\w*)</td>",
        definitions.text,
    )
    assert row is not None and row.groups() == ("STRING", "", "", "yes")


async def test_paging_neither_skips_nor_repeats_when_events_arrive(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = await show_data(tenant, drain)
    posted = [data.failed_id, data.ok_id]
    body = {"event_name": data.name, "customer": data.mobile, "amount": 1}
    for _ in range(3):
        await tick()
        posted.insert(0, await post(tenant, data.webhook_id, body))
    drain()
    monkeypatch.setattr(endpoints, "PAGE_SIZE", 2)
    client = await signed_in(app, tenant)
    seen: list[str] = []
    page = await client.get("/console/events")
    while True:
        seen += re.findall(r'href="/console/events/([0-9a-f-]{36})"', page.text)
        if len(seen) == 2:  # new events arrive between the first page and the second
            for _ in range(2):
                await tick()
                await post(tenant, data.webhook_id, body)
            drain()
        older = re.search(r'rel="next" href="([^"]+)"', page.text)
        if older is None:
            break
        page = await client.get(older.group(1).replace("&amp;", "&"))
    assert seen == posted


async def test_bad_input_shows_the_page_again_with_the_message(
    app: EventrailApp, tenant: Tenant
) -> None:
    client = await signed_in(app, tenant)
    for params, message in (
        ({"from": "yesterday"}, "from"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "must not be after"),
        ({"status": "BROKEN"}, "Invalid value for &#39;status&#39;"),
        ({"cursor": "abc"}, "use the link of the page"),
        ({"customer": "nobody@example.com"}, "No customer with that identifier"),
        ({"customer": "shoe:1"}, "Find by one of"),
    ):
        r = await client.get("/console/events", params=params)
        assert r.status_code == 400, (params, r.text)
        assert message in r.text, params
        assert '<form method="get" action="/console/events"' in r.text
    for params, status, message in (
        ({"by": "id", "q": "abc"}, 400, "A customer id is a number"),
        ({"by": "shoe", "q": "1"}, 400, "Find by one of"),
        ({"by": "mobile", "q": "000"}, 404, "No customer found"),
    ):
        r = await client.get("/console/customers", params=params)
        assert r.status_code == status, params
        assert message in r.text
    r = await client.get("/console/customers/1", params={"kind": "everything"})
    assert r.status_code in (400, 404)
    for path in ("/console/customers/abc", "/console/cards/x", "/console/events/" + "f" * 80):
        assert (await client.get(path)).status_code == 404, path
    r = await client.post(
        "/console/sign-out",
        content=b"csrf=%ff%fe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code in (400, 403)


async def test_another_org_sees_none_of_it_with_guessed_urls(
    app: EventrailApp, make_tenant: Callable[..., object], drain: Callable[[], int]
) -> None:
    a: Tenant = await make_tenant()  # type: ignore[misc]
    b: Tenant = await make_tenant()  # type: ignore[misc]
    data = await show_data(a, drain)
    client = await signed_in(app, b)
    for path in (
        f"/console/events/{data.ok_id}",
        f"/console/events/{data.failed_id}",
        f"/console/customers/{data.customer_id}",
        f"/console/cards/{data.card_id}",
    ):
        r = await client.get(path)
        assert r.status_code == 404, path
        assert data.mobile not in r.text and data.email not in r.text
    for params in ({}, {"request": data.ok_id}, {"webhook": data.webhook_id}):
        r = await client.get("/console/events", params=params)
        assert r.status_code == 200
        assert "/console/events/" + data.ok_id not in r.text
        assert "/console/events/" + data.failed_id not in r.text
        assert "No entries under this filter" in r.text
    r = await client.get("/console/customers", params={"by": "mobile", "q": data.mobile})
    assert r.status_code == 404
    assert data.name not in (await client.get("/console/definitions")).text


async def test_psi_is_masked_on_every_page_without_psi_view(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int]
) -> None:
    r = await tenant.http.put("/v2/orgs/settings", json={"psiMaskingEnabled": True})
    assert r.status_code == 200, r.text
    data = await show_data(tenant, drain)
    masked = await signed_in(app, tenant)
    key, secret = make_client(tenant.db, tenant.org_id, tenant.till_code, psi_view=True)
    viewer = browser(app)
    assert (await sign_in(viewer, key, secret, kind="client")).status_code == 303
    pages = (
        "/console/events",
        f"/console/events/{data.ok_id}",
        f"/console/events/{data.failed_id}",
        f"/console/customers/{data.customer_id}",
        f"/console/cards/{data.card_id}",
    )
    for path in pages:
        hidden = await masked.get(path)
        assert hidden.status_code == 200, path
        for secret_value in (data.mobile, data.email, data.card_number):
            assert secret_value not in hidden.text, (path, secret_value)
    assert "PSI masked" in (await masked.get("/console/events")).text
    shown = await viewer.get(f"/console/events/{data.ok_id}")
    assert data.email in shown.text
    assert data.mobile in (await viewer.get(f"/console/customers/{data.customer_id}")).text


async def test_a_merge_shows_victim_and_survivor_and_the_timeline_filters_by_date(
    app: EventrailApp, tenant: Tenant, drain: Callable[[], int]
) -> None:
    data = await show_data(tenant, drain)
    victim_mobile = mobile()
    victim = await add_customer(tenant, "mobile", victim_mobile)
    await merge(tenant, data.customer_id, victim)
    client = await signed_in(app, tenant)
    survivor_page = await client.get(f"/console/customers/{data.customer_id}")
    assert survivor_page.status_code == 200
    merged = re.search(
        r'<p class="merge">Merge: victim (.*?) → survivor (.*?)</p>', survivor_page.text, re.S
    )
    assert merged is not None, survivor_page.text
    assert merged.groups() == (f"mobile {victim_mobile}", f"mobile {data.mobile}")
    victim_page = await client.get(f"/console/customers/{victim}")
    assert f'merged into <a href="/console/customers/{data.customer_id}">' in victim_page.text

    later = await client.get(
        f"/console/customers/{data.customer_id}", params={"from": "2999-01-01"}
    )
    assert later.status_code == 200 and "Nothing in this range." in later.text
    bad = await client.get(f"/console/customers/{data.customer_id}", params={"from": "soon"})
    assert bad.status_code == 400 and "from" in bad.text


async def test_a_parent_reads_its_childrens_log_and_a_child_not_its_parents(
    app: EventrailApp, make_tenant: Callable[..., object], drain: Callable[[], int]
) -> None:
    parent: Tenant = await make_tenant()  # type: ignore[misc]
    child: Tenant = await make_tenant(parent_org_id=parent.org_id)  # type: ignore[misc]
    child_data = await show_data(child, drain)
    parent_data = await show_data(parent, drain)
    as_parent = await signed_in(app, parent)
    log = await as_parent.get("/console/events")
    for request_id in (child_data.ok_id, parent_data.ok_id):
        assert f"/console/events/{request_id}" in log.text
    entry = await as_parent.get(f"/console/events/{child_data.failed_id}")
    assert entry.status_code == 200 and "Invalid value for field amount" in entry.text
    as_child = await signed_in(app, child)
    assert (
        f"/console/events/{parent_data.ok_id}" not in (await as_child.get("/console/events")).text
    )
    assert (await as_child.get(f"/console/events/{parent_data.ok_id}")).status_code == 404
    assert (await as_child.get(f"/console/customers/{parent_data.customer_id}")).status_code == 404
