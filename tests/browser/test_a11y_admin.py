"""The admin preview as a screen-reader user meets it: every button and column says what it is about."""

from __future__ import annotations

from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip(
        "Debian's chromium is not installed: run ./scripts/install-debian-packages", allow_module_level=True
    )

from playwright.sync_api import expect

from tests.browser.conftest import TOMORROW, LiveApp, NewPage
from tests.browser.test_journeys import add_active, sign_in


def test_each_skip_and_put_back_button_names_its_paper(
    live_app: LiveApp, new_page: NewPage, march_papers: None
) -> None:
    add_active(live_app, "reader@example.org", ["LLM reasoning"])
    page = new_page(width=360, height=800)
    sign_in(page, live_app)
    page.goto(f"/admin/preview?email=reader%40example.org&date={TOMORROW}")
    titles = [t.strip() for t in page.locator("#picks td.pick-title").all_text_contents()]
    assert len(titles) >= 3
    # Each button is named by what it does, then the paper it does it to; the visible label is unchanged.
    for title in titles:
        expect(page.get_by_role("button", name=f"Skip from issue: {title}", exact=True)).to_have_count(1)
    expect(page.locator("#picks button").first).to_have_text("Skip from issue")
    # The buttons' column has a header too, for whoever reads the table cell by cell.
    for header in page.locator("#picks").get_by_role("columnheader").all():
        assert header.evaluate("h => h.textContent.trim()"), header.evaluate("h => h.outerHTML")
    page.get_by_role("button", name=f"Skip from issue: {titles[0]}").click()
    expect(page.get_by_role("status")).to_contain_text("will not be in the issue")
    expect(page.get_by_role("button", name=f"Put back: {titles[0]}", exact=True)).to_have_count(1)
    # The hidden words take no room: the page still fits a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
