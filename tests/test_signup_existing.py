"""A public sign-up for an address already known: a hard-bounced one is mailed nothing and keeps its
row; one who unsubscribed keeps every setting until the newest link is followed.

The core scenarios run on a real SQLite file and on PostgreSQL (skipped with the reason when there is none).
"""

from __future__ import annotations

import json
import logging
import mailbox
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text, update

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.models import Schedule
from newsletter.signup import request_signup
from newsletter.store import Store
from newsletter.store.migrations import MIGRATIONS
from newsletter.store.retention import prune
from newsletter.store.schema import schema_version, subscribers
from newsletter.subscribers import Preferences, preferences
from tests.conftest import CliRunnerFn, MovableClock
from tests.smtp_server import ScriptedHandler
from tests.test_bounces import dsn
from tests.web_support import NOW, WebWorld, link_in, make_world

BOB = "Bob.Mixed@example.org"
BOB_LINE = (
    "Bob.Mixed@example.org            unsubscribed UTC 07:00, weekly on Fri  diffusion models for video"
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, db_url: str) -> str:
    """The database of the test: a SQLite file, or a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        return db_url
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(NOW)


@pytest.fixture
def web(url: str, smtp: tuple[ScriptedHandler, Any], clock: MovableClock) -> Iterator[WebWorld]:
    world = make_world(url, smtp[1].port, clock=clock)
    yield world
    world.client.close()
    world.store.dispose()


def form(world: WebWorld, email: str, topics: str, **fields: str) -> dict[str, str]:
    """The sign-up form as a browser sends it."""
    data = {"email": email, "topics": topics, "hour": "7", "timezone": "UTC", "cadence": "daily",
            "weekday": "0", "per_email": "10", "csrftoken": world.csrf("/")}  # fmt: skip
    return {**data, **fields}


def sign_up(world: WebWorld, email: str, topics: str, **fields: str) -> tuple[str, dict[str, Any], str]:
    """Post the form: where it redirects, its cookie's attributes, and the page there."""
    posted = world.client.post(
        "/subscribe", data=form(world, email, topics, **fields), follow_redirects=False
    )
    assert posted.status_code == 303, posted.text
    cookie = SimpleCookie()
    for header in posted.headers.get_list("set-cookie"):
        cookie.load(header)
    assert list(cookie) == ["newsletter_sent"]
    location = posted.headers["location"]
    return location, dict(cookie["newsletter_sent"]), world.client.get(location).text


def row(store: Store, email: str) -> dict[str, Any]:
    """Every stored column of the address's row but the waiting sign-up."""
    with store.read() as conn:
        found = conn.execute(
            select(subscribers).where(subscribers.c.email_key == email.casefold())
        ).mappings()
        values = dict(found.one())
    del values["requested"]
    return values


def _prefs() -> Preferences:
    return preferences(["speech"], timezone="UTC", hour=7)


def _real_now() -> datetime:
    """The wall clock, which the links' 48 hours are counted by."""
    return datetime.now(UTC)


def confirm_link(handler: ScriptedHandler) -> str:
    mail = handler.received[-1].parsed()
    assert mail["Subject"].startswith("Confirm your subscription")
    return link_in(mail.get_body(("plain",)).get_content(), "confirm")


def press(world: WebWorld, link: str) -> str:
    """Press the button of a confirmation page; the page that answers."""
    return world.client.post(link, data={"csrftoken": world.csrf("/")}).text


def test_a_bounced_address_is_mailed_nothing_keeps_its_row_and_gets_the_usual_answer(
    web: WebWorld, smtp: tuple[ScriptedHandler, Any], url: str, run_cli: CliRunnerFn, tmp_path: Path, caplog
) -> None:
    handler, _ = smtp
    sign_up(web, "C@Example.org", "speech recognition\n-Survey", timezone="EST5EDT")
    press(web, confirm_link(handler))
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(dsn("C@Example.org", "failed", "5.1.1", "550 5.1.1 <C@Example.org>: User unknown"))
    box.close()
    imported = run_cli(
        "bounces", "import", str(tmp_path / "bounces.mbox"), env={"NEWSLETTER_DATABASE_URL": url}
    )
    assert "1 address suppressed" in imported.stdout, imported.output
    before, mailed = row(web.store, "c@example.org"), len(handler.received)
    assert before["status"] == "bounced"

    caplog.set_level(logging.INFO, logger="newsletter")
    caplog.clear()
    known = sign_up(web, "c@example.org", "graphs")
    said = [r.getMessage() for r in caplog.records if r.name.startswith("newsletter")]
    new = sign_up(web, "n@example.org", "graphs")

    assert len(handler.received) == mailed + 1 and handler.received[-1].recipient == "n@example.org"
    assert row(web.store, "c@example.org") == before
    # The same redirect, the same cookie but for the address in it, the same page but for the address.
    assert known[0] == new[0] == "/sent" and known[1] == new[1]
    assert known[2].replace("c@example.org", "n@example.org") == new[2]
    # One line, naming the reader by id, not by the address an anonymous form typed.
    assert said == [f"signup: subscriber {before['id']} hard-bounced before; nothing sent, nothing changed"]
    listed = run_cli("subscribers", "list", env={"NEWSLETTER_DATABASE_URL": url}).stdout
    assert (
        "C@example.org                    bounced      EST5EDT 07:00  speech recognition  (-Survey)" in listed
    )


