"""The web app over HTTP (Starlette's test client), on a real store and a real SMTP server."""

from __future__ import annotations

import hashlib
import time

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from newsletter.subscribers import preferences
from newsletter.tokens import fingerprint
from tests.conftest import HF_API
from tests.web_support import ADMIN_PASSWORD, ADMIN_TOKEN, NOW, SECRET, link_in, reader

MARCH = HF_API / "daily_papers_2025-03-11.json"


def subscribe(world, email="ada@example.org", topics="LLM reasoning\n-survey", **fields):
    token = world.csrf("/")
    data = {"email": email, "topics": topics, "hour": "7", "timezone": "Europe/Paris", "cadence": "daily",
            "weekday": "0", "per_email": "10", "csrftoken": token, **fields}  # fmt: skip
    return world.client.post("/subscribe", data=data)


def mail_to(handler, email):
    found = [r for r in handler.received if r.recipient == email]
    assert found, f"no mail to {email}"
    return found[-1].parsed().get_body(("plain",)).get_content()


def test_subscribe_confirm_by_post_only(world, smtp):
    handler, _ = smtp
    response = subscribe(world)
    assert response.status_code == 200
    assert "Check your inbox" in response.text
    sub = world.store.subscribers.by_email("ada@example.org")
    assert sub.status == "pending" and sub.excludes == ("survey",)
    confirm = link_in(mail_to(handler, "ada@example.org"), "confirm")
    # Link scanners only GET: a GET shows a button and changes nothing.
    page = world.client.get(confirm)
    assert page.status_code == 200 and "Confirm subscription" in page.text
    assert world.store.subscribers.by_email("ada@example.org").status == "pending"
    done = world.client.post(confirm, data={"csrftoken": world.csrf(confirm)})
    assert done.status_code == 200 and "You are subscribed" in done.text
    assert world.store.subscribers.by_email("ada@example.org").status == "active"


def test_a_weekly_reader_is_told_the_day_of_their_first_digest(world, smtp):
    handler, _ = smtp
    assert subscribe(world, "wes@example.org", cadence="weekly", weekday="4").status_code == 200
    confirm = link_in(mail_to(handler, "wes@example.org"), "confirm")
    done = world.client.post(confirm, data={"csrftoken": world.csrf(confirm)})
    assert "Your first digest arrives on Friday at 07:00 (Europe/Paris)." in done.text


def test_the_answer_is_the_same_for_known_and_unknown_addresses(world, smtp):
    handler, _ = smtp
    world.store.subscribers.add(
        "known@example.org", preferences(["speech"], timezone="UTC", hour=7), "active", NOW
    )
    known = subscribe(world, email="known@example.org")
    unknown = subscribe(world, email="new@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.text.replace("known@", "X@") == unknown.text.replace("new@", "X@")
    # The known reader's topics are not changed by an unauthenticated form; they get a manage link instead.
    assert world.store.subscribers.by_email("known@example.org").topics == ("speech",)
    assert "/manage/" in mail_to(handler, "known@example.org")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not an email"}, "Email:"),
        ({"topics": ""}, "Topics: give at least one topic"),
        ({"topics": "x" * 201}, "Topics: at most 200 characters"),
        ({"topics": "speech\n-"}, "Exclusions (lines starting with -): an entry is empty"),
        ({"timezone": "Mars/Base"}, "Time zone: unknown time zone"),
        ({"hour": "25"}, "Delivery hour: must be between 0 and 23"),
        ({"hour": "seven"}, "Delivery hour: must be a whole number"),
        ({"per_email": "31"}, "Papers on your topics per email: must be between 1 and 30"),
        ({"email": "a@example.org\r\nBcc: b@example.org"}, "control characters"),
    ],
)
def test_bad_signups_get_422_and_store_nothing(world, fields, message):
    response = subscribe(world, **fields)
    assert response.status_code == 422
    assert message in response.text
    assert world.store.subscribers.listed() == []


def test_hostile_input_is_reflected_escaped(world):
    response = subscribe(world, topics="<script>alert(1)</script>\n" + "y" * 201)
    assert response.status_code == 422
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text


