"""The admin's session in a real browser: what signing out leaves behind on the screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Playwright, expect

from newsletter.subscribers import preferences
from tests.browser.conftest import NOW, LiveApp, launch_for_back
from tests.web_support import ADMIN_PASSWORD


@pytest.mark.slow
@pytest.mark.parametrize("back_forward_cache", [False, True])
def test_back_after_signing_out_shows_no_admin_page(
    live_app: LiveApp, playwright: Playwright, back_forward_cache: bool
) -> None:
    # On a shared computer, whoever sits down after the admin signed out must not read the readers'
    # addresses by pressing Back: the admin pages are kept by no cache, so Back asks the server again.
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    live_app.store.subscribers.add("kay@example.org", prefs, "active", NOW)
    browser = launch_for_back(playwright, back_forward_cache)
    try:
        page = browser.new_context(base_url=live_app.base_url).new_page()
        page.goto("/admin/login")
        page.locator("#password").fill(ADMIN_PASSWORD)
        page.locator("#login").click()
        page.goto("/admin/preview")
        expect(page.locator("#readers option[value='kay@example.org']")).to_have_count(1)
        page.get_by_role("button", name="Sign out").click()
        expect(page.locator("#password")).to_be_visible()

        page.go_back(wait_until="commit")
        expect(page.locator("#password")).to_be_visible()  # the server sent the sign-in page again
        expect(page.locator("#readers")).to_have_count(0)
    finally:
        browser.close()
