"""Fixtures that serve the real app on 127.0.0.1 and drive it in Chromium.

The browser is Debian's Chromium at /usr/bin/chromium (CHROMIUM overrides
the path); Playwright's own browser download is never used. scripts/test
installs the Debian package when it is missing.
"""

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect, sync_playwright
from werkzeug.serving import make_server

from api import create_app
from api.database import get_database
from api.sender import close_sender
from relay.config import Settings, parse_api_tokens

# The relay and receiver fixtures of the end-to-end tests, shared here.
from tests.end_to_end.conftest import receiver, start_relay  # noqa: F401

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
OPERATOR = "alice"
TOKEN = "alice-admin-token"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

# Without these, Chromium keeps trying to reach Google's services, which
# this machine cannot and should not reach.
_CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Every wait on a page gives up after this many milliseconds.
PAGE_TIMEOUT_MS = 15_000
expect.set_options(timeout=PAGE_TIMEOUT_MS)

# axe impact levels that fail a test.
_BLOCKING_IMPACTS = frozenset({"serious", "critical"})


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Return a headless Chromium shared by the whole run."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}; install the Debian packages "
            "chromium and chromium-driver (scripts/test does so as root), or "
            "set CHROMIUM to the browser's path."
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=_CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def admin_url(database_url: str) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 in a thread; return its URL."""
    settings = Settings(
        database_url=database_url,
        api_tokens=parse_api_tokens(f"{OPERATOR}:{TOKEN}"),
        allow_private_targets=True,
        timeout=5.0,
    )
    app = create_app(settings, admin_poll_seconds=0.5)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)
    get_database(app).close()
    close_sender(app)


@pytest.fixture
def page(browser: Browser, admin_url: str) -> Iterator[Page]:
    """Return a page in a fresh browser context, so no cookie carries over."""
    # Reduced motion turns Bootstrap's colour transitions off, so axe never
    # measures the contrast of a button halfway through its hover fade.
    context = browser.new_context(
        base_url=admin_url,
        viewport={"width": 1280, "height": 800},
        reduced_motion="reduce",
    )
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def logged_in(page: Page) -> Page:
    """Return the page after logging in as the operator."""
    log_in(page, TOKEN)
    assert page.url.endswith("/admin/webhooks")
    return page


def log_in(page: Page, token: str) -> None:
    """Open the login page and send token."""
    page.goto("/admin/login")
    page.get_by_label("Operator token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


@pytest.fixture(scope="session")
def axe() -> Axe:
    """Return the axe-core runner, which injects the axe.min.js it ships."""
    return Axe()


@pytest.fixture
def check_page(axe: Axe) -> Callable[[Page, str], None]:
    """Return a function that checks a page with axe and saves a screenshot."""

    def check(page: Page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        results = axe.run(page)
        blocking = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in results.response["violations"]
            if violation["impact"] in _BLOCKING_IMPACTS
        ]
        assert not blocking, f"accessibility violations on {name}: {blocking}"

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return check
