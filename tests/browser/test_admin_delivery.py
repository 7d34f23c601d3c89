"""The Admin pages against a real relay and receiver, from creation to recovery.

One webhook delivers to a receiver that returns 204; a second one fails
until the relay disables it, which the notification pages then show.
"""

import re
from collections.abc import Callable

import psycopg
import pytest
from playwright.sync_api import Dialog, Page, expect

from relay.store.events import emit
from tests.end_to_end.conftest import add_webhook, wait_until
from tests.receiver import Receiver

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ORDER = {"id": "6f1f6af7-5a0e-4c39-9e8f-8e0b2c7f4b11", "orderNumber": "0000000042"}


def _accept_dialogs(page: Page, messages: list[str]) -> None:
    def accept(dialog: Dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)


def test_webhook_created_tested_and_delivered(
    logged_in: Page,
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable,
    check_page: Callable,
) -> None:
    page = logged_in
    page.get_by_role("link", name="New webhook").click()
    page.get_by_label("Name").fill("Order sync")
    page.get_by_label("Description").fill("Sends new orders to the warehouse.")
    page.get_by_label("URL").fill(receiver.url("/orders"))
    page.get_by_label("Order Created").check()
    page.get_by_label("Order Updated").check()
    page.get_by_label("Enabled").check()
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_text("Webhook “Order sync” created.")).to_be_visible()
    page.get_by_role("button", name="Reveal").click()
    expect(page.locator("#secret-value")).to_have_value(re.compile(r"^whsec_\w"))
    check_page(page, "webhook-form")

    page.get_by_role("link", name="Test", exact=True).click()
    expect(page.get_by_label("Event")).to_have_value("order.created")
    expect(page.get_by_label("Payload (JSON)")).to_contain_text('"orderNumber"')
    page.get_by_role("button", name="Send test request").click()
    expect(page.locator(".result-summary")).to_contain_text("204")
    expect(page.locator(".result-summary")).to_contain_text(" ms")
    check_page(page, "webhook-test")
    test_request = receiver.wait_for(1, path="/orders")[0]
    assert test_request.json()["eventCode"] == "order.created"

    emit(db, "order.created", ORDER)
    emit(db, "order.updated", ORDER)
    page.goto("/admin/webhooks")
    page.get_by_role("link", name="Instances of Order sync").click()
    rows = page.locator("#instance-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="New")).to_have_count(2)
    expect(page.get_by_role("button", name="Pause auto-refresh")).to_be_visible()

    relay = start_relay()
    expect(rows.filter(has_text="Success")).to_have_count(2)
    expect(page.get_by_text("Auto-refresh is off")).to_be_visible()
    check_page(page, "instances")

    page.get_by_label("Success").check()
    page.get_by_label("Event").select_option("order.updated")
    page.get_by_role("button", name="Filter").click()
    expect(rows).to_have_count(1)
    assert "state=success" in page.url
    assert "eventCode=order.updated" in page.url

    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Executions")).to_be_visible()
    expect(page.locator(".timeline-item")).to_have_count(1)
    expect(page.locator("#payload-json")).to_contain_text('"orderNumber": "0000000042"')
    page.get_by_role("button", name="Copy").click()
    clipboard = page.evaluate("navigator.clipboard.readText()")
    assert '"orderNumber": "0000000042"' in clipboard
    check_page(page, "instance")

    page.goto("/admin/webhooks")
    expect(page.get_by_role("cell", name="Order Created Order Updated")).to_be_visible()
    check_page(page, "webhooks")
    # NOTE: when a relay here was only killed at teardown, later tests'
    # relays delivered nothing within 30 s; stopping it with SIGTERM, which
    # also ends its workers, avoids that. The cause is not pinned down.
    assert relay.stop() == 0


def test_failing_webhook_disabled_then_recovered(
    logged_in: Page,
    db: psycopg.Connection,
    receiver: Receiver,
    start_relay: Callable,
    check_page: Callable,
) -> None:
    page = logged_in
    dialogs: list[str] = []
    _accept_dialogs(page, dialogs)
    receiver.script("/failing", 500)
    webhook_id = add_webhook(db, receiver.url("/failing"), ["invoice.created"])
    db.execute(
        "UPDATE webhooks.webhook SET name = 'Billing' WHERE id = %s", (webhook_id,)
    )
    emit(db, "invoice.created", {"id": "a3c5e1f0-0000-4000-8000-000000000001"})

    relay = start_relay(WEBHOOKS_DISABLE_AFTER="1")
    wait_until(
        lambda: db.execute(
            "SELECT NOT enabled FROM webhooks.webhook WHERE id = %s", (webhook_id,)
        ).fetchone()[0],
        timeout=30,
    )

    page.reload()
    expect(page.get_by_role("cell", name="Auto-disabled")).to_be_visible()
    banner = page.get_by_role("status").filter(has_text="unread notification")
    expect(banner).to_be_visible()

    page.get_by_role("link", name="Instances of Billing").click()
    rows = page.locator("#instance-results tbody tr")
    expect(rows.filter(has_text="Failed")).to_have_count(1)
    expect(rows.first).to_contain_text("Held while disabled")
    retry = page.get_by_role("button", name="Retry 1 failed or canceled")
    expect(retry).to_be_enabled()
    rows.first.get_by_role("link").click()

    expect(page.locator(".timeline-item")).to_have_count(1)
    expect(page.locator(".timeline-item").first).to_contain_text("500")
    page.get_by_role("button", name="Execute now").click()
    expect(page.locator("#action-result")).to_contain_text("Executed now: HTTP 500")
    expect(page.locator(".timeline-item")).to_have_count(2)
    assert dialogs[-1].startswith("Send this instance to")

    page.get_by_role("button", name="Cancel retries").click()
    expect(page.locator("#action-result")).to_contain_text("Retries canceled.")
    expect(page.locator("h1 .tag")).to_have_text(re.compile("Canceled"))
    expect(page.get_by_role("button", name="Cancel retries")).to_have_count(0)
    assert "remaining retr" in dialogs[-1]
    check_page(page, "instance-failed")

    page.get_by_role("link", name="Review notifications").click()
    disabled = page.locator("li.card").filter(has_text="Disabled")
    expect(disabled.first).to_contain_text("HTTP 500")
    check_page(page, "notifications")

    receiver.script("/failing", 200)
    disabled.first.get_by_role("button", name="Re-enable Billing").click()
    expect(page.get_by_text("Webhook “Billing” enabled again.")).to_be_visible()
    assert dialogs[-1].startswith("Enable “Billing” again?")
    page.locator("li.card").first.get_by_role("button", name="Mark read").click()
    expect(page.get_by_text("Notification marked read.")).to_be_visible()

    page.goto("/admin/webhooks")
    expect(page.get_by_role("cell", name="Enabled", exact=True)).to_be_visible()
    page.get_by_role("link", name="Instances of Billing").click()
    page.get_by_role("button", name="Retry 1 failed or canceled").click()
    assert dialogs[-1] == (
        "Retry 1 failed or canceled instance that matches these filters?"
    )
    expect(page.get_by_text("Queued 1 instance for retry.")).to_be_visible()
    # A queued instance is failed, not new or running, so the list does not
    # refresh itself; the page is reloaded once the relay delivered it.
    wait_until(
        lambda: (
            db.execute("SELECT state FROM webhooks.instance").fetchone()[0] == "success"
        )
    )
    page.reload()
    expect(rows.filter(has_text="Success")).to_have_count(1)
    assert relay.stop() == 0