def test_a_bounced_address_uses_up_the_sign_up_limits_as_any_address_does(
    web: WebWorld, smtp: tuple[ScriptedHandler, Any]
) -> None:
    # The limits count every sign-up the same (3 an hour for one address): a bounced address that
    # never ran out would stand out from the rest.
    handler, _ = smtp
    gone = web.store.subscribers.add("gone@example.org", _prefs(), "active", NOW)
    web.store.subscribers.set_status(gone.id, "bounced", NOW)
    before = row(web.store, "gone@example.org")
    answers = {}
    for email in ("gone@example.org", "new@example.org"):
        answers[email] = [
            web.client.post("/subscribe", data=form(web, email, "graphs"), follow_redirects=False).status_code
            for _ in range(4)
        ]
    assert answers == {"gone@example.org": [303, 303, 303, 429], "new@example.org": [303, 303, 303, 429]}
    assert {r.recipient for r in handler.received} == {"new@example.org"}
    assert row(web.store, "gone@example.org") == before


def test_an_unsubscribed_reader_keeps_everything_until_the_newest_link_is_followed(
    web: WebWorld, smtp: tuple[ScriptedHandler, Any], url: str, run_cli: CliRunnerFn, clock: MovableClock
) -> None:
    handler, _ = smtp
    weekly = {"cadence": "weekly", "weekday": "4", "per_email": "30"}
    sign_up(web, BOB, "diffusion models for video", **weekly)
    first = confirm_link(handler)
    assert "You are subscribed" in press(web, first)
    bob = web.store.subscribers.by_email(BOB)
    assert bob is not None and bob.status == "active"
    one_click = {"List-Unsubscribe": "One-Click"}
    web.client.post(f"/unsubscribe/{web.svc.signer().mint('unsubscribe', bob)}", data=one_click)
    before = row(web.store, BOB)
    assert before["status"] == "unsubscribed" and before["confirmed_at"] is not None

    clock.now = NOW + timedelta(hours=1)
    tokyo = {"timezone": "Asia/Tokyo", "hour": "3"}
    answer = sign_up(web, "bob.mixed@example.org", "cooking recipes", **tokyo)
    assert answer[0] == "/sent" and "We sent a message to bob.mixed@example.org." in answer[2]
    older = confirm_link(handler)
    clock.now = NOW + timedelta(hours=2)
    sign_up(web, "BOB.MIXED@example.org", "graph neural networks\nmessage passing", **tokyo)
    newest = confirm_link(handler)
    assert handler.received[-1].recipient == BOB
    assert "on 2 topics" in handler.received[-1].parsed().get_body(("plain",)).get_content()

    # Nothing about Bob changed, wherever it is read.
    env = {"NEWSLETTER_DATABASE_URL": url}
    assert row(web.store, BOB) == before
    assert run_cli("subscribers", "list", env=env).stdout.splitlines() == [BOB_LINE]
    [listed] = [
        json.loads(line) for line in run_cli("subscribers", "list", "--json", env=env).stdout.splitlines()
    ]
    assert (listed["status"], listed["topics"], listed["timezone"], listed["per_email"]) == (
        "unsubscribed", ["diffusion models for video"], "UTC", 30
    )  # fmt: skip
    assert listed["requested_at"] == (NOW + timedelta(hours=2)).isoformat()
    assert web.store.subscribers.counts_by_status() == {"unsubscribed": 1}
    assert web.store.subscribers.schedules("active") == []
    assert web.store.subscribers.unqueued(NOW.date(), [Schedule("Asia/Tokyo", 3, "daily", 0)]) == []
    manage = web.client.get(f"/manage/{web.svc.signer().mint('manage', bob)}").text
    assert "You are unsubscribed" in manage and "diffusion models for video" in manage
    assert "cooking" not in manage and "graph neural" not in manage
    # The link from before the unsubscribe, and the link the newest sign-up replaced, subscribe no one.
    assert "Sign up again" in web.client.get(first).text and "Sign up again" in press(web, first)
    replaced = web.client.get(older)
    assert replaced.status_code == 410 and "newer sign-up replaced this link" in replaced.text
    assert "whole link was copied" not in replaced.text  # it was: a newer one took its place
    assert web.client.post(older, data={"csrftoken": web.csrf("/")}).status_code == 410
    assert row(web.store, BOB) == before
    # The newest link's page shows what it asks for, and its button makes it so.
    page = web.client.get(newest).text
    assert "<li>graph neural networks</li>" in page and 'id="confirm"' in page
    assert row(web.store, BOB) == before
    clock.now = NOW + timedelta(hours=3)
    assert "You are subscribed" in press(web, newest)
    back = web.store.subscribers.by_email(BOB)
    assert back is not None and back.request is None
    assert (back.status, back.topics, back.timezone, back.hour, back.cadence, back.per_email) == (
        "active", ("graph neural networks", "message passing"), "Asia/Tokyo", 3, "daily", 10
    )  # fmt: skip
    assert back.confirmed_at == clock.now and back.created_at == bob.created_at
    # Once used, neither link brings anything back after a later unsubscribe.
    web.client.post(f"/unsubscribe/{web.svc.signer().mint('unsubscribe', back)}", data=one_click)
    for link in (newest, older, first):
        press(web, link)
    gone = web.store.subscribers.by_email(BOB)
    assert gone is not None and gone.status == "unsubscribed" and gone.topics[0] == "graph neural networks"


