"""A reader who unsubscribed comes back from their manage page with the choices they had: the page's
"Sign up again with these choices" posts the sign-up form, filled, so the usual checks and the
confirmation email apply."""

from __future__ import annotations

from bs4 import BeautifulSoup

from newsletter.subscribers import preferences
from tests.web_support import NOW, link_in


def test_an_unsubscribed_reader_signs_up_again_with_their_saved_choices(world, smtp):
    handler, _ = smtp
    prefs = preferences(
        ["LLM reasoning", "robot manipulation"], ["survey"], timezone="Europe/Paris", hour=6,
        cadence="weekly", weekday="fri", per_email=4,
    )  # fmt: skip
    sub = world.store.subscribers.add("Ada@Example.org", prefs, "active", NOW)
    world.store.subscribers.set_status(sub.id, "unsubscribed", NOW)
    page = world.client.get(f"/manage/{world.svc.signer().mint('manage', sub)}")
    form = BeautifulSoup(page.text, "html.parser").find("form", id="again")
    assert form is not None and form["action"] == "/subscribe"
    assert form.find("button").get_text() == "Sign up again with these choices"
    fields = {field["name"]: field["value"] for field in form.find_all("input")}

    answer = world.client.post("/subscribe", data=fields)

    assert answer.status_code == 200 and "Check your inbox" in answer.text
    # Nothing changes until the link in the email is followed; then the reader is back as they were.
    assert world.store.subscribers.get(sub.id).status == "unsubscribed"
    mail = handler.received[-1].parsed()
    assert mail["To"] == "Ada@Example.org" and mail["Subject"].startswith("Confirm your subscription")
    link = link_in(mail.get_body(("plain",)).get_content(), "confirm")
    assert "You are subscribed" in world.client.post(link, data={"csrftoken": world.csrf("/")}).text
    back = world.store.subscribers.get(sub.id)
    assert back.status == "active"
    for choice in ("topics", "excludes", "timezone", "hour", "cadence", "weekday", "per_email"):
        assert getattr(back, choice) == getattr(prefs, choice), choice


def test_only_an_unsubscribed_reader_is_offered_to_sign_up_again(world):
    for status in ("active", "pending", "bounced"):
        prefs = preferences(["speech"], timezone="UTC", hour=7)
        sub = world.store.subscribers.add(f"{status}@example.org", prefs, status, NOW)
        page = world.client.get(f"/manage/{world.svc.signer().mint('manage', sub)}")
        assert page.status_code == 200 and 'id="again"' not in page.text, status
