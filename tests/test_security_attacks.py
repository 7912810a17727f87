"""The web app as an attacker drives it: crafted addresses, stolen links, responses read by other sites."""

from __future__ import annotations

import logging
import re
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.smtp_server import ScriptedHandler
from tests.web_support import ADMIN_PASSWORD, ADMIN_TOKEN, WebWorld, link_in, make_world, reader


def _links(html: str) -> list[str]:
    return re.findall(r'<a href="([^"]*)"', html)


@pytest.mark.parametrize(
    "path",
    [
        "https://papers.example.org//evil.example/phish",  # a network-path reference: another host
        "/%2Fevil.example/phish",  # the same, once the path is decoded
        "/\\evil.example/phish",  # browsers read a backslash as a slash
        "/manage/a-token/..%2F..%2F%2Fevil.example",
    ],
)
def test_a_refused_cross_site_form_links_only_back_into_the_site(world: WebWorld, path: str) -> None:
    # Another site posts a form to a crafted address of ours: the CSRF check refuses it, and the page it
    # gets (on our origin, so trusted) must not offer a link to the attacker's host.
    response = world.client.post(path, data={"email": "ada@example.org"})
    assert response.status_code == 403 and "This form has expired" in response.text
    for href in _links(response.text):
        assert href.startswith("/") and not href.startswith("//") and "\\" not in href, href
        assert "evil.example" not in href


def test_a_refused_form_on_a_personal_page_logs_no_token(
    world: WebWorld, caplog: pytest.LogCaptureFixture
) -> None:
    # The log is read by more people, and kept longer, than a reader's own link: a manage token in it
    # would let any of them change that reader's topics for 90 days.
    sub = reader(world)
    token = world.svc.signer().mint("manage", sub)
    with caplog.at_level(logging.WARNING):
        refused = world.client.post(f"/manage/{token}", data={"topics": "spam"})
    assert refused.status_code == 403
    assert "form refused on /manage/" in caplog.text
    assert token not in caplog.text and token.split(".")[-1] not in caplog.text


def test_a_crafted_address_cannot_forge_a_log_line(world: WebWorld, caplog: pytest.LogCaptureFixture) -> None:
    # The path is percent-decoded: %0A is a newline, which would start a line of the attacker's choosing.
    with caplog.at_level(logging.WARNING):
        world.client.post("/x%0Aerror:%20web:%20admin%20password%20changed%0D", data={"a": "b"})
    (line,) = [r.getMessage() for r in caplog.records if "form refused" in r.getMessage()]
    assert "\n" not in line and "\r" not in line
    assert "/x\\nerror: web: admin password changed\\r" in line


def _answers(world: WebWorld) -> dict[str, httpx.Response]:
    """One response of each kind the app sends besides its pages."""
    sub = reader(world)
    feed = f"/feed/{world.svc.signer().mint('feed', sub)}.xml"
    client = world.client
    return {
        "feed": client.get(feed),
        "health": client.get("/healthz"),
        "schema": client.get("/api/openapi.json"),
        "public JSON": client.get("/api/topic-preview", params={"topics": "LLM reasoning"}),
        "API refusal": client.get("/api/subscribers/counts"),
        "API result": client.get(
            "/api/subscribers/counts", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        ),
        "redirect": client.get("/admin", follow_redirects=False),
        "favicon": client.get("/favicon.ico"),
        "script": client.get("/js/preferences.js"),
        "gate refusal": client.post("/subscribe", files={"email": (None, "ada@example.org")}),
    }


def test_every_response_carries_the_protective_headers(world: WebWorld) -> None:
    # A feed or JSON that a browser sniffed as HTML, or that another site framed, would run in our origin.
    for kind, response in _answers(world).items():
        headers = response.headers
        assert headers.get("x-content-type-options") == "nosniff", kind
        assert headers.get("referrer-policy") == "no-referrer", kind
        assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), kind
        assert headers.get("x-frame-options") == "DENY", kind
        assert headers.get("strict-transport-security") == "max-age=31536000", kind
    # A page keeps its own policy: its forms and its scripts (from /js/) still work.
    page = world.client.get("/")
    assert "form-action 'self'" in page.headers["content-security-policy"]
    assert page.headers["strict-transport-security"] == "max-age=31536000"


def test_hsts_is_sent_only_when_the_public_address_is_https(db_url: str, smtp: tuple[object, Any]) -> None:
    world = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_BASE_URL="http://localhost:8000")
    assert "strict-transport-security" not in world.client.get("/").headers
    assert world.client.get("/healthz").headers["x-content-type-options"] == "nosniff"
    world.store.dispose()


