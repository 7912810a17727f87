"""What a reader and an admin do in a real browser, against the real app served over HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

if not Path("/usr/bin/chromium").exists():
    pytest.skip(
        "Debian's chromium is not installed: run ./scripts/install-debian-packages", allow_module_level=True
    )

from bs4 import BeautifulSoup
from playwright.sync_api import Page, Playwright, expect

from newsletter.models import Subscriber
from newsletter.subscribers import preferences
from tests.browser.conftest import MARCH, NOW, TODAY, TOMORROW, LiveApp, NewPage, clock, screenshot
from tests.conftest import CliRunnerFn
from tests.web_support import ADMIN_PASSWORD

# Chromium's ICU still reports India's zone by its legacy name; both name the same IANA zone.
KOLKATA = {"Asia/Kolkata", "Asia/Calcutta"}


def add_active(live: LiveApp, email: str, topics: list[str], excludes: list[str] | None = None) -> Subscriber:
    prefs = preferences(topics, excludes or [], timezone="UTC", hour=7)
    return live.store.subscribers.add(email, prefs, "active", NOW)


def pool_titles(live: LiveApp) -> set[str]:
    """Titles of the papers today's issue draws on."""
    return {p.paper.title for p in live.store.papers.pool(NOW.date(), live.svc.settings.issue.window_days)}


@pytest.mark.slow
def test_live_preview_says_when_there_is_nothing_to_match_yet_or_a_topic_is_refused(
    live_app: LiveApp, new_page: NewPage, run_cli: CliRunnerFn
) -> None:
    page = new_page()
    page.goto("/")
    matches = page.locator("#matches")
    # No fetch yet: not "no match", which would blame the topic.
    page.locator("#topics").fill("speech")
    nothing_yet = (
        "No papers have been fetched for today\u2019s digest yet: the preview fills in after the next fetch."
    )
    expect(matches).to_have_text(nothing_yet)
    # A refused topic says why, as the form would on submit.
    page.locator("#topics").fill("x" * 201)
    expect(matches).to_have_text("Topics: at most 200 characters, got 201.")
    # Emptied, the box shows its first hint again.
    page.locator("#topics").fill("")
    expect(matches).to_have_text("Type a topic to see which of the papers it would match.")
    # After a fetch, the same topic finds today's papers.
    assert run_cli("fetch", "--file", str(MARCH), "--date", TODAY, clock=clock).exit_code == 0
    page.locator("#topics").fill("LLM")
    expect(matches.locator("li").first.locator(".why")).to_contain_text("matches your topic \u201cLLM\u201d")


def test_the_live_preview_needs_javascript_and_fills_in_after_a_form_error(
    live_app: LiveApp, new_page: NewPage, march_papers: None
) -> None:
    # Without JavaScript the form works, and no preview box promises what cannot happen.
    plain = new_page(javascript=False)
    plain.goto("/")
    expect(plain.locator("#subscribe")).to_be_visible()
    expect(plain.locator("#preview")).to_be_hidden()
    page = new_page()
    page.goto("/")
    page.locator("#email").fill("ivy@example.org")
    page.locator("#topics").fill("LLM")
    page.locator("#timezone").fill("Mars/Olympus")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator(".errors")).to_contain_text("Time zone: unknown time zone")
    # The page sent back keeps the topics, and previews them without another keystroke.
    first = page.locator("#matches li").first
    expect(first.locator(".why")).to_contain_text("matches your topic \u201cLLM\u201d")


