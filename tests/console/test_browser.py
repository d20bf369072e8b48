"""One journey through the console in a real headless Chromium (Debian's package,
driven by Playwright for Python; nothing is downloaded), against a real
`eventrail serve` over the demo data, on each database.

Set EVENTRAIL_TEST_SCREENSHOTS=docs/img to refresh the screenshots docs/console.md shows.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect, sync_playwright

from tests.fixtures.notifications import Receiver, receiving, wait_for, webhook_body
from tests.fixtures.server import EVENTRAIL, free_port, server_process

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _demo(env: dict[str, str], base: str) -> dict[str, str]:
    for args in (["migrate"], ["demo", "--base-url", base]):
        done = subprocess.run(
            [EVENTRAIL, *args], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    lines = (Path(env["EVENTRAIL_DATA_DIR"]) / ".eventrail-demo.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def fix_purchase(base: str, till: str, password: str) -> None:
    """The demo's Purchase definition with ``amount`` a string: the fix support asks for."""
    mobile = {"identifierType": {"value": "mobile", "valueType": "ENUM"}}
    body = {
        "eventName": "Purchase",
        "label": "Purchase",
        "actions": ["EIConsumer"],
        "fields": [
            {"name": "customer", "type": "customer", "attributes": mobile},
            {"name": "amount", "type": "string", "attributes": {"isRequired": True}},
            {"name": "orderId", "type": "string", "attributes": {"isUniqueKeyField": True}},
            {"name": "channel", "type": "enum", "attributes": {"possibleValues": "app,web,pos"}},
            {"name": "email", "type": "string", "attributes": {"isPsiData": True}},
        ],
    }
    r = httpx.put(f"{base}/v2/events", json=body, auth=(till, password), timeout=30)
    assert r.status_code == 200 and r.json()["errors"] == [], r.text