def test_an_unsubscribe_drops_a_sign_up_waiting_for_its_link(
    web: WebWorld, smtp: tuple[ScriptedHandler, Any]
):
    handler, _ = smtp
    bob = web.store.subscribers.add(BOB, _prefs(), "active", NOW)
    web.store.subscribers.set_status(bob.id, "unsubscribed", NOW)
    sign_up(web, BOB, "cooking recipes")
    link = confirm_link(handler)
    # The reader presses unsubscribe in an old digest after someone signed them up: that is the newer word.
    unsubscribe = f"/unsubscribe/{web.svc.signer().mint('unsubscribe', bob)}"
    web.client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})
    assert "Sign up again" in press(web, link)
    after = web.store.subscribers.get(bob.id)
    assert after is not None and (after.status, after.topics, after.request) == (
        "unsubscribed",
        ("speech",),
        None,
    )


def test_a_sign_up_waiting_for_its_link_expires_with_it_and_prune_keeps_the_reader(
    web: WebWorld, smtp: tuple[ScriptedHandler, Any]
) -> None:
    handler, _ = smtp
    bob = web.store.subscribers.add(BOB, _prefs(), "active", NOW - timedelta(days=400))
    web.store.subscribers.set_status(bob.id, "unsubscribed", NOW - timedelta(days=300))
    sign_up(web, BOB, "cooking recipes")
    waiting = web.store.subscribers.get(bob.id)
    assert waiting is not None and waiting.request is not None
    # The same link, stamped 49 hours ago: expired, and it changes nothing.
    stale = web.svc.signer().mint("confirm", waiting, at=_real_now() - timedelta(hours=49))
    assert web.client.get(f"/confirm/{stale}").status_code == 410
    assert web.client.post(f"/confirm/{stale}", data={"csrftoken": web.csrf("/")}).status_code == 410
    assert web.store.subscribers.get(bob.id) == waiting
    # Until a prune, the sign-up waits for its link.
    assert web.store.subscribers.get(bob.id).request is not None
    # A reader who once confirmed is never a stale sign-up to prune, a waiting sign-up or not; the
    # sign-up itself, asked more than a week before its link expired, is cleared.
    before = row(web.store, BOB)
    pruned = prune(web.store, 180, NOW + timedelta(days=30))
    assert (pruned.pending, pruned.requests) == (0, 1)
    assert row(web.store, BOB) == before
    assert web.store.subscribers.get(bob.id).request is None
    assert "You are subscribed" not in press(web, confirm_link(handler))
    assert web.store.subscribers.get(bob.id).status == "unsubscribed"


def test_a_version_9_store_keeps_its_readers_and_gains_the_waiting_sign_ups(url: str) -> None:
    store = app.open_store(DatabaseSettings(url=url))
    for email, status in [("ada@example.org", "active"), (BOB, "unsubscribed"), ("c@example.org", "bounced")]:
        sub = store.subscribers.add(email, _prefs(), "active", NOW)
        store.subscribers.set_status(sub.id, status, NOW)
    store.subscribers.add("new@example.org", _prefs(), "pending", NOW)
    with store.write() as conn:  # the store as version 9 left it
        conn.execute(text("ALTER TABLE subscribers DROP COLUMN requested"))
        conn.execute(update(schema_version).values(version=9))
    version_9 = select(*[c for c in subscribers.c if c.name != "requested"]).order_by(subscribers.c.id)
    with store.read() as conn:
        old = [dict(r) for r in conn.execute(version_9).mappings()]
    store.dispose()

    store = app.open_store(DatabaseSettings(url=url))
    with store.read() as conn:
        assert conn.execute(select(schema_version.c.version)).scalar_one() == len(MIGRATIONS) == 11
        rows = [dict(r) for r in conn.execute(select(subscribers).order_by(subscribers.c.id)).mappings()]
    assert [{k: v for k, v in r.items() if k != "requested"} for r in rows] == old
    assert {r["requested"] for r in rows} == {None}
    result = request_signup(store, BOB, preferences(["graphs"], timezone="UTC", hour=3), NOW)
    assert result.mail == "confirm" and result.subscriber.request is not None
    assert row(store, BOB) == {k: v for k, v in old[1].items() if k != "requested"}
    store.dispose()
