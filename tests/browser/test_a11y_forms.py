"""A refused form, as a keyboard or screen-reader user meets it: the field is marked, described, focused."""

from __future__ import annotations

from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip(
        "Debian's chromium is not installed: run ./scripts/install-debian-packages", allow_module_level=True
    )

from playwright.sync_api import Page, expect

from tests.browser.conftest import LiveApp, NewPage
from tests.browser.test_journeys import add_active, sign_in

FIELDS = ("#email", "#topics", "#hour", "#timezone", "#cadence", "#weekday", "#per_email", "#date")


def assert_only_refused(page: Page, field: str, says: str) -> None:
    """`field` has the focus, is marked invalid and is described by the error; no other field is marked."""
    refused = page.locator(field)
    expect(refused).to_be_focused()
    expect(refused).to_have_attribute("aria-invalid", "true")
    expect(refused).to_have_accessible_description(says)
    # Seen too: its border takes the colour of the message (which says what is wrong in words).
    message = page.get_by_role("alert").evaluate("e => getComputedStyle(e).color")
    expect(refused).to_have_css("border-color", message)
    for other in FIELDS:
        if other != field and page.locator(other).count():
            expect(page.locator(other)).not_to_have_attribute("aria-invalid", "true")
    assert page.title().startswith("Error: "), page.title()


@pytest.mark.parametrize("javascript", [True, False])
def test_a_refused_sign_up_focuses_and_describes_the_field(
    live_app: LiveApp, new_page: NewPage, javascript: bool
) -> None:
    page = new_page(javascript=javascript)
    page.goto("/")
    expect(page).to_have_title("Subscribe · Trending Papers")
    expect(page.locator("#timezone")).not_to_have_attribute("aria-invalid", "true")
    page.locator("#email").fill("ivy@example.org")
    page.locator("#topics").fill("LLM")
    page.locator("#timezone").fill("Mars/Olympus")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("alert")).to_contain_text("Time zone: unknown time zone")
    says = "Time zone: unknown time zone 'Mars/Olympus'; use an IANA name like Europe/Paris"
    assert_only_refused(page, "#timezone", says)


def test_a_refused_change_of_topics_focuses_and_describes_the_field(
    live_app: LiveApp, new_page: NewPage
) -> None:
    sub = add_active(live_app, "grace@example.org", ["LLM reasoning"])
    page = new_page()
    page.goto(f"/manage/{live_app.svc.signer().mint('manage', sub)}")
    page.locator("#topics").fill("x" * 201)
    page.get_by_role("button", name="Save").click()
    assert_only_refused(page, "#topics", "Topics: at most 200 characters, got 201")
    page.locator("#topics").fill("LLM reasoning")
    page.locator("#timezone").fill("Nowhere/Town")
    page.get_by_role("button", name="Save").click()
    says = "Time zone: unknown time zone 'Nowhere/Town'; use an IANA name like Europe/Paris"
    assert_only_refused(page, "#timezone", says)


def test_a_refused_admin_preview_focuses_and_describes_the_field(
    live_app: LiveApp, new_page: NewPage
) -> None:
    page = new_page()
    sign_in(page, live_app)
    page.goto("/admin/preview?date=garbage")
    assert_only_refused(
        page, "#date", "Issue date: 'garbage' is not a date like 2025-05-30, today or tomorrow"
    )
    page.goto("/admin/preview?email=nobody%40example.org")
    assert_only_refused(page, "#email", "Email: no subscriber nobody@example.org")


def test_a_wrong_password_is_announced_where_the_focus_goes(live_app: LiveApp, new_page: NewPage) -> None:
    page = new_page(javascript=False)
    page.goto("/admin/login")
    page.locator("#password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    assert_only_refused(page, "#password", "Wrong password.")
    # Locked out, the refusal is about no field: the message itself takes the focus.
    for _ in range(10):
        page.locator("#password").fill("not the password")
        page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("Too many wrong passwords")
    expect(page.get_by_role("alert")).to_be_focused()
    expect(page.locator("#password")).not_to_have_attribute("aria-invalid", "true")


def test_the_answer_to_a_saved_form_takes_the_focus(live_app: LiveApp, new_page: NewPage) -> None:
    # A role="status" that is on the page as it loads is not announced: the page after a save says
    # what happened only if the focus starts there.
    sub = add_active(live_app, "saved@example.org", ["LLM reasoning"])
    page = new_page(javascript=False)
    page.goto(f"/manage/{live_app.svc.signer().mint('manage', sub)}")
    expect(page.get_by_role("status")).to_have_count(0)
    page.locator("#hour").select_option("6")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("Saved. Your next digest uses these choices.")
    expect(page.get_by_role("status")).to_be_focused()
    # Tab goes on from there to the form, in the page's order.
    page.keyboard.press("Tab")
    expect(page.locator("#topics")).to_be_focused()


def test_the_notice_of_an_admin_action_takes_the_focus(
    live_app: LiveApp, new_page: NewPage, march_papers: None
) -> None:
    add_active(live_app, "reader@example.org", ["LLM reasoning"])
    page = new_page()
    sign_in(page, live_app)
    page.goto("/admin/preview?email=reader%40example.org")
    expect(page.get_by_role("status")).to_have_count(0)
    page.locator("#picks").get_by_role("button").first.click()
    expect(page.get_by_role("status")).to_contain_text("will not be in the issue")
    expect(page.get_by_role("status")).to_be_focused()
