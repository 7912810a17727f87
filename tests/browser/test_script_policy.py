"""In Chromium: our own scripts run under the pages' policy, and a script slipped into a page does not."""

from __future__ import annotations

import pytest
from playwright.sync_api import ConsoleMessage, expect

from newsletter.subscribers import preferences
from tests.browser.conftest import NOW, LiveApp, NewPage

INJECT = """() => {
  const script = document.createElement("script");
  script.textContent = "window.injected = true;";
  document.body.appendChild(script);
  return window.injected === true;
}"""


@pytest.mark.slow
def test_our_scripts_run_and_an_injected_one_is_refused(live_app: LiveApp, new_page: NewPage) -> None:
    refusals: list[str] = []
    page = new_page()
    page.on("console", lambda m: refusals.append(m.text) if _refused(m) else None)

    page.goto("/")
    # The sign-up page's script ran: it shows the live preview and greys out the weekday.
    expect(page.locator("#preview")).to_be_visible()
    expect(page.locator("#weekday")).to_be_disabled()
    sub = live_app.store.subscribers.add(
        "kay@example.org", preferences(["speech"], timezone="UTC", hour=7), "active", NOW
    )
    page.goto(f"/manage/{live_app.svc.signer().mint('manage', sub)}")
    expect(page.locator("#weekday")).to_be_disabled()
    page.locator("#cadence").select_option("weekly")
    expect(page.locator("#weekday")).to_be_enabled()
    assert refusals == []

    # Markup that got into a page past escaping would be refused, not run.
    with page.expect_console_message(predicate=_refused) as refusal:
        assert page.evaluate(INJECT) is False
    assert "script-src 'self'" in refusal.value.text


def _refused(message: ConsoleMessage) -> bool:
    return message.type == "error" and "Content Security Policy" in message.text