def test_subscribe_rate_limit_per_address_triggers(world):
    answers = [subscribe(world, email="bomb@example.org", topics="tide pools") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    # The form again, as typed, saying when it may be sent: the limit is 3 an hour, and 3 went just now.
    refused = answers[-1]
    assert "Too many sign-ups from this network or for this address: please try again in 60 minutes." in (
        refused.text
    )
    assert 'value="bomb@example.org"' in refused.text and "tide pools" in refused.text
    assert 3590 <= int(refused.headers["retry-after"]) <= 3600


def test_subscribe_rate_limit_per_ip_triggers(world):
    codes = [subscribe(world, email=f"r{i}@example.org").status_code for i in range(11)]
    assert codes[:10] == [200] * 10 and codes[10] == 429


def test_manage_page_edits_topics(world):
    sub = reader(world, timezone="UTC")
    path = f"/manage/{world.svc.signer().mint('manage', sub)}"
    page = world.client.get(path)
    assert page.status_code == 200 and "LLM reasoning" in page.text
    data = {"topics": "robot manipulation\nNeRF\n-survey", "hour": "6", "timezone": "Asia/Kolkata",
            "cadence": "weekly", "weekday": "4", "per_email": "5", "csrftoken": world.csrf(path)}  # fmt: skip
    saved = world.client.post(path, data=data, follow_redirects=False)
    assert saved.status_code == 303 and saved.headers["location"] == f"{path}?saved=1"
    assert "Saved" in world.client.get(saved.headers["location"]).text
    after = world.store.subscribers.get(sub.id)
    assert (after.topics, after.excludes, after.timezone, after.hour) == (
        ("robot manipulation", "NeRF"), ("survey",), "Asia/Kolkata", 6,
    )  # fmt: skip
    assert (after.cadence, after.weekday, after.per_email) == ("weekly", 4, 5)


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_rfc8058_one_click_unsubscribe(world, encoding):
    sub = reader(world, timezone="UTC")
    path = f"/unsubscribe/{world.svc.signer().mint('unsubscribe', sub)}"
    world.client.cookies.clear()
    if encoding == "urlencoded":
        response = world.client.post(path, data={"List-Unsubscribe": "One-Click"}, follow_redirects=False)
    else:
        response = world.client.post(
            path, files={"List-Unsubscribe": (None, "One-Click")}, follow_redirects=False
        )
    assert response.status_code == 200
    assert "location" not in response.headers
    assert world.store.subscribers.get(sub.id).status == "unsubscribed"
    assert '<a href="/">Unsubscribed by mistake? Sign up again</a>' in response.text


def test_unsubscribe_get_changes_nothing(world):
    sub = reader(world, timezone="UTC")
    path = f"/unsubscribe/{world.svc.signer().mint('unsubscribe', sub)}"
    assert world.client.get(path).status_code == 200
    assert world.store.subscribers.get(sub.id).status == "active"


def test_an_unsubscribed_reader_is_not_offered_unsubscribe_again(world):
    sub = reader(world, timezone="UTC")
    signer = world.svc.signer()
    path = f"/unsubscribe/{signer.mint('unsubscribe', sub)}"
    assert 'id="unsubscribe"' in world.client.get(path).text
    world.client.post(path, data={"List-Unsubscribe": "One-Click"})
    again = world.client.get(path)
    assert again.status_code == 200 and "is already unsubscribed" in again.text
    assert 'id="unsubscribe"' not in again.text and '<a href="/">Sign up again</a>' in again.text
    manage = world.client.get(f"/manage/{signer.mint('manage', sub)}")
    assert 'id="unsubscribe"' not in manage.text and "You are unsubscribed: no emails are sent" in manage.text


def test_forged_expired_and_misused_tokens_are_refused(world):
    sub = reader(world, timezone="UTC")
    signer = world.svc.signer()
    manage = signer.mint("manage", sub)
    bad = world.client.get(f"/manage/{manage}x")
    assert bad.status_code == 404 and "This link is not valid. Links in our emails are personal" in bad.text
    assert bad.headers["cache-control"] == "no-store"  # as the page it stands in for
    assert '<a href="/">Go to the sign-up page</a>' in bad.text
    assert world.client.get(f"/manage/{manage[:-3]}abc").status_code == 404
    # A manage token is not an unsubscribe token, nor a confirm token.
    assert (
        world.client.post(f"/unsubscribe/{manage}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    )
    assert world.client.get(f"/confirm/{manage}").status_code == 404
    assert world.store.subscribers.get(sub.id).status == "active"

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - 49 * 3600

    old = URLSafeTimedSerializer(
        SECRET, salt="newsletter.confirm", signer=Past, signer_kwargs={"digest_method": hashlib.sha256}
    )
    expired = old.dumps({"s": sub.id, "f": fingerprint(sub.email)})
    response = world.client.get(f"/confirm/{expired}")
    assert response.status_code == 410 and "This link has expired. Enter your address" in response.text
    assert response.headers["cache-control"] == "no-store"
    # A token signed with another key is forged.
    forged = URLSafeTimedSerializer("another-secret-key-entirely", salt="newsletter.confirm").dumps(
        {"s": sub.id}
    )
    assert world.client.post(f"/confirm/{forged}", data={"csrftoken": world.csrf("/")}).status_code == 404


def test_token_of_a_deleted_and_replaced_subscriber_is_dead(world):
    sub = reader(world, timezone="UTC", email="first@example.org")
    token = world.svc.signer().mint("unsubscribe", sub)
    world.store.subscribers.remove("first@example.org")
    newcomer = reader(world, timezone="UTC", email="second@example.org")
    assert (
        world.client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 404
    )
    assert world.store.subscribers.get(newcomer.id).status == "active"


def test_admin_pages_refuse_anonymous_users(world):
    for path in ("/admin", "/admin/preview"):
        response = world.client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"] == "/admin/login"
    assert world.client.get("/api/subscribers/counts").status_code == 401
    assert (
        world.client.get("/api/subscribers/counts", headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    ok = world.client.get("/api/subscribers/counts", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert ok.status_code == 200 and ok.json()["active"] == 0


def test_wrong_admin_password_is_refused(world):
    token = world.csrf("/admin/login")
    response = world.client.post(
        "/admin/login", data={"password": "guess", "csrftoken": token}, follow_redirects=False
    )
    assert response.status_code == 401
    assert world.client.get("/admin", follow_redirects=False).status_code == 303


def test_post_without_csrf_token_fails(world):
    world.login()
    assert world.client.get("/admin").status_code == 200
    response = world.client.post("/admin/skip", data={"arxiv_id": "2503.07595", "date": "tomorrow"})
    assert response.status_code == 403
    response = world.client.post("/admin/login", data={"password": "x"})
    assert response.status_code == 403
    # Checked even without any cookie: a cross-site form post cannot sign anyone up.
    world.client.cookies.clear()
    response = world.client.post("/subscribe", data={"email": "x@example.org", "topics": "speech"})
    assert response.status_code == 403
    assert world.store.subscribers.listed() == []


def test_session_cookie_is_secure_on_https(world):
    token = world.csrf("/admin/login")
    response = world.client.post(
        "/admin/login", data={"password": ADMIN_PASSWORD, "csrftoken": token}, follow_redirects=False
    )
    session = next(h for h in response.headers.get_list("set-cookie") if h.startswith("newsletter_admin="))
    attributes = {part.strip().split("=")[0].lower() for part in session.split(";")[1:]}
    assert {"secure", "httponly", "samesite"} <= attributes
    assert "samesite=strict" in session.lower() and "max-age=43200" in session.lower()
    flags = {c.name: c.secure for c in world.client.cookies.jar}
    assert flags["newsletter_admin"] is True
    assert flags["csrftoken"] is True


def test_an_unknown_address_gets_a_page_and_the_api_keeps_json(world):
    page = world.client.get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'href="/"' in page.text
    api = world.client.get("/api/no-such-thing", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_pages_name_an_inline_icon_and_favicon_ico_is_not_a_404(world):
    # Without an icon the browser asks for /favicon.ico on every page: a 404 and a console error.
    for path in ("/", "/admin/login", "/no-such-page"):
        page = world.client.get(path)
        assert '<link rel="icon" href="data:,">' in page.text
        assert "img-src * data:" in page.headers["content-security-policy"]  # the policy lets it load
    icon = world.client.get("/favicon.ico")
    assert icon.status_code == 204 and icon.content == b""