@pytest.mark.slow
def test_subscribe_with_live_preview_then_confirm(
    live_app: LiveApp, new_page: NewPage, march_papers: None
) -> None:
    page = new_page(timezone_id="Asia/Kolkata")
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Trending ML papers on your topics")

    # The time zone comes from the browser, not the server's default.
    zone = page.locator("#timezone")
    browser_zone = page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone")
    assert browser_zone in KOLKATA
    expect(zone).to_have_value(browser_zone)

    # Live preview: today's papers on the typed topic, fetched after the debounce.
    matches = page.locator("#matches li")
    page.locator("#topics").fill("LLM")
    expect(matches.first.locator(".why")).to_contain_text("matches your topic “LLM”")
    shown = matches.locator("a").all_text_contents()
    assert shown and set(shown) <= pool_titles(live_app)
    assert any("survey" in title.casefold() for title in shown), shown

    # Several topics take turns in the list, and the one that matches nothing is named, to reword.
    unmatched = page.locator("#unmatched")
    arabic = "\u0627\u0644\u062a\u0639\u0644\u0645 \u0627\u0644\u0622\u0644\u064a"  # "machine learning"
    page.locator("#topics").fill(f"LLM reasoning\nvideo diffusion\n{arabic}")
    expect(unmatched).to_have_text(f"No match yet for: {arabic}. Other words for it may find papers.")
    expect(unmatched.locator("bdi")).to_have_text([arabic])
    reasons = matches.locator(".why").all_text_contents()
    assert "your topic “video diffusion”" in reasons[1], reasons
    assert {"LLM reasoning", "video diffusion"} == {r.split("“")[1].split("”")[0] for r in reasons}

    # A topic whose only paper is listed under another is named beside it; topics the list has no
    # room for are named apart.
    page.locator("#topics").fill("federated learning\nprivacy")
    expect(matches.locator(".why")).to_have_text(
        ["matches your topic “federated learning”: federated learning; also matches your topic “privacy”"]
    )
    expect(unmatched).to_be_hidden()
    page.locator("#topics").fill(
        "video\nrobot\nspeech\nagents\ndiffusion\n3D\ncode\nmath\ntime series\nfederated learning"
    )
    unlisted = page.locator("#unlisted")
    expect(unlisted).to_contain_text("Also matching papers, not listed here for want of room: ")
    expect(matches).to_have_count(8)
    expect(unlisted).to_be_visible()

    # An exclusion line drops the papers that mention it.
    page.locator("#topics").fill("LLM reasoning\n-survey")
    expect(matches.first.locator(".why")).to_contain_text("matches your topic “LLM reasoning”")
    expect(page.locator("#matches")).not_to_contain_text("Survey")
    expect(unmatched).to_be_hidden()  # every topic matches
    shown = matches.locator("a").all_text_contents()
    assert shown and set(shown) <= pool_titles(live_app)
    assert all("survey" not in title.casefold() for title in shown), shown

    page.locator("#email").fill("ada@example.org")
    page.locator("#hour").select_option("7")
    # Choosing "Once a week" retitles the preview: a weekly email chooses from the whole week.
    heading = page.locator("#matches-heading")
    expect(heading).to_have_text("Today\u2019s papers on these topics")
    # The weekday only counts for a weekly digest, so it is greyed out until "Once a week" is chosen.
    expect(page.locator("#weekday")).to_be_disabled()
    page.locator("#cadence").select_option("weekly")
    expect(heading).to_have_text("This week\u2019s papers on these topics")
    expect(page.locator("#weekday")).to_be_enabled()
    page.locator("#weekday").select_option(label="Friday")
    screenshot(page, "subscribe.png")

    page.get_by_role("button", name="Subscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your inbox")
    expect(page.locator(".card")).to_contain_text("ada@example.org")

    mail = live_app.wait_for_mail("ada@example.org")
    assert mail["Subject"].startswith("Confirm your subscription")
    text = mail.get_body(("plain",))
    assert text is not None
    confirm_url = live_app.link_in(text.get_content(), "confirm")
    html = mail.get_body(("html",))
    assert html is not None and confirm_url in html.get_content()

    # Opening the link only shows a button: link scanners GET, and must subscribe nobody.
    page.goto(confirm_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your subscription")
    expect(page.locator("form.card")).to_contain_text("ada@example.org")
    pending = live_app.store.subscribers.by_email("ada@example.org")
    assert pending is not None and pending.status == "pending"

    page.get_by_role("button", name="Confirm subscription").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are subscribed")
    expect(page.locator(".card")).to_contain_text("07:00 (Asia/Kolkata)")

    sub = live_app.store.subscribers.by_email("ada@example.org")
    assert sub is not None
    assert sub.status == "active"
    assert (sub.topics, sub.excludes) == (("LLM reasoning",), ("survey",))
    # Stored under its current name, whichever spelling the browser used (Chromium says Asia/Calcutta).
    assert (sub.hour, sub.timezone, sub.cadence, sub.weekday) == (7, "Asia/Kolkata", "weekly", 4)

    # The page's link leads to the new subscriber's own preferences.
    page.get_by_role("link", name="Change your topics").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your topics")
    expect(page.locator("#topics")).to_have_value("LLM reasoning\n-survey")


@pytest.mark.slow
def test_manage_link_edits_topics(live_app: LiveApp, new_page: NewPage) -> None:
    sub = add_active(live_app, "grace@example.org", ["LLM reasoning"], ["survey"])
    token = live_app.svc.signer().mint("manage", sub)
    page = new_page()
    page.goto(f"/manage/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your topics")
    expect(page.locator("p.hint").first).to_contain_text("grace@example.org")
    expect(page.locator("#topics")).to_have_value("LLM reasoning\n-survey")

    page.locator("#topics").fill("robot manipulation\nNeRF\n-survey")
    page.locator("#hour").select_option("6")
    page.locator("#timezone").fill("Europe/Paris")
    page.locator("#per_email").fill("5")
    expect(page.locator("#weekday")).to_be_disabled()  # a daily reader
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_contain_text("Saved")
    # The page shows what was stored, not what was typed.
    expect(page.locator("#topics")).to_have_value("robot manipulation\nNeRF\n-survey")
    expect(page.locator("#hour")).to_have_value("6")
    expect(page.locator("#timezone")).to_have_value("Europe/Paris")
    screenshot(page, "manage.png")

    after = live_app.store.subscribers.get(sub.id)
    assert after is not None
    assert (after.topics, after.excludes) == (("robot manipulation", "NeRF"), ("survey",))
    assert (after.hour, after.timezone, after.per_email, after.status) == (6, "Europe/Paris", 5, "active")


@pytest.mark.slow
def test_unsubscribe_page_needs_the_button(live_app: LiveApp, new_page: NewPage) -> None:
    sub = add_active(live_app, "alan@example.org", ["speech"])
    token = live_app.svc.signer().mint("unsubscribe", sub)
    page = new_page()
    page.goto(f"/unsubscribe/{token}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Unsubscribe")
    expect(page.locator("form.card")).to_contain_text("alan@example.org")
    still = live_app.store.subscribers.get(sub.id)
    assert still is not None and still.status == "active"

    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("You are unsubscribed")
    expect(page.locator(".card")).to_contain_text("No more emails will be sent to alan@example.org")
    gone = live_app.store.subscribers.get(sub.id)
    assert gone is not None and gone.status == "unsubscribed"


@pytest.mark.slow
def test_rfc8058_one_click_post_without_cookies(live_app: LiveApp, playwright: Playwright) -> None:
    sub = add_active(live_app, "barbara@example.org", ["compilers"])
    url = f"{live_app.base_url}/unsubscribe/{live_app.svc.signer().mint('unsubscribe', sub)}"
    request = playwright.request.new_context()
    try:
        assert request.storage_state()["cookies"] == []
        response = request.post(url, form={"List-Unsubscribe": "One-Click"}, max_redirects=0)
        assert response.status == 200
        assert "location" not in response.headers
        assert "You are unsubscribed" in response.text()
    finally:
        request.dispose()
    gone = live_app.store.subscribers.get(sub.id)
    assert gone is not None and gone.status == "unsubscribed"


def cli_preview(run_cli: CliRunnerFn, live: LiveApp, email: str) -> tuple[str, list[str]]:
    """The subject and the card titles of `newsletter preview` for tomorrow's issue."""
    result = run_cli("preview", "--email", email, "--date", TOMORROW, clock=clock, env=live.cli_env())
    assert result.exit_code == 0, result.stderr
    subject = next(line for line in result.stderr.splitlines() if line.startswith("subject: "))
    soup = BeautifulSoup(result.stdout, "html.parser")
    return subject.removeprefix("subject: "), [a.get_text(strip=True) for a in soup.select("a.title")]


def sign_in(page: Page, live: LiveApp) -> None:
    page.goto("/admin")
    expect(page).to_have_url(f"{live.base_url}/admin/login")
    page.locator("#password").fill(ADMIN_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live.base_url}/admin")
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")


@pytest.mark.slow
def test_admin_preview_matches_the_cli(
    live_app: LiveApp, new_page: NewPage, march_papers: None, run_cli: CliRunnerFn
) -> None:
    add_active(live_app, "robots@example.org", ["robot manipulation"])
    reader = add_active(live_app, "reader@example.org", ["LLM reasoning"], ["survey"])
    page = new_page(width=1280, height=900)
    sign_in(page, live_app)

    page.get_by_role("link", name="Preview tomorrow").click()
    expect(page).to_have_url(f"{live_app.base_url}/admin/preview")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Preview of the issue of {TOMORROW}")
    page.locator("#email").fill(reader.email)
    page.get_by_role("button", name="Show preview").click()
    expect(page).to_have_url(re.compile(r"/admin/preview\?email=reader%40example\.org"))

    titles = page.locator("#picks td.pick-title")
    expect(titles.first).to_be_visible()
    shown = [t.strip() for t in titles.all_text_contents()]
    subject, cli_titles = cli_preview(run_cli, live_app, reader.email)
    assert shown == cli_titles
    expect(page.locator("#subject")).to_have_text(subject)

    # Both frames render the exact email: the same cards, in the same order.
    desktop = page.frame_locator("#desktop")
    expect(desktop.locator("a.title").first).to_have_text(shown[0])
    assert [t.strip() for t in desktop.locator("a.title").all_text_contents()] == shown
    expect(page.frame_locator("#mobile").locator("a.title").first).to_have_text(shown[0])
    expect(page.locator("#text-part")).to_contain_text(shown[0])
    screenshot(page, "admin-preview.png")


def contrast(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two computed CSS colours, "rgb(r, g, b)"."""

    def luminance(css: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+", css)[:3]]
        r, g, b = (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.slow
def test_admin_pages_fit_a_phone_and_buttons_stay_readable_in_dark_mode(
    live_app: LiveApp, new_page: NewPage, march_papers: None, run_cli: CliRunnerFn
) -> None:
    reader = add_active(live_app, "reader@example.org", ["LLM reasoning"], ["survey"])
    assert run_cli("send", "--date", TODAY, clock=clock, env=live_app.cli_env()).exit_code == 0
    add_active(live_app, "later@example.org", ["LLM reasoning"])  # nothing sent yet: a full preview
    page = new_page(width=375, height=800)
    sign_in(page, live_app)
    preview = f"/admin/preview?email=later%40example.org&date={TOMORROW}"
    for path in ("/admin", preview, f"/admin/issue/{TODAY}"):
        page.goto(path)
        expect(page.locator("table.data").first).to_be_visible()
        # Wide tables scroll inside their cards; the page itself never scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
    page.emulate_media(color_scheme="dark")
    unsubscribe = f"/unsubscribe/{live_app.svc.signer().mint('unsubscribe', reader)}"
    for path, name in (("/", "Subscribe"), (unsubscribe, "Unsubscribe")):
        page.goto(path)
        button = page.get_by_role("button", name=name)
        colours = button.evaluate("b => [getComputedStyle(b).color, getComputedStyle(b).backgroundColor]")
        assert contrast(*colours) >= 4.5, (path, colours)
