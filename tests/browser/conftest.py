"""Fixtures for browser tests: the real app served by uvicorn on loopback, and Debian's Chromium."""

from __future__ import annotations

import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route, sync_playwright

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.services import Services
from newsletter.store import Store
from newsletter.web import create_app
from tests.conftest import HF_API, CliRunnerFn
from tests.smtp_server import ScriptedHandler, free_port, start_server
from tests.web_support import SECRET, web_settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-quic",
    "--disable-sync",
    # Keep sandboxed frames (the admin preview's email) in the page's process, where Playwright's
    # routing sees their requests: otherwise the emails' thumbnails would be fetched from the Internet.
    "--disable-features=IsolateSandboxedIframes",
]
# The README's screenshots are refreshed on request (NEWSLETTER_SCREENSHOTS=docs/screenshots), so
# a test run never leaves the checkout changed; otherwise they go to a folder under the temp dir.
SCREENSHOTS = Path(
    os.environ.get("NEWSLETTER_SCREENSHOTS") or Path(tempfile.gettempdir()) / "newsletter-screenshots"
)
# The app's clock: the saved HF listing of 2025-03-11 is "today", so both today's live preview and
# tomorrow's issue (pool: listed within 3 days before 2025-03-12) draw on it.
NOW = datetime(2025, 3, 11, 9, 0, tzinfo=UTC)
TODAY = NOW.date().isoformat()
TOMORROW = (NOW.date() + timedelta(days=1)).isoformat()
MARCH = HF_API / "daily_papers_2025-03-11.json"
# Stands in for the papers' thumbnails, which live on huggingface.co and are not fetched in tests.
PLACEHOLDER_IMAGE = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="132" height="74">'
    b'<rect width="132" height="74" fill="#d0d7de"/></svg>'
)


def clock() -> datetime:
    return NOW


@dataclass
class LiveApp:
    """The real app on a real SQLite store, served over HTTP, with a real SMTP server for its mail."""

    base_url: str
    store: Store
    svc: Services
    mail: ScriptedHandler

    def cli_env(self) -> dict[str, str]:
        """What the CLI needs besides the database URL to sign and address links like the app does."""
        return {"NEWSLETTER_WEB_SECRET_KEY": SECRET, "NEWSLETTER_WEB_BASE_URL": self.base_url}

    def wait_for_mail(self, recipient: str, timeout_s: float = 10.0) -> EmailMessage:
        """The last message the SMTP server accepted for `recipient`, waiting for it to arrive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self.mail.lock:
                found = [r for r in self.mail.received if r.recipient == recipient]
            if found:
                msg = found[-1].parsed()
                assert isinstance(msg, EmailMessage)
                return msg
            time.sleep(0.05)
        raise AssertionError(f"no mail to {recipient} within {timeout_s} s")

    def link_in(self, text: str, kind: str) -> str:
        """The first absolute /<kind>/<token> link to this server in an email body."""
        match = re.search(rf"{re.escape(self.base_url)}/{kind}/[A-Za-z0-9_.\-]+", text)
        assert match, f"no {kind} link to {self.base_url} in {text[:500]}"
        return match.group(0)


@pytest.fixture
def live_app(db_url: str) -> Iterator[LiveApp]:
    handler = ScriptedHandler()
    smtp = start_server(handler)
    # The port is chosen before the settings so the links in emails point at the live server.
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    settings = web_settings(db_url, smtp.port, NEWSLETTER_WEB_BASE_URL=base_url)
    store = app.open_store(DatabaseSettings(url=db_url))
    svc = app.build_services(settings, store, clock=clock)
    server = uvicorn.Server(uvicorn.Config(create_app(svc), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            smtp.stop()
            store.dispose()
            pytest.fail(f"uvicorn did not start on {base_url}")
        time.sleep(0.02)
    try:
        yield LiveApp(base_url, store, svc, handler)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        smtp.stop()
        store.dispose()


@pytest.fixture
def march_papers(run_cli: CliRunnerFn) -> None:
    """The saved HF listing of 2025-03-11, imported through the real CLI as today's papers."""
    result = run_cli("fetch", "--file", str(MARCH), "--date", TODAY, clock=clock)
    assert result.exit_code == 0, result.output


# Module scope, not session: while Playwright's sync API is started its event loop counts as running in
# the main thread, so tests collected after these could not call asyncio.run().
@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser, live_app: LiveApp) -> Iterator[NewPage]:
    """Opens a page in a fresh context aimed at the live app; only the app itself is reachable."""
    contexts: list[BrowserContext] = []

    def offline(route: Route) -> None:
        request = route.request
        if request.url.startswith(live_app.base_url + "/"):
            route.continue_()
        elif request.resource_type == "image":
            route.fulfill(status=200, content_type="image/svg+xml", body=PLACEHOLDER_IMAGE)
        else:
            route.abort()

    def make(width: int = 900, height: int = 1100, timezone_id: str = "UTC", javascript: bool = True) -> Page:
        context = browser.new_context(
            base_url=live_app.base_url,
            java_script_enabled=javascript,
            viewport={"width": width, "height": height},
            timezone_id=timezone_id,
            locale="en-GB",
            color_scheme="light",
        )
        context.set_default_timeout(10_000)
        context.route("**/*", offline)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def launch_for_back(playwright: Playwright, back_forward_cache: bool) -> Browser:
    """Chromium for a test of the Back button: with its back/forward cache on or off, as desktop
    Chrome has it on and Playwright turns it off; a test uses no request routing with it, which
    would turn the HTTP cache off, so Back could show a kept copy."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        args=[*CHROMIUM_ARGS, "--enable-features=BackForwardCache"] if back_forward_cache else CHROMIUM_ARGS,
        ignore_default_args=["--disable-back-forward-cache"] if back_forward_cache else None,
    )


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page screenshot in SCREENSHOTS and return its path.

    Chromium does not paint cross-origin frames (the sandboxed email previews) while they are off
    screen, so the viewport grows to the page's height for the capture, keeping its width; nothing
    on our pages depends on the viewport's height, so the image is what a full-page capture shows.
    """
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    viewport = page.viewport_size
    assert viewport is not None
    height = int(page.evaluate("document.documentElement.scrollHeight"))
    page.set_viewport_size({"width": viewport["width"], "height": max(height, viewport["height"])})
    try:
        page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    finally:
        page.set_viewport_size(viewport)
    return path
