"""Login, CSRF and keyboard use of the Admin pages in Chromium."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import OPERATOR, TOKEN, log_in

pytestmark = pytest.mark.browser


def test_login_wrong_token_rejected(page: Page, check_page: Callable) -> None:
    log_in(page, "not-a-token")

    expect(page.get_by_text("Invalid token")).to_be_visible()
    expect(page.get_by_label("Operator token")).to_have_attribute(
        "aria-invalid", "true"
    )
    assert page.url.endswith("/admin/login")
    check_page(page, "login")

    page.goto("/admin/webhooks")
    assert "/admin/login" in page.url


def test_login_redirects_back_and_logs_out(page: Page) -> None:
    page.goto("/admin/notifications")
    assert "/admin/login?next=" in page.url

    page.get_by_label("Operator token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()

    expect(
        page.get_by_role("heading", name="Notifications", exact=True)
    ).to_be_visible()
    assert page.url.endswith("/admin/notifications")
    expect(page.get_by_text(f"Signed in as {OPERATOR}")).to_be_visible()
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in to the Admin")).to_be_visible()


def test_post_without_csrf_token_refused(logged_in: Page) -> None:
    response = logged_in.request.post(
        "/admin/webhooks/new",
        form={"name": "No token", "url": "http://127.0.0.1:9/hook"},
    )

    assert response.status == 400
    assert "CSRF" in response.text()
    assert "Traceback" not in response.text()
    logged_in.goto("/admin/webhooks")
    expect(logged_in.get_by_text("No webhooks yet")).to_be_visible()


def test_webhook_form_keyboard_only(logged_in: Page, check_page: Callable) -> None:
    page = logged_in
    check_page(page, "webhooks-empty")
    page.goto("/admin/webhooks/new")

    # The first Tab lands on the skip link; it jumps past the navigation.
    page.keyboard.press("Tab")
    expect(page.get_by_text("Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    _tab_to(page, page.get_by_label("Name"))
    page.keyboard.type("Warehouse sync")
    _tab_to(page, page.get_by_label("URL"))
    page.keyboard.type("ftp://warehouse.example/hook")
    _tab_to(page, page.get_by_label("Order Created"))
    page.keyboard.press("Space")
    _tab_to(page, page.get_by_role("button", name="Create webhook"))
    page.keyboard.press("Enter")

    url_field = page.get_by_label("URL")
    expect(page.get_by_text("Must be an absolute http or https URL")).to_be_visible()
    expect(url_field).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Order Created")).to_be_checked()
    check_page(page, "webhook-form-errors")

    url_field.focus()
    page.keyboard.press("Control+A")
    page.keyboard.type("https://warehouse.example/hook")
    _tab_to(page, page.get_by_role("button", name="Create webhook"))
    page.keyboard.press("Enter")

    expect(page.get_by_text("Webhook “Warehouse sync” created.")).to_be_visible()
    expect(page.get_by_role("heading", name="Warehouse sync")).to_be_visible()


def _tab_to(page: Page, target: object, presses: int = 40) -> None:
    """Press Tab until target has focus; fail after presses tries."""
    for _ in range(presses):
        if target.evaluate("element => element === document.activeElement"):  # type: ignore[attr-defined]
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {target}")