def notify_once(base: str, till: str, password: str, receiver: Receiver) -> None:
    """A notification webhook on ``receiver`` and a customer registered through the API:
    one customerAdded delivery, waited for until the log says it was delivered."""
    auth = (till, password)
    body = webhook_body(receiver.url, ["customerAdded"], name="crm")
    r = httpx.post(f"{base}/v3/webHooks", json=body, auth=auth, timeout=30)
    assert r.status_code == 200, r.text
    identifiers = [{"type": "mobile", "value": "919877700001"}]
    r = httpx.post(
        f"{base}/v2/customers", json={"profiles": [{"identifiers": identifiers}]}, auth=auth
    )
    assert r.status_code == 200, r.text

    def delivered() -> bool:
        log = httpx.get(
            f"{base}/v3/webHooks/eventLog", params={"status": "delivered"}, auth=auth, timeout=30
        )
        return log.status_code == 200 and len(log.json()["data"]) == 1

    wait_for(delivered, timeout=30, step=0.2)
    assert receiver.answered


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("EVENTRAIL_TEST_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=False, animations="disabled")


def test_a_support_journey_in_chromium(env: dict[str, str], tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    port = free_port()
    # The notification receiver is on 127.0.0.1 (docs/notifications.md, "Private addresses").
    env = {**env, "EVENTRAIL_NOTIFY_ALLOW_PRIVATE": "true"}
    demo = _demo(env, f"http://127.0.0.1:{port}")
    till, password = demo["DEMO_TILL"].split(":", 1)
    problems: list[str] = []
    with (
        receiving() as receiver,
        server_process(env, port=port) as server,
        sync_playwright() as pw,
    ):
        context: BrowserContext = pw.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 860},
        )
        page = context.new_page()

        def note(message: ConsoleMessage) -> None:
            if message.type in ("error", "warning"):
                problems.append(message.text)

        page.on("console", note)
        try:
            page.goto(f"{server.base}/console")
            expect(page).to_have_url(re.compile(r"/console/sign-in\?next="))
            page.fill("input[name=name]", till)
            page.fill("input[name=secret]", "wrong")
            page.click("button[type=submit]")
            expect(page.get_by_role("alert")).to_have_text("Wrong till code or password")
            _shot(page, "console-sign-in.png")
            page.fill("input[name=name]", till)
            page.fill("input[name=secret]", password)
            page.click("form.card button[type=submit]")
            expect(page).to_have_url(f"{server.base}/console")
            # The overview: both charts have bars, the failures and webhooks their rows.
            for chart in ("#chart-day", "#chart-week"):
                expect(page.locator(f"{chart} rect.bar.s-EVENT_SUCCESS")).not_to_have_count(0)
                expect(page.locator(f"{chart} rect.bar").first).to_be_visible()
            expect(page.locator("#failures tbody")).to_contain_text("EVENT_FIELD_VALIDATION_FAILED")
            expect(page.locator("#webhooks td.last").first).not_to_have_text("never")
            expect(page.locator("#backlog")).to_contain_text("waiting")
            _shot(page, "console-overview.png")

            page.click("nav >> text=Event log")
            expect(page).to_have_url(f"{server.base}/console/events")
            expect(page.locator("table.log tbody tr")).to_have_count(50)
            _shot(page, "console-events.png")

            page.select_option("select[name=status]", "EVENT_FIELD_VALIDATION_FAILED")
            page.click("form.filters button[type=submit]")
            expect(page).to_have_url(re.compile(r"status=EVENT_FIELD_VALIDATION_FAILED"))
            statuses = page.locator("table.log tbody td:nth-child(2)").all_inner_texts()
            assert statuses and set(statuses) == {"EVENT_FIELD_VALIDATION_FAILED"}

            page.fill("input[name=event]", "Purchase")
            page.click("form.filters button[type=submit]")
            expect(page).to_have_url(re.compile(r"event=Purchase"))
            page.locator("table.log tbody a").first.click()
            expect(page.locator(".verdict")).to_contain_text("What to do")
            expect(page.locator(".verdict")).to_contain_text("Fix the sender")
            expect(page.locator(".verdict")).to_contain_text("Invalid value for field amount")
            expect(page.locator("pre.json").first).to_contain_text('"amount": "lots"')
            expect(page.locator("#replays")).to_contain_text("Never replayed.")
            _shot(page, "console-event.png")
            failed_url = page.url

            # Support asks for the definition to be fixed (here, through the API).
            fix_purchase(server.base, till, password)
            page.click("form.replay button[type=submit]")
            result = page.locator("#replay-result")
            expect(result).to_contain_text("Replayed as")
            expect(result).to_contain_text("EVENT_SUCCESS")
            expect(page.locator("#replays tbody")).to_contain_text("succeeded")
            _shot(page, "console-replay.png")
            result.locator("a").click()
            expect(page.locator(".verdict")).to_contain_text("Event processed successfully")
            replay_id = page.url.rsplit("/", 1)[1]
            expect(page.locator("table.facts")).to_contain_text(failed_url.rsplit("/", 1)[1])
            page.locator("table.facts a[href^='/console/customers/']").click()
            expect(page.locator(f".timeline a[href='/console/events/{replay_id}']")).to_be_visible()

            page.click("nav >> text=Customers")
            # The member's new mobile number finds them; its change shows before -> after
            # with the till that made it.
            page.select_option("select[name=by]", "mobile")
            page.fill("input[name=q]", "919900000001")
            page.click("form.filters button[type=submit]")
            expect(page).to_have_url(f"{server.base}/console/customers/{demo['DEMO_CUSTOMER']}")
            expect(page.locator(".timeline li.audit").first).to_contain_text("→")
            change = page.locator(".timeline li.audit", has_text="919800000000 → 919900000001")
            expect(change).to_have_count(1)
            expect(change.locator(".actor")).to_contain_text(f"by till {till}")
            expect(page.locator(".timeline li.event").first).to_be_visible()
            _shot(page, "console-customer.png")
            page.select_option("select[name=kind]", "event")
            page.click("text=Show >> nth=-1")
            expect(page.locator(".timeline li.audit")).to_have_count(0)

            page.click("nav >> text=Definitions")
            expect(page.locator("input.copy").first).to_have_value(
                re.compile(rf"^{re.escape(server.base)}/webhooks/[0-9a-f]{{32}}$")
            )
            page.fill("textarea[name=payload]", "{not json")
            page.click("form.try button[type=submit]")
            expect(page.locator("form.try .error")).to_contain_text("not valid JSON")
            page.fill(
                "textarea[name=payload]",
                '{"event_name": "Purchase", "customer": "919800000001", "channel": "fax",'
                ' "amount": 3}',
            )
            page.click("form.try button[type=submit]")
            expect(page.locator("#try-result")).to_contain_text("EVENT_FIELD_VALIDATION_FAILED")
            expect(page.locator("#try-result .step")).to_have_text("field validation")
            page.locator("#try").scroll_into_view_if_needed()
            _shot(page, "console-definitions.png")

            # A change sent to a notification webhook shows in the delivery log, and its
            # page shows the body as sent.
            notify_once(server.base, till, password, receiver)
            page.click("nav >> text=Notifications")
            expect(page).to_have_url(f"{server.base}/console/deliveries")
            sent = page.locator("#deliveries tbody tr", has_text="customerAdded")
            expect(sent).to_have_count(1)
            expect(sent).to_contain_text("crm")
            expect(sent).to_contain_text("delivered")
            _shot(page, "console-deliveries.png")
            sent.locator("a").click()
            expect(page.locator("#payload")).to_contain_text('"eventName": "customerAdded"')
            expect(page.locator("#consumer-response")).to_contain_text('"webhookHttpStatus": 200')

            page.click("text=Sign out")
            expect(page).to_have_url(f"{server.base}/console/sign-in")
            page.goto(f"{server.base}/console/definitions")
            expect(page).to_have_url(re.compile(r"/console/sign-in\?next=%2Fconsole%2Fdefinitions"))
        finally:
            context.close()
    # Nothing the page's Content-Security-Policy had to block, nothing missing: the only
    # complaints are the refused sign-in's 401 and the bad JSON payload's 400.
    assert problems == [
        "Failed to load resource: the server responded with a status of 401 (Unauthorized)",
        "Failed to load resource: the server responded with a status of 400 (Bad Request)",
    ]
