"""The sign-up's "check your inbox" page over HTTP: the address it shows travels in a cookie, never a URL."""

from __future__ import annotations

import base64
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from newsletter.tokens import Signer
from tests.web_support import WebWorld, make_world, reader

EMAIL = "Ivy.Typed@example.org"
GENERIC = "If you just signed up, we sent a message to the address you gave."


def _signup(world: WebWorld, email: str = EMAIL, **options: Any) -> httpx.Response:
    data = {"email": email, "topics": "speech recognition", "csrftoken": world.csrf("/")}
    return world.client.post("/subscribe", data=data, **options)


def _sent_cookie(response: httpx.Response) -> SimpleCookie:
    cookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        if header.startswith("newsletter_sent="):
            cookie.load(header)
    return cookie


def _browser(world: WebWorld) -> TestClient:
    """Another browser on the same app: none of this client's cookies."""
    return TestClient(world.client.app, base_url="https://papers.example.org")


def _set_cookie(world: WebWorld, token: str) -> None:
    world.client.cookies.set("newsletter_sent", token, domain="papers.example.org", path="/sent")


def _is_the_generic_page(page: httpx.Response, email: str = EMAIL) -> None:
    assert page.status_code == 200 and page.url.path == "/sent"
    assert "<h1>Check your inbox</h1>" in page.text and GENERIC in page.text
    assert "is not shown here because" in page.text
    assert email not in page.text and "@" not in page.text.split("<h1>", 1)[1]
    # Nothing failed: no error title, and no word of an expired or broken link.
    assert "<title>Check your inbox" in page.text
    assert "expired" not in page.text and "not valid" not in page.text
    assert page.headers["cache-control"] == "no-store"


def test_the_address_is_in_no_url_of_the_redirect_chain_and_the_page_shows_it(world, smtp):
    page = _signup(world)
    urls = [str(r.url) for r in (*page.history, page)]
    locations = [r.headers["location"] for r in page.history]
    assert urls == ["https://papers.example.org/subscribe", "https://papers.example.org/sent"]
    assert locations == ["/sent"]
    # Nor in base64: the token that carries it ('{"e": ...' encoded) stays in the cookie.
    token = world.client.cookies["newsletter_sent"]
    assert token.startswith(base64.urlsafe_b64encode(f'{{"e":"{EMAIL}"}}'.encode()).decode().rstrip("="))
    for url in urls + locations:
        assert "ivy" not in url.lower() and "eyJ" not in url and token not in url
    assert page.status_code == 200 and f"We sent a message to {EMAIL}." in page.text
    assert [r.recipient for r in smtp[0].received] == [EMAIL]


def test_the_cookie_is_for_the_sent_page_alone_and_lasts_as_long_as_its_token(world):
    posted = _signup(world, follow_redirects=False)
    assert posted.status_code == 303 and posted.headers["location"] == "/sent"
    assert posted.headers["cache-control"] == "no-store"
    morsel = _sent_cookie(posted)["newsletter_sent"]
    assert morsel["path"] == "/sent" and morsel["max-age"] == "3600"
    assert morsel["httponly"] is True and morsel["secure"] is True
    assert morsel["samesite"] == "strict"
    assert world.svc.signer().address("sent", morsel.value) == EMAIL


def test_the_cookie_is_not_secure_only_when_the_public_address_is_plain_http(db_url, smtp):
    world = make_world(db_url, smtp[1].port, NEWSLETTER_WEB_BASE_URL="http://localhost:8000")
    try:
        morsel = _sent_cookie(_signup(world, follow_redirects=False))["newsletter_sent"]
        assert morsel["secure"] == "" and morsel["httponly"] is True and morsel["samesite"] == "strict"
    finally:
        world.client.close()
        world.store.dispose()


def test_a_reload_shows_the_address_again_and_sends_nothing(world, smtp):
    assert _signup(world).status_code == 200
    for _ in range(3):
        page = world.client.get("/sent")
        assert page.status_code == 200 and f"We sent a message to {EMAIL}." in page.text
        assert page.headers["cache-control"] == "no-store"
    assert len(smtp[0].received) == 1


def test_the_page_keeps_the_security_headers(world):
    page = _signup(world)
    assert page.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["x-frame-options"] == "DENY"


def test_without_the_cookie_the_page_says_what_to_do_without_naming_an_address(world):
    assert _signup(world).status_code == 200
    other = _browser(world)
    try:
        _is_the_generic_page(other.get("/sent"))  # another browser, or cookies off
    finally:
        other.close()
    world.client.cookies.delete("newsletter_sent")
    _is_the_generic_page(world.client.get("/sent"))
    head = world.client.head("/sent")
    assert head.status_code == 200 and head.headers["cache-control"] == "no-store"


def _other_key(world: WebWorld) -> str:
    return Signer("another-installation-key-0123").mint_address("sent", EMAIL)


def _expired(world: WebWorld) -> str:
    return world.svc.signer().mint_address("sent", EMAIL, at=datetime.now(UTC) - timedelta(minutes=61))


def _tampered(world: WebWorld) -> str:
    token = world.svc.signer().mint_address("sent", EMAIL)
    body, rest = token.split(".", 1)
    forged = base64.urlsafe_b64encode(b'{"e":"mallory@example.org"}').decode().rstrip("=")
    assert forged != body
    return f"{forged}.{rest}"


BAD_TOKENS: dict[str, Callable[[WebWorld], str]] = {
    "garbage": lambda w: "x",
    "empty": lambda w: "",
    "tampered": _tampered,
    "another key": _other_key,
    "expired": _expired,
    "manage token": lambda w: w.svc.signer().mint("manage", reader(w)),
    "confirm token": lambda w: w.svc.signer().mint("confirm", reader(w)),
    "sent token naming a subscriber": lambda w: w.svc.signer().mint("sent", reader(w)),
}


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_a_forged_expired_or_other_purpose_cookie_gets_the_generic_page(world, kind):
    _set_cookie(world, BAD_TOKENS[kind](world))
    page = world.client.get("/sent")
    _is_the_generic_page(page)
    assert "reader@example.org" not in page.text and "mallory" not in page.text


def test_an_old_sent_link_moves_its_token_into_the_cookie_and_lands_on_the_plain_page(world):
    # A tab left open on the page as it used to be: reloaded, it shows the same address, at /sent.
    token = world.svc.signer().mint_address("sent", EMAIL)
    moved = world.client.get(f"/sent/{token}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/sent"
    assert moved.headers["cache-control"] == "no-store"
    morsel = _sent_cookie(moved)["newsletter_sent"]
    assert morsel.value == token and morsel["path"] == "/sent" and morsel["httponly"] is True
    page = world.client.get(f"/sent/{token}")
    assert page.url.path == "/sent" and f"We sent a message to {EMAIL}." in page.text


@pytest.mark.parametrize("kind", BAD_TOKENS)
def test_an_old_sent_link_that_no_longer_works_leads_to_the_generic_page(world, kind):
    token = BAD_TOKENS[kind](world) or "x"
    moved = world.client.get(f"/sent/{token}", follow_redirects=False)
    assert moved.status_code == 303 and moved.headers["location"] == "/sent"
    assert not _sent_cookie(moved)  # it sets nothing
    _is_the_generic_page(world.client.get(f"/sent/{token}"))


def test_an_old_sent_link_does_not_replace_a_valid_cookie_with_a_bad_token(world):
    assert _signup(world).status_code == 200
    page = world.client.get(f"/sent/{_expired(world)}")
    assert page.url.path == "/sent" and f"We sent a message to {EMAIL}." in page.text
