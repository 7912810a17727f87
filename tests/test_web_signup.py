"""The sign-up form over HTTP: its answer page, the confirmation email, and refused input."""

from __future__ import annotations

import base64
import json
from http.cookies import SimpleCookie

import pytest
from bs4 import BeautifulSoup, Tag

from tests.web_support import WebWorld, link_in, make_world, manage_form, reader


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
    sub = reader(world)
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    form = manage_form(world, path, hour="21", cadence="weekly", weekday="6", timezone="Mars/Olympus")
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
    # The sign-up form again, as typed: to correct the address, or send it again later.
    assert 'value="ivy@example.org"' in page.text and 'id="subscribe"' in page.text
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


def test_the_topics_are_shown_on_the_confirmation_page_not_quoted_in_the_email(world, smtp):
    # The email goes to an address the sender merely typed: quoting their topics there would let
    # anyone mail any text to anyone from this list. Only the inbox's owner opens the page.
    handler, _ = smtp
    pitch = "WIN A PRIZE: call +1 555 0100 <b>now</b>"
    form = _signup(world, topics=f"{pitch}\nspeech recognition\n-medical")
    assert world.client.post("/subscribe", data=form).status_code == 200
    (mail,) = handler.received
    text = mail.parsed().get_body(("plain",)).get_content()
    html = mail.parsed().get_body(("html",)).get_content()
    assert "PRIZE" not in text and "PRIZE" not in html and "medical" not in text
    assert "on 2 topics at this address" in " ".join(text.split())
    page = world.client.get(link_in(text, "confirm"))
    assert "<li>WIN A PRIZE: call +1 555 0100 &lt;b&gt;now&lt;/b&gt;</li>" in page.text
    assert "<li>speech recognition</li>" in page.text
    assert "leaving out papers that mention medical" in page.text


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
    assert posted.status_code == 303 and posted.headers["location"] == "/sent"
    for _ in range(2):
        page = world.client.get(posted.headers["location"])
        assert page.status_code == 200 and "Check your inbox" in page.text
        assert "We sent a message to ivy@example.org" in page.text
    assert [r.recipient for r in handler.received] == ["ivy@example.org"]


def _sent_answer(world: WebWorld, email: str) -> tuple[str, SimpleCookie, str]:
    """Where the sign-up form redirects for `email`, the cookie it sets, and the page there."""
    posted = world.client.post("/subscribe", data=_signup(world, email=email), follow_redirects=False)
    assert posted.status_code == 303, posted.text
    location = posted.headers["location"]
    cookie = SimpleCookie()
    for header in posted.headers.get_list("set-cookie"):
        cookie.load(header)
    return location, cookie, world.client.get(location).text


@pytest.mark.parametrize("status", ["pending", "active", "unsubscribed", "bounced"])
def test_the_answer_to_the_form_does_not_reveal_whether_an_address_was_known(world, smtp, status):
    # Known in each status: pending, a reader (mailed a manage link), one who unsubscribed (mailed a
    # link that would bring them back), one whose mail hard-bounced (mailed nothing at all).
    handler, _ = smtp
    _sent_answer(world, "Ada.Lovelace@example.org")  # the first sign-up: now a known reader
    known_reader = world.store.subscribers.by_email("ada.lovelace@example.org")
    if status != "pending":
        world.store.subscribers.set_status(known_reader.id, status, world.svc.clock())
    for _ in range(3):
        _sent_answer(world, "someone-else@example.org")
    mailed = len(handler.received)
    # Typed in another case: the page shows it as typed, not as stored, exactly as for a new address.
    known_link, known_cookie, known_page = _sent_answer(world, "ADA.LOVELACE@example.org")
    assert len(handler.received) == mailed + (status != "bounced")
    new_link, new_cookie, new_page = _sent_answer(world, "NEW.READER@example.org")
    assert "We sent a message to ADA.LOVELACE@example.org." in known_page
    assert known_page.replace("ADA.LOVELACE", "NEW.READER") == new_page
    # The same address to go to, and the same cookie but for the address in it.
    assert known_link == new_link == "/sent"
    assert list(known_cookie) == list(new_cookie) == ["newsletter_sent"]
    known, new = known_cookie["newsletter_sent"], new_cookie["newsletter_sent"]
    assert dict(known) == dict(new)  # Path, Max-Age, Secure, HttpOnly, SameSite
    # It carries the address typed, not a subscriber's id (ids give away sign-up order).
    for morsel, typed in ((known, "ADA.LOVELACE@example.org"), (new, "NEW.READER@example.org")):
        payload = json.loads(base64.urlsafe_b64decode(morsel.value.split(".")[0] + "=="))
        assert payload == {"e": typed}
    assert world.store.subscribers.by_email("ada.lovelace@example.org").status == status


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
        path = f"/manage/{world.svc.signer().mint('manage', reader(world))}"
        form = manage_form(world, path, topics=too_long, hour="21", timezone="Europe/Paris")
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
    box = BeautifulSoup(refused.text, "html.parser").find("textarea", id="topics")
    assert isinstance(box, Tag) and box["aria-invalid"] == "true"  # and tied to its message
    shown = box.text
    assert too_long.startswith(shown) and too_long[len(shown) :].startswith("\r\n")
    assert "-word 49 " in shown and len(shown) <= 20_300
    assert 'value="Europe/Paris"' in refused.text
    if page == "subscribe":
        assert 'value="long.topics@example.org"' in refused.text
        assert world.store.subscribers.by_email("long.topics@example.org") is None and not smtp[0].received
    else:
        assert '<option value="21" selected>21:00</option>' in refused.text
        assert world.store.subscribers.by_email("reader@example.org").hour == 7