def test_a_confirmation_link_from_before_an_unsubscribe_does_not_subscribe_again(
    world: WebWorld, smtp: tuple[ScriptedHandler, Any]
) -> None:
    # Whoever still holds the sign-up email (a forward, a shared mailbox) within its 48 hours must not
    # undo the reader's later unsubscribe with it: that choice stands until they sign up again.
    handler, _ = smtp
    form = {"email": "ada@example.org", "topics": "LLM reasoning", "csrftoken": world.csrf("/")}
    assert world.client.post("/subscribe", data=form).status_code == 200
    mail = handler.received[-1].parsed().get_body(("plain",)).get_content()
    confirm = link_in(mail, "confirm")
    assert world.client.post(confirm, data={"csrftoken": world.csrf(confirm)}).status_code == 200
    sub = world.store.subscribers.by_email("ada@example.org")
    assert sub is not None and sub.status == "active"
    one_click = {"List-Unsubscribe": "One-Click"}
    assert world.client.post(f"/unsubscribe/{world.svc.signer().mint('unsubscribe', sub)}", data=one_click)
    page = world.client.get(confirm)
    assert page.status_code == 200 and 'id="confirm"' not in page.text and "Sign up again" in page.text
    replay = world.client.post(confirm, data={"csrftoken": world.csrf("/")})
    assert "Sign up again" in replay.text and "You are subscribed" not in replay.text
    again = world.store.subscribers.by_email("ada@example.org")
    assert again is not None and again.status == "unsubscribed"
    # Signing up again mails a new link, and that one subscribes them.
    assert world.client.post("/subscribe", data={**form, "csrftoken": world.csrf("/")}).status_code == 200
    fresh = link_in(handler.received[-1].parsed().get_body(("plain",)).get_content(), "confirm")
    assert "You are subscribed" in world.client.post(fresh, data={"csrftoken": world.csrf(fresh)}).text
    back = world.store.subscribers.by_email("ada@example.org")
    assert back is not None and back.status == "active"


def test_admin_pages_are_kept_by_no_cache(world: WebWorld) -> None:
    # What a browser keeps, Back shows after signing out (tests/browser/test_admin_session.py).
    world.login()
    for path in ("/admin", "/admin/preview", "/admin/issue/2025-03-10", "/admin/login"):
        assert world.client.get(path).headers.get("cache-control") == "no-store", path


def test_an_ipv6_network_shares_one_sign_in_budget(db_url: str, smtp: tuple[object, Any]) -> None:
    # Any IPv6 host holds a whole /64 (2^64 addresses): counted per address, its guesses would be unlimited.
    world = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_LOGIN_LIMIT_IP="3/minute")

    def guess(client_address: str, password: str = "guess") -> int:
        client = TestClient(
            world.client.app, base_url="https://papers.example.org", client=(client_address, 1)
        )
        page = client.get("/admin/login").text
        token = re.search(r'name="csrftoken" value="([^"]+)"', page)
        assert token is not None
        data = {"password": password, "csrftoken": token.group(1)}
        return client.post("/admin/login", data=data, follow_redirects=False).status_code

    assert [guess(f"2001:db8:1:2::{n}") for n in range(1, 5)] == [401, 401, 401, 429]
    assert guess("2001:db8:1:2:ffff::9", ADMIN_PASSWORD) == 429  # the same /64: locked out too
    assert guess("2001:db8:1:3::1", ADMIN_PASSWORD) == 303  # another network is not
    assert guess("192.0.2.1", ADMIN_PASSWORD) == 303
    world.store.dispose()


def test_an_ipv6_network_shares_one_sign_up_budget(db_url: str, smtp: tuple[object, Any]) -> None:
    world = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_SUBSCRIBE_LIMIT_IP="2/minute")

    def sign_up(client_address: str, email: str) -> int:
        client = TestClient(
            world.client.app, base_url="https://papers.example.org", client=(client_address, 1)
        )
        token = re.search(r'name="csrftoken" value="([^"]+)"', client.get("/").text)
        assert token is not None
        data = {"email": email, "topics": "LLM reasoning", "csrftoken": token.group(1)}
        return client.post("/subscribe", data=data, follow_redirects=False).status_code

    addresses = [f"2001:db8:5:6::{n}" for n in range(1, 4)]
    assert [sign_up(a, f"r{n}@example.org") for n, a in enumerate(addresses)] == [303, 303, 429]
    assert sign_up("2001:db8:5:7::1", "r9@example.org") == 303
    world.store.dispose()
