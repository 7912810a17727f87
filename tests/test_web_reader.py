"""Reader pages over HTTP: what a reader sees after confirming, saving, signing up again, and CSRF."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree

import pytest

from newsletter.models import Subscriber
from newsletter.subscribers import preferences
from tests.conftest import HF_API
from tests.web_support import NOW, WebWorld, link_in, make_world


def _reader(world: WebWorld, status: str = "active", timezone: str = "Asia/Tokyo") -> Subscriber:
    prefs = preferences(["LLM reasoning"], timezone=timezone, hour=7)
    return world.store.subscribers.add("reader@example.org", prefs, status, NOW)


def _manage_form(world: WebWorld, path: str, **fields: str) -> dict[str, str]:
    data = {"topics": "robot manipulation", "hour": "7", "timezone": "Asia/Tokyo", "cadence": "daily",
            "weekday": "0", "per_email": "10", "csrftoken": world.csrf(path)}  # fmt: skip
    return {**data, **fields}


@pytest.mark.parametrize(
    ("status", "says"),
    [
        ("unsubscribed", "You are unsubscribed, so no digest is sent"),
        ("bounced", "Mail to this address bounced, so no digest is sent"),
        ("pending", "No digest is sent until you confirm"),
    ],
)
def test_saving_choices_while_not_subscribed_says_no_digest_is_sent(world, status, says):
    sub = _reader(world, status)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    saved = world.client.post(path, data=_manage_form(world, path))
    assert [r.status_code for r in saved.history] == [303] and saved.url.query == b"saved=1"
    assert saved.status_code == 200
    assert "Saved." in saved.text and says in saved.text
    assert "Your next digest uses these choices" not in saved.text
    assert world.store.subscribers.get(sub.id).topics == ("robot manipulation",)
    if status != "pending":
        assert '<a href="/">Sign up again</a>' in saved.text


def test_saving_choices_while_active_says_the_next_digest_uses_them(world):
    sub = _reader(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    # Post/redirect/get: Save lands on a page whose reload sends nothing again.
    posted = world.client.post(path, data=_manage_form(world, path), follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == f"{path}?saved=1"
    for _reload in range(2):
        saved = world.client.get(posted.headers["location"])
        assert saved.status_code == 200 and "Saved. Your next digest uses these choices." in saved.text
        assert "robot manipulation" in saved.text
    assert "Saved." not in world.client.get(path).text  # the page opened from the email says nothing of it


def test_an_empty_time_zone_is_a_form_error_and_changes_nothing(world):
    sub = _reader(world, timezone="Asia/Tokyo")
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    refused = world.client.post(path, data=_manage_form(world, path, timezone=""))
    assert refused.status_code == 422 and not refused.history  # the form again, not a redirect
    assert "timezone" in refused.text and "Saved" not in refused.text
    assert "robot manipulation" in refused.text  # what was typed, to fix and send again
    after = world.store.subscribers.get(sub.id)
    assert (after.timezone, after.topics) == ("Asia/Tokyo", ("LLM reasoning",))


def test_a_time_zone_typed_in_any_case_is_stored_under_its_canonical_name(world):
    sub = _reader(world, timezone="Asia/Tokyo")
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    saved = world.client.post(path, data=_manage_form(world, path, timezone="europe/paris"))
    assert saved.status_code == 200 and "Saved." in saved.text and 'value="Europe/Paris"' in saved.text
    assert world.store.subscribers.get(sub.id).timezone == "Europe/Paris"
    # An old spelling, in any case, becomes the current name; unknown names are still refused.
    world.client.post(path, data=_manage_form(world, path, timezone="ASIA/CALCUTTA"))
    assert world.store.subscribers.get(sub.id).timezone == "Asia/Kolkata"
    for unknown in ("mars/base", "LOCALTIME"):
        refused = world.client.post(path, data=_manage_form(world, path, timezone=unknown))
        assert refused.status_code == 422 and "unknown time zone" in refused.text
    assert world.store.subscribers.get(sub.id).timezone == "Asia/Kolkata"


def test_opening_a_confirm_link_again_says_already_confirmed(world, smtp):
    handler, _ = smtp
    token = world.csrf("/")
    data = {"email": "ada@example.org", "topics": "speech", "hour": "7", "timezone": "UTC",
            "cadence": "daily", "weekday": "0", "per_email": "10", "csrftoken": token}  # fmt: skip
    assert world.client.post("/subscribe", data=data).status_code == 200
    mail = next(r for r in handler.received if r.recipient == "ada@example.org")
    confirm = link_in(mail.parsed().get_body(("plain",)).get_content(), "confirm")
    assert world.client.post(confirm, data={"csrftoken": world.csrf(confirm)}).status_code == 200
    again = world.client.get(confirm)
    assert again.status_code == 200
    assert "already confirmed" in again.text and "Confirm subscription" not in again.text
    assert 'href="/manage/' in again.text and "Change your topics" in again.text


def test_already_subscribed_email_does_not_say_nothing_will_be_sent(world, smtp):
    handler, _ = smtp
    _reader(world)
    token = world.csrf("/")
    data = {"email": "reader@example.org", "topics": "speech", "hour": "7", "timezone": "UTC",
            "cadence": "daily", "weekday": "0", "per_email": "10", "csrftoken": token}  # fmt: skip
    assert world.client.post("/subscribe", data=data).status_code == 200
    mail = next(r for r in handler.received if r.recipient == "reader@example.org").parsed()
    assert mail["Subject"].startswith("You are already subscribed")
    for part in ("plain", "html"):
        body = mail.get_body((part,)).get_content()
        assert "nothing will be sent to you" not in body
        assert "your subscription stays as it is" in body


def test_feed_addresses_come_from_base_url_not_the_host_header(world):
    sub = _reader(world)
    path = f"/feed/{world.svc.signer().mint('feed', sub)}.xml"
    feed = world.client.get(path, headers={"Host": "evil.example"})
    assert feed.status_code == 200
    assert "evil.example" not in feed.text
    atom = "{http://www.w3.org/2005/Atom}"
    root = ElementTree.fromstring(feed.content)
    assert root.findtext(f"{atom}id") == f"https://papers.example.org{path}"
    assert root.find(f"{atom}link").get("href") == f"https://papers.example.org{path}"


def test_a_trending_only_email_shows_its_papers_on_the_manage_page_and_in_the_feed(world, run_cli):
    assert (
        run_cli(
            "fetch", "--file", str(HF_API / "daily_papers_2025-03-11.json"), "--date", "2025-03-11"
        ).exit_code
        == 0
    )
    prefs = preferences(["medieval falconry"], timezone="UTC", hour=7)  # nothing on these topics
    sub = world.store.subscribers.add("quiet@example.org", prefs, "active", NOW)
    assert "1 sent" in run_cli("send", "--date", "2025-03-11").stdout  # to the outbox
    manage = world.client.get(f"/manage/{world.svc.signer().mint('manage', sub)}")
    assert (
        "<td>2025-03-11</td><td>3 trending papers (nothing on your topics)</td><td>sent</td>" in manage.text
    )
    feed = world.client.get(f"/feed/{world.svc.signer().mint('feed', sub)}.xml")
    atom = "{http://www.w3.org/2005/Atom}"
    (entry,) = ElementTree.fromstring(feed.content).findall(f"{atom}entry")
    content = entry.findtext(f"{atom}content", "")
    assert content.count("<li>") == 3 and content.count("<em>(trending)</em>") == 3
    link = entry.find(f"{atom}link[@rel='alternate']")
    assert link is not None and link.get("href", "").startswith("https://huggingface.co/papers/")
    assert content.index(f'href="{link.get("href")}"') < content.index("</li>")  # the first one listed


def test_head_is_answered_wherever_get_is(world):
    sub = _reader(world)
    signer = world.svc.signer()
    paths = ["/", "/healthz", f"/manage/{signer.mint('manage', sub)}", "/admin/login",
             f"/feed/{signer.mint('feed', sub)}.xml", "/api/topic-preview?topics=speech"]  # fmt: skip
    for path in paths:
        response = world.client.head(path)
        assert response.status_code == 200, path
        assert response.content == b""
    assert world.client.head("/no-such-page").status_code == 404


def test_topic_preview_names_the_real_length_of_a_long_topic(world):
    response = world.client.get("/api/topic-preview", params={"topics": "x" * 50_000})
    error = response.json()["error"]
    assert "200 characters" in error and "20000" not in error
    assert "50000" in error or "over 200" in error


def test_manage_post_without_csrf_token_fails_even_without_cookies(world):
    sub = _reader(world)
    signer = world.svc.signer()
    path = f"/manage/{signer.mint('manage', sub)}"
    form = _manage_form(world, path)
    del form["csrftoken"]
    world.client.cookies.clear()
    refused = world.client.post(path, data=form)
    assert refused.status_code == 403
    assert world.store.subscribers.get(sub.id).topics == ("LLM reasoning",)
    pending = world.store.subscribers.add(
        "new@example.org", preferences(["speech"], timezone="UTC", hour=7), "pending", NOW
    )
    confirm = f"/confirm/{signer.mint('confirm', pending)}"
    assert world.client.post(confirm).status_code == 403
    assert world.store.subscribers.get(pending.id).status == "pending"
    # RFC 8058 one-click unsubscribe stays exempt: the signed URL is the authority.
    one_click = world.client.post(
        f"/unsubscribe/{signer.mint('unsubscribe', sub)}", data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200
    assert world.store.subscribers.get(sub.id).status == "unsubscribed"


def test_a_bounced_reader_pressing_an_old_confirm_link_is_told_no_digest_is_sent(world):
    sub = _reader(world, "pending")
    confirm = f"/confirm/{world.svc.signer().mint('confirm', sub)}"
    world.store.subscribers.set_status(sub.id, "bounced", NOW)
    shown = world.client.get(confirm)
    pressed = world.client.post(confirm, data={"csrftoken": world.csrf("/")})
    for page in (shown, pressed):
        assert page.status_code == 200
        assert "bounced, so no digest is sent" in page.text and 'href="/">Sign up again' in page.text
        assert "You are subscribed" not in page.text and "Confirm subscription" not in page.text
    assert world.store.subscribers.get(sub.id).status == "bounced"


def _signup(world: WebWorld, **fields: str) -> dict[str, str]:
    data = {"email": "ivy@example.org", "topics": "speech recognition", "hour": "9",
            "timezone": "Europe/Paris", "cadence": "weekly", "weekday": "4", "per_email": "5",
            "csrftoken": world.csrf("/")}  # fmt: skip
    return {**data, **fields}


def test_a_form_error_keeps_the_chosen_hour_and_weekday(world):
    page = world.client.post("/subscribe", data=_signup(world, timezone="Europe/Pariss"))
    assert page.status_code == 422 and "unknown time zone" in page.text
    assert '<option value="9" selected>09:00</option>' in page.text
    assert '<option value="4" selected>Friday</option>' in page.text
    assert world.store.subscribers.by_email("ivy@example.org") is None
    sub = _reader(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    form = _manage_form(world, path, hour="21", cadence="weekly", weekday="6", timezone="Mars/Olympus")
    page = world.client.post(path, data=form)
    assert page.status_code == 422
    assert '<option value="21" selected>21:00</option>' in page.text
    assert '<option value="6" selected>Sunday</option>' in page.text
    assert world.store.subscribers.get(sub.id).hour == 7


@pytest.mark.parametrize(
    ("reply", "status", "says"),
    [("421", 503, "did not take it just now"), ("550", 422, "refused it. Check the address")],
)
def test_a_confirmation_email_the_relay_refuses_is_not_reported_as_sent(world, smtp, reply, status, says):
    handler, _ = smtp
    handler.script["ivy@example.org"] = [reply]
    page = world.client.post("/subscribe", data=_signup(world))
    assert page.status_code == status
    assert "Nothing was sent to ivy@example.org" in page.text and says in page.text
    assert "Check your inbox" not in page.text
    assert not handler.received
    # The sign-up is kept, and the same form sent again mails the link.
    assert world.store.subscribers.by_email("ivy@example.org").status == "pending"
    again = world.client.post("/subscribe", data=_signup(world))
    assert again.status_code == 200 and "Check your inbox" in again.text
    assert link_in(handler.received[0].parsed().get_body(("plain",)).get_content(), "confirm")


def test_the_confirmation_email_text_part_speaks_of_a_link_not_a_button(world, smtp):
    handler, _ = smtp
    assert world.client.post("/subscribe", data=_signup(world)).status_code == 200
    (mail,) = handler.received
    text = mail.parsed().get_body(("plain",)).get_content()
    assert "Confirm within 48 hours with the link below" in text and "button" not in text.lower()
    assert link_in(text, "confirm")


@pytest.mark.parametrize("path", ["/subscribe", "/admin/logout", "/admin/skip", "/admin/preview/send"])
def test_opening_a_form_address_in_the_browser_gets_a_page_not_json(world, path):
    page = world.client.get(path)
    assert page.status_code == 405 and "POST" in page.headers["allow"]
    assert page.headers["content-type"].startswith("text/html")
    assert "only takes a form" in page.text and 'href="/"' in page.text
    api = world.client.get("/api/skip")
    assert api.status_code == 405 and api.json() == {"detail": "Method Not Allowed"}


def test_a_form_whose_cookie_was_lost_gets_a_page_that_leads_back_to_it(world):
    sub = _reader(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    form = _manage_form(world, path)
    world.client.cookies.clear()  # a tab restored after the browser dropped its cookies
    for target, back in ((path, path), ("/subscribe", "/")):
        refused = world.client.post(target, data=form)
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
        assert "<title>" in refused.text and "This form has expired" in refused.text
        assert "Nothing was changed" in refused.text and f'href="{back}"' in refused.text
    assert world.store.subscribers.get(sub.id).topics == ("LLM reasoning",)
    # The page it leads back to works: its fresh form goes through.
    assert world.client.post(path, data=_manage_form(world, path)).status_code == 200


def test_an_outbox_that_cannot_be_written_is_a_clear_page_not_a_traceback(db_url, smtp, tmp_path):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the outbox folder should be")
    world = make_world(
        db_url, smtp[1].port, NEWSLETTER_DELIVERY_TRANSPORT="outbox", NEWSLETTER_DELIVERY_OUTBOX=str(blocked)
    )
    try:
        page = world.client.post("/subscribe", data=_signup(world))
        assert page.status_code == 503 and "Nothing was sent to ivy@example.org" in page.text
        assert world.store.subscribers.by_email("ivy@example.org").status == "pending"
    finally:
        world.client.close()
        world.store.dispose()


def test_reloading_the_check_your_inbox_page_sends_nothing_again(world, smtp):
    handler, _ = smtp
    posted = world.client.post("/subscribe", data=_signup(world), follow_redirects=False)
    # Post/redirect/get: the answer to the form is a page of its own, which a reload only fetches.
    assert posted.status_code == 303 and posted.headers["location"].startswith("/sent/")
    for _ in range(2):
        page = world.client.get(posted.headers["location"])
        assert page.status_code == 200 and "Check your inbox" in page.text
        assert "We sent a message to ivy@example.org" in page.text
    assert [r.recipient for r in handler.received] == ["ivy@example.org"]
    # The page shows an address, so only a link the form gave out opens it.
    sub = world.store.subscribers.by_email("ivy@example.org")
    for forged in ("/sent/x", f"/sent/{world.svc.signer().mint('manage', sub)}"):
        refused = world.client.get(forged)
        assert refused.status_code == 404 and "ivy@example.org" not in refused.text


def _sent_answer(world: WebWorld, email: str) -> tuple[str, str]:
    """The /sent link the sign-up form redirects to for `email`, and that page's text."""
    posted = world.client.post("/subscribe", data=_signup(world, email=email), follow_redirects=False)
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    return location, world.client.get(location).text


