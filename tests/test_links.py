"""The links in a sent digest open when the reader clicks them: real SMTP, real SQLite, the real app.

The app runs on the real clock here, as token expiry does, so "now" is the moment the test runs.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta

import pytest

from newsletter.deliver.run import send_issue
from newsletter.scrape import parse_api
from newsletter.subscribers import preferences
from newsletter.tokens import FUTURE_SLACK_S, MAX_AGE_S, InvalidToken
from tests.conftest import HF_API
from tests.test_web import mail_to, subscribe
from tests.web_support import WebWorld, link_in, make_world

OCT = HF_API / "daily_papers_2025-10-03.json"


def real_now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def world(db_url, smtp) -> WebWorld:
    return make_world(db_url, smtp[1].port, clock=real_now)


def sent_links(world: WebWorld, smtp, issue_date: date, zone: str) -> tuple[str, str]:
    """Send the issue of `issue_date` to one reader in `zone`; the manage and unsubscribe paths it carried."""
    handler, _ = smtp
    listings = parse_api(OCT.read_text()).listings
    with world.store.write() as conn:
        world.store.papers.upsert(conn, [(li.paper, issue_date) for li in listings], "hf-api", real_now())
        world.store.papers.record_fetch(conn, real_now(), real_now(), None, "hf-api")
    prefs = preferences(["LLM reasoning", "video generation"], timezone=zone, hour=7)
    world.store.subscribers.add("reader@example.org", prefs, "active", real_now())
    svc = world.svc
    _, summary = send_issue(world.store, svc.settings, svc.transport(), svc.signer(), issue_date, real_now)
    assert summary.sent == 1
    body = handler.received[-1].parsed().get_body(("plain",)).get_content()
    return link_in(body, "manage"), link_in(body, "unsubscribe")


def test_links_of_tomorrows_issue_open_east_of_utc(world, smtp):
    # Tokyo's 07:00 digest of tomorrow leaves while it is still today in UTC: its links carry
    # tomorrow's date, hours ahead of the clock, and must open all the same.
    tomorrow = real_now().date() + timedelta(days=1)
    manage, _ = sent_links(world, smtp, tomorrow, "Asia/Tokyo")
    page = world.client.get(manage)
    assert page.status_code == 200, page.text
    assert "LLM reasoning" in page.text


def test_links_of_an_issue_sent_long_after_its_date_open(world, smtp):
    # A back-dated send (the README's tour sends the issue of a saved day) must not arrive with
    # links that expired before it was sent.
    manage, unsubscribe = sent_links(world, smtp, date(2025, 10, 3), "UTC")
    assert world.client.get(manage).status_code == 200
    response = world.client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert world.store.subscribers.by_email("reader@example.org").status == "unsubscribed"


def test_links_of_an_issue_sent_days_before_its_date_open(world, smtp):
    # `send --date` a week ahead: the links must not carry a stamp further ahead than a link may.
    manage, unsubscribe = sent_links(world, smtp, real_now().date() + timedelta(days=7), "UTC")
    page = world.client.get(manage)
    assert page.status_code == 200, page.text
    assert world.client.get(unsubscribe).status_code == 200


def test_a_manage_link_expires_after_its_age_and_is_refused_far_in_the_future(world):
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    sub = world.store.subscribers.add("old@example.org", prefs, "active", real_now())
    signer = world.svc.signer()
    now = time.time()
    too_old = signer.mint("manage", sub, at=datetime.fromtimestamp(now - MAX_AGE_S["manage"] - 60, UTC))
    response = world.client.get(f"/manage/{too_old}")
    assert response.status_code == 410 and "expired" in response.text
    just_in_age = signer.mint("manage", sub, at=datetime.fromtimestamp(now - MAX_AGE_S["manage"] + 60, UTC))
    assert world.client.get(f"/manage/{just_in_age}").status_code == 200
    # Stamped further ahead than any time zone or preview explains: not a link we send.
    ahead = signer.mint("manage", sub, at=datetime.fromtimestamp(now + FUTURE_SLACK_S + 3600, UTC))
    with pytest.raises(InvalidToken, match="not valid"):
        signer.check("manage", ahead)
    assert world.client.get(f"/manage/{ahead}").status_code == 404


def test_an_expired_manage_link_leads_to_a_fresh_one(world, smtp):
    handler, _ = smtp
    prefs = preferences(["speech"], timezone="UTC", hour=7)
    sub = world.store.subscribers.add("old@example.org", prefs, "active", real_now())
    stamp = datetime.fromtimestamp(time.time() - MAX_AGE_S["manage"] - 60, UTC)
    page = world.client.get(f"/manage/{world.svc.signer().mint('manage', sub, at=stamp)}")
    assert page.status_code == 410
    assert "email you a fresh link" in page.text and '<a href="/">Get a fresh link</a>' in page.text
    # The sign-up form, given the same address, mails the reader a manage link that opens.
    response = subscribe(world, email="old@example.org", topics="speech")
    assert response.status_code == 200
    fresh = link_in(mail_to(handler, "old@example.org"), "manage")
    assert world.client.get(fresh).status_code == 200
    assert world.store.subscribers.by_email("old@example.org").topics == ("speech",)


def test_a_link_copied_with_the_punctuation_after_it_still_opens(world, smtp):
    manage, unsubscribe = sent_links(world, smtp, real_now().date(), "UTC")
    for trailing in (".", ")", ">", ").", "',", '"'):
        page = world.client.get(manage + trailing)
        assert page.status_code == 200 and "LLM reasoning" in page.text, (trailing, page.status_code)
        assert world.client.get(unsubscribe + trailing).status_code == 200
    # A trailing character that could belong to a token is not dropped: the link stays refused.
    assert world.client.get(manage + "A").status_code == 404
    # The one-click unsubscribe a mail client posts works through such a link too.
    clicked = world.client.post(unsubscribe + ".", data={"List-Unsubscribe": "One-Click"})
    assert clicked.status_code == 200
    assert world.store.subscribers.by_email("reader@example.org").status == "unsubscribed"
