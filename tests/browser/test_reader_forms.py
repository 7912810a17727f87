"""The reader's pages in a real browser: Back keeps what was chosen, the preview answers, phones fit."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip(
        "Debian's chromium is not installed: run ./scripts/install-debian-packages", allow_module_level=True
    )

from playwright.sync_api import Page, Playwright, expect

from newsletter.subscribers import preferences
from tests.browser.conftest import NOW, LiveApp, NewPage, launch_for_back


@pytest.mark.slow
def test_going_back_to_the_sign_up_form_keeps_what_the_reader_chose(
    live_app: LiveApp, new_page: NewPage
) -> None:
    # Playwright's Chromium keeps no back/forward cache: Back loads the form again, and the browser
    # puts back what was typed, after the page's scripts have run.
    page = new_page(timezone_id="Asia/Kolkata")
    page.goto("/")
    page.locator("#email").fill("back@example.org")
    page.locator("#topics").fill("LLM reasoning")
    page.locator("#timezone").fill("Europe/Paris")
    page.locator("#cadence").select_option("weekly")
    page.locator("#weekday").select_option(label="Friday")
    page.locator("#hour").select_option("9")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")

    page.go_back()
    page.wait_for_load_state("load")
    expect(page.locator("#timezone")).to_have_value("Europe/Paris")
    expect(page.locator("#cadence")).to_have_value("weekly")
    expect(page.locator("#weekday")).to_be_enabled()
    expect(page.locator("#weekday")).to_have_value("4")
    expect(page.locator("#hour")).to_have_value("9")
    expect(page.locator("#matches-heading")).to_have_text("This week\u2019s papers on these topics")

    # Sent again from there, the form subscribes them as they chose.
    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    body = live_app.wait_for_mail("back@example.org").get_body(("plain",))
    assert body is not None
    page.goto(live_app.link_in(body.get_content(), "confirm"))
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.locator(".card")).to_contain_text("arrives on Friday at 09:00 (Europe/Paris)")


def topics_typed(page: Page, text: str) -> None:
    """Set the topics box as a paste would (one input event), without typing it key by key."""
    page.locator("#topics").evaluate(
        "(box, text) => { box.value = text; box.dispatchEvent(new Event('input', {bubbles: true})); }", text
    )


@pytest.mark.slow
def test_the_live_preview_answers_fifty_long_non_ascii_topics(
    live_app: LiveApp, new_page: NewPage, march_papers: None
) -> None:
    # 49 topics of 190 Japanese characters and one that matches: over 80 KB once percent-encoded,
    # more than a server reads in a request's address.
    long_topics = [f"機械学習{i:02d}" + "深層学習の推論" * 26 for i in range(49)]
    assert all(len(t) <= 200 for t in long_topics)
    page = new_page()
    page.goto("/")
    topics_typed(page, "\n".join(["LLM", *long_topics]))
    first = page.locator("#matches li").first
    expect(first.locator(".why")).to_contain_text("matches your topic \u201cLLM\u201d")


@pytest.mark.slow
def test_a_preview_that_fails_says_so_instead_of_its_placeholder(
    live_app: LiveApp, new_page: NewPage
) -> None:
    page = new_page()
    page.goto("/")
    # The page was open so long that its cookie is gone: the server refuses the preview's form check.
    page.context.clear_cookies()
    topics_typed(page, "speech")
    expect(page.locator("#matches")).to_have_text(
        "The preview could not be checked: this page has been open a long time, or the browser did not "
        "keep its cookie. Reload the page to see it."
    )
    page.reload()
    topics_typed(page, "speech")
    expect(page.locator("#matches")).to_contain_text(
        "No papers have been fetched for today\u2019s digest yet"
    )


@pytest.mark.slow
@pytest.mark.parametrize("back_forward_cache", [False, True])
def test_back_after_unsubscribing_shows_the_manage_page_as_it_is_now(
    live_app: LiveApp, playwright: Playwright, back_forward_cache: bool
) -> None:
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    sub = live_app.store.subscribers.add("kay@example.org", prefs, "active", NOW)
    browser = launch_for_back(playwright, back_forward_cache)
    try:
        page = browser.new_context(base_url=live_app.base_url).new_page()
        opened = page.goto(f"/manage/{live_app.svc.signer().mint('manage', sub)}")
        assert opened is not None and opened.headers.get("cache-control") == "no-store"
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.get_by_role("button", name="Unsubscribe").click()
        assert answer.value.headers.get("cache-control") == "no-store"
        expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")

        page.go_back(wait_until="commit")
        expect(page.locator("#unsubscribed")).to_contain_text("You are unsubscribed: no emails are sent.")
        expect(page.get_by_role("heading", level=1)).to_have_text("Your topics")
        expect(page.get_by_role("button", name="Unsubscribe")).to_have_count(0)
    finally:
        browser.close()


@pytest.mark.slow
def test_signing_up_again_from_the_manage_page_keeps_every_choice(
    live_app: LiveApp, new_page: NewPage
) -> None:
    # Several topic lines and an exclusion ride in the button's form: the browser must send them whole.
    prefs = preferences(
        ["speech", "robot manipulation"], ["survey"], timezone="Asia/Tokyo", hour=6, per_email=4
    )
    sub = live_app.store.subscribers.add("lee@example.org", prefs, "active", NOW)
    page = new_page()
    page.goto(f"/manage/{live_app.svc.signer().mint('manage', sub)}")
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    page.go_back()
    page.get_by_role("button", name="Sign up again with these choices").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    body = live_app.wait_for_mail("lee@example.org").get_body(("plain",))
    assert body is not None
    page.goto(live_app.link_in(body.get_content(), "confirm"))
    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.locator(".card")).to_contain_text("(Asia/Tokyo)")
    back = live_app.store.subscribers.get(sub.id)
    assert back is not None and back.status == "active"
    assert (back.topics, back.excludes, back.hour, back.per_email) == (prefs.topics, ("survey",), 6, 4)


def overflowing(page: Page) -> list[str]:
    """Elements whose box or content reaches past the viewport's right edge, or past their own box."""
    found: list[str] = page.evaluate(
        """() => [...document.querySelectorAll("body *")].filter(el => {
             const box = el.getBoundingClientRect();
             return box.right > window.innerWidth + 0.5 || (el.scrollWidth > el.clientWidth + 1
               && getComputedStyle(el).display !== "inline");
           }).map(el => el.tagName + (el.id ? "#" + el.id : "") + ": " + el.textContent.slice(0, 40))"""
    )
    return found