def test_the_answer_to_the_form_does_not_reveal_whether_an_address_was_known(world):
    _sent_answer(world, "Ada.Lovelace@example.org")  # the first sign-up: now a known reader
    for _ in range(3):
        _sent_answer(world, "someone-else@example.org")
    # Typed in another case: the page shows it as typed, not as stored, exactly as for a new address.
    known_link, known_page = _sent_answer(world, "ADA.LOVELACE@example.org")
    new_link, new_page = _sent_answer(world, "NEW.READER@example.org")
    assert "We sent a message to ADA.LOVELACE@example.org." in known_page
    assert known_page.replace("ADA.LOVELACE", "NEW.READER") == new_page
    # Nor does the link: it carries the address typed, not a subscriber's id (ids give away sign-up order).
    for link, typed in ((known_link, "ADA.LOVELACE@example.org"), (new_link, "NEW.READER@example.org")):
        payload = json.loads(base64.urlsafe_b64decode(link.removeprefix("/sent/").split(".")[0] + "=="))
        assert payload == {"e": typed}


def test_the_check_your_inbox_page_expires_with_a_page_that_says_what_it_was(world):
    an_hour_and_more_ago = datetime.now(UTC) - timedelta(minutes=61)
    link = f"/sent/{world.svc.signer().mint_address('sent', 'ivy@example.org', at=an_hour_and_more_ago)}"
    page = world.client.get(link)
    assert page.status_code == 410 and "This page has expired" in page.text
    assert "sign up again with the same address" in page.text and "ivy@example.org" not in page.text


