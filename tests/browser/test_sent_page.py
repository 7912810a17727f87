"""The sign-up's "check your inbox" page in a real browser: the address typed is shown, never put in a URL."""

from __future__ import annotations

from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip(
        "Debian's chromium is not installed: run ./scripts/install-debian-packages", allow_module_level=True
    )

from playwright.sync_api import Request, expect

from tests.browser.conftest import LiveApp, NewPage

EMAIL = "Sent.Page@example.org"


def test_signing_up_lands_on_a_url_without_the_address_and_the_page_shows_it(
    live_app: LiveApp, new_page: NewPage
) -> None:
    page = new_page()
    requested: list[str] = []

    def note(request: Request) -> None:
        requested.append(request.url)

    page.on("request", note)
    page.goto("/")
    page.locator("#email").fill(EMAIL)
    page.locator("#topics").fill("speech recognition")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator(".card")).to_contain_text(f"We sent a message to {EMAIL}.")
    assert page.url == f"{live_app.base_url}/sent"
    # Every address the browser asked for (what its history and the server's log keep) lacks it,
    # plain or as the base64 of a token.
    assert f"{live_app.base_url}/sent" in requested
    assert not [url for url in requested if "sent.page" in url.lower() or "eyJ" in url]
    # The cookie that carries it is out of scripts' reach, sent to that page alone, same-site only.
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "newsletter_sent"]
    assert (cookie["path"], cookie["httpOnly"], cookie["sameSite"]) == ("/sent", True, "Strict")
    assert page.evaluate("document.cookie").find("newsletter_sent") == -1
    page.reload()
    expect(page.locator(".card")).to_contain_text(f"We sent a message to {EMAIL}.")
    live_app.wait_for_mail(EMAIL)

    # An old /sent/<token> link, open in another browser: it lands on /sent and shows its address.
    token = live_app.svc.signer().mint_address("sent", "old.tab@example.org")
    other = new_page()
    other.goto("/sent")
    expect(other.locator(".card")).to_contain_text("If you just signed up, we sent a message")
    other.goto(f"/sent/{token}")
    assert other.url == f"{live_app.base_url}/sent"
    expect(other.locator(".card")).to_contain_text("We sent a message to old.tab@example.org.")
