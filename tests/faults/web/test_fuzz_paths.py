"""Tokens in paths and the previews under fuzz, through the real app on a real SQLite store.

/confirm/, /manage/, /unsubscribe/ and /feed/ get arbitrary tokens, by GET and by POST; the live
topic preview and the admin preview get arbitrary topics and dates. Every answer is a 200 or a clear
4xx, never a 5xx, and a value holding markup is never reflected verbatim. The forms are in
test_fuzz_forms.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from newsletter.dates import parse_issue_date
from newsletter.models import Subscriber
from newsletter.subscribers import InvalidInput
from newsletter.tokens import Signer
from tests.faults.hypothesis_profiles import NO_SHRINK, budget
from tests.faults.web.fuzz_support import (
    HEALTH,
    MARKERS,
    _checked,
    _client,
    _fresh_ip,
    fragments,
    good_fields,
    texts,
)
from tests.smtp_server import ScriptedHandler
from tests.web_support import ADMIN_TOKEN as ADMIN
from tests.web_support import NOW, WebWorld

pytestmark = pytest.mark.slow


# --- tokens in paths ----------------------------------------------------------------------------

KINDS = ("confirm", "manage", "unsubscribe", "feed", "sent")
PURPOSES = ("confirm", "manage", "unsubscribe", "feed", "feedback", "sent")


# Subscribers that are not quite the target: a token minted for one of them is validly signed (only the
# app, or someone holding its key, can make one) but names an odd id or a stale address.
def _odd_subscribers(target: Subscriber) -> list[Subscriber]:
    ids: list[Any] = [999_999, -1, 0, True, str(target.id), 1.5, None, 2**62]
    return [replace(target, id=i) for i in ids] + [replace(target, email="someone-else@example.org")]


@st.composite
def tokens(draw: st.DrawFn, signer: Signer, target: Subscriber, kind_of_path: str) -> str:
    """Garbage, near-misses of real tokens, real tokens (of this or another purpose), odd signed payloads."""
    purpose = draw(st.sampled_from([kind_of_path, kind_of_path, *PURPOSES]))
    real = signer.mint(purpose, target)
    kind = draw(st.sampled_from(["text", "special", "tampered", "real", "odd"]))
    if kind == "text":
        return draw(texts.map(lambda t: t[:2000]))  # longer paths are refused by the HTTP client itself
    if kind == "special":
        return draw(st.sampled_from([
            "", ".", "..", "%00", "%2e%2e", "a" * 10_000, "<fuzz-tag>", "null", "{}", "eyJzIjoxfQ", "a.b.c",
            "eyJzIjoxLCJmIjoiMDAwMCJ9.Zm9v.YmFy", "\x00", "😀", "../../etc/passwd", "%", "?", "#",
        ]))  # fmt: skip
    if kind == "tampered":
        i = draw(st.integers(0, len(real) - 1))
        return real[:i] + draw(st.sampled_from(["A", "_", "-", ".", "", "==", "\n"])) + real[i + 1 :]
    if kind == "real":
        return real
    return signer.mint(purpose, draw(st.sampled_from(_odd_subscribers(target))))


@given(data=st.data())
@budget(3.0, suppress_health_check=HEALTH)
def test_arbitrary_tokens_answer_200_or_4xx_by_get_and_post(
    world: WebWorld, csrf: str, target: Subscriber, data: st.DataObject
) -> None:
    kind = data.draw(st.sampled_from(KINDS), label="kind")
    token = data.draw(tokens(world.svc.signer(), target, kind), label="token")
    method = data.draw(st.sampled_from(["GET", "POST"]), label="method")
    # As a browser would send it: percent-encoded, with its slashes kept, or raw when it is printable ASCII.
    raw = [token] if token.isascii() and token.isprintable() else []
    encoded = data.draw(st.sampled_from([quote(token, safe=""), quote(token, safe="/"), *raw]), label="path")
    path = f"/{kind}/{encoded}" + (".xml" if kind == "feed" else "")
    try:
        if method == "GET":
            response = world.client.get(path)
        elif kind == "unsubscribe":
            response = world.client.post(path, data={"List-Unsubscribe": "One-Click"})
        else:
            response = world.client.post(path, data={"csrftoken": csrf})
        _checked(response, token)
        event(f"{method} {kind} {response.status_code}")
        if method == "GET" and response.status_code == 200 and kind != "feed":
            assert world.store.subscribers.get(target.id).status == "active", "a GET changed state"
        if kind == "feed" and response.status_code == 200:
            ElementTree.fromstring(response.content)  # a feed reader must be able to parse it
    finally:
        world.store.subscribers.set_status(target.id, "active", NOW)


@example(query={"x": MARKERS[0]})
@given(query=st.dictionaries(st.text(min_size=1, max_size=8), texts.map(lambda t: t[:500]), max_size=3))
@budget(0.5, suppress_health_check=HEALTH)
def test_the_feed_is_well_formed_xml_whatever_its_query_string(
    world: WebWorld, target: Subscriber, query: dict[str, str]
) -> None:
    # The feed names itself by its own URL, query string included; that must not break the XML.
    token = world.svc.signer().mint("feed", target)
    response = _checked(world.client.get(f"/feed/{token}.xml", params=query), list(query.values()))
    assert response.status_code == 200
    ElementTree.fromstring(response.content)


# --- the live topic preview and the admin preview -------------------------------------------------


def _sendable(text: str, limit: int = 50_000) -> str:
    """`text`, cut so its percent-encoded form fits in a URL the HTTP client accepts (64 KiB)."""
    while len(quote(text)) > limit:
        text = text[: len(text) // 2]
    return text


@example(topics="x" * 20_001)
@example(topics="LLM reasoning\nspeech")
@example(topics="-")
@example(topics="\n".join(["x"] * 60))
@given(topics=st.one_of(texts, st.lists(fragments, max_size=8).map("\n".join)).map(_sendable))
@budget(1.0, suppress_health_check=HEALTH)
def test_topic_preview_answers_json_for_any_topics(world: WebWorld, topics: str) -> None:
    client = _client(world, _fresh_ip())
    try:
        response = _checked(client.get("/api/topic-preview", params={"topics": topics}))
    finally:
        client.close()
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body["matches"], list) and len(body["matches"]) <= 8
    assert all(isinstance(topic, str) for topic in body.get("unmatched", []))  # not in an error
    event("matches" if body["matches"] else "no match")
    assert all(isinstance(topic, str) for topic in body.get("unlisted", []))
    for match in body["matches"]:
        assert set(match) == {"title", "url", "reason", "topic", "also"}
        assert all(isinstance(match[key], str) for key in ("title", "url", "reason", "topic"))
        assert all(isinstance(topic, str) for topic in match["also"])
        assert match["url"].startswith("https://huggingface.co/papers/")
    if topics == "LLM reasoning\nspeech":
        assert body["matches"], "the store holds papers on LLM reasoning: the preview must find some"


@pytest.fixture(scope="module")
def admin(world: WebWorld) -> Iterator[TestClient]:
    client = _client(world, "10.255.255.1")
    WebWorld(world.store, world.svc, client).login()
    yield client
    client.close()


DATES = [
    "",
    "tomorrow",
    "today",
    "2025-03-11",
    "2025-02-30",
    "0001-01-31",  # 0001-01-01 .. 0001-01-03 have a test of their own below
    "9999-12-31",
    "2025-W10",
    "20250311",
]


@example(params={"date": "9999-12-31", "topics": "speech"})
@example(params={"topics": MARKERS[4], "notice": MARKERS[0]})
@given(
    params=st.fixed_dictionaries(
        {},
        optional={
            "email": st.sampled_from(["manage-reader@example.org", "nobody@example.org"]) | texts,
            "topics": texts | good_fields["topics"],
            "date": st.sampled_from(DATES) | texts,
            "notice": texts,
        },
    )
)
@budget(0.6, suppress_health_check=HEALTH)
def test_admin_preview_answers_200_or_422_for_any_query(
    world: WebWorld, admin: TestClient, reader: Subscriber, params: dict[str, str]
) -> None:
    params = {k: _sendable(v, 12_000) for k, v in params.items()}
    response = _checked(admin.get("/admin/preview", params=params), list(params.values()))
    assert response.status_code in (200, 422)
    event(f"admin preview {response.status_code}")


@example(day="2025-03-11")
@example(day="0001-01-01")
@example(day=MARKERS[0])
@given(day=st.sampled_from(DATES) | texts)
@budget(0.3, suppress_health_check=HEALTH)
def test_the_admin_issue_page_answers_200_or_404_for_any_day(
    world: WebWorld, admin: TestClient, day: str
) -> None:
    sent = _sendable(day, 4_000)
    response = _checked(admin.get(f"/admin/issue/{quote(sent, safe='')}"), [day])
    try:
        # The page takes a day by the preview's and the CLI's rule (today, tomorrow, ten years).
        parse_issue_date(sent, NOW.date())
    except InvalidInput:
        # Not a date: 422, as the preview answers a bad date; 404 when an empty day or a "/" in it
        # takes the request to another address (and the client itself resolves "." and "..").
        elsewhere = not sent.strip() or "/" in sent
        assert sent in (".", "..") or response.status_code == (404 if elsewhere else 422)
    else:
        assert response.status_code in (200, 404)
    event(f"admin issue page {response.status_code}")


# Regression (found by this fuzzing, now fixed): an issue date within window_days (3) of 0001-01-01 makes
# newsletter/store/papers.py pool() (line 214: issue_date - timedelta(days=window_days)) raise
# OverflowError: GET /admin/preview?date=0001-01-01&topics=x and GET /api/preview?date=0001-01-01&topics=x
# answer 500; parse_issue_date (now in newsletter/web/preview.py) accepted any ISO date


@example(day=1, api=False)
@given(day=st.integers(1, 3), api=st.booleans())
@budget(0.1, suppress_health_check=HEALTH, phases=NO_SHRINK)
def test_an_ancient_issue_date_is_a_422(world: WebWorld, admin: TestClient, day: int, api: bool) -> None:
    params = {"date": f"0001-01-{day:02d}", "topics": "speech"}
    if api:
        response = world.client.get(
            "/api/preview", params=params, headers={"Authorization": f"Bearer {ADMIN}"}
        )
    else:
        response = admin.get("/admin/preview", params=params)
    assert _checked(response).status_code == 422


# --- an IDN address gets its confirmation at the domain that was validated ---------------------------


def test_the_confirmation_goes_to_the_domain_the_reader_typed(
    world: WebWorld, smtp: tuple[ScriptedHandler, int], csrf: str
) -> None:
    handler = smtp[0]
    response = world.client.post(
        "/subscribe", data={"email": "ada@straße.de", "topics": "speech", "csrftoken": csrf}
    )
    assert response.status_code == 200
    assert handler.received[-1].recipient == "ada@xn--strae-oqa.de"  # IDNA 2008, as validated