def _longest_topics(width: int = 200) -> str:
    """The topics box at its fullest, as a browser sends it: 50 topics and 50 exclusions ("-" first),
    each of `width` characters."""
    lines = [f"topic {i:02d} " + "é" * (width - 9) for i in range(50)]
    return "\r\n".join(lines + [f"-word {i:02d} " + "ü" * (width - 8) for i in range(50)])


def test_the_fullest_topics_box_the_fields_allow_is_accepted(world, smtp):
    topics = _longest_topics()
    assert len(topics) > 20_000  # over the old cap for the whole form
    posted = world.client.post("/subscribe", data=_signup(world, topics=topics), follow_redirects=False)
    assert posted.status_code == 303, posted.text
    sub = world.store.subscribers.by_email("ivy@example.org")
    assert (len(sub.topics), len(sub.excludes)) == (50, 50)
    assert [r.recipient for r in smtp[0].received] == ["ivy@example.org"]


@pytest.mark.parametrize("page", ["subscribe", "manage"])
def test_a_topics_box_over_its_limit_is_refused_by_name_and_the_rest_is_kept(world, smtp, page):
    too_long = _longest_topics() + "\r\n" + "\r\n".join(f"extra topic {i}" for i in range(2_000))
    if page == "subscribe":
        path, form = "/subscribe", _signup(world, topics=too_long, email="long.topics@example.org")
    else:
        path = f"/manage/{world.svc.signer().mint('manage', _reader(world))}"
        form = _manage_form(world, path, topics=too_long, hour="21", timezone="Europe/Paris")
    refused = world.client.post(path, data=form)
    assert refused.status_code == 422
    assert (
        "Topics: at most 20,300 characters in all (50 topics and 50 exclusions of up to 200 characters each),"
        f" got {len(too_long):,}"
    ) in refused.text
    assert (
        "Topics: only the lines that fit are kept below; the other fields are as you typed them."
        in refused.text
    )
    # Shown to fix: the whole lines that fit (the 100 longest ones and a few short ones), and the
    # fields around them as typed.
    shown = refused.text.split('<textarea id="topics" name="topics" required>')[1].split("</textarea>")[0]
    assert too_long.startswith(shown) and too_long[len(shown) :].startswith("\r\n")
    assert "-word 49 " in shown and len(shown) <= 20_300
    assert 'value="Europe/Paris"' in refused.text
    if page == "subscribe":
        assert 'value="long.topics@example.org"' in refused.text
        assert world.store.subscribers.by_email("long.topics@example.org") is None and not smtp[0].received
    else:
        assert '<option value="21" selected>21:00</option>' in refused.text
        assert world.store.subscribers.by_email("reader@example.org").hour == 7