def screenshot_width(page: Page, path: Path) -> int:
    """The width of a full-page screenshot: the page's, wider than the viewport if anything overflows."""
    page.screenshot(path=str(path), full_page=True, animations="disabled", caret="hide")
    width: int = struct.unpack(">I", path.read_bytes()[16:20])[0]  # the PNG's IHDR chunk
    return width


@pytest.mark.slow
def test_a_long_address_wraps_on_a_phone(live_app: LiveApp, new_page: NewPage, tmp_path: Path) -> None:
    email = "a" * 64 + "@example.org"  # the longest part before the @-sign an address may have
    page = new_page(width=375, height=800)
    page.goto("/")
    page.locator("#email").fill(email)
    page.locator("#topics").fill("speech")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator(".card")).to_contain_text(f"We sent a message to {email}.")
    assert screenshot_width(page, tmp_path / "sent.png") == 375
    assert overflowing(page) == []

    body = live_app.wait_for_mail(email).get_body(("plain",))
    assert body is not None
    page.goto(live_app.link_in(body.get_content(), "confirm"))
    expect(page.locator(".card")).to_contain_text(email)
    assert screenshot_width(page, tmp_path / "confirm.png") == 375
    assert overflowing(page) == []
    sub = live_app.store.subscribers.by_email(email)
    assert sub is not None
    page.goto(f"/manage/{live_app.svc.signer().mint('manage', sub)}")
    expect(page.locator("p.hint").first).to_contain_text(email)
    assert screenshot_width(page, tmp_path / "manage.png") == 375
    assert overflowing(page) == []
