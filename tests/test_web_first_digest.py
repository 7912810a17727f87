"""What the confirmation page says of the first digest, checked against the ticks that really queue it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter.schedule import due_subscribers
from tests.conftest import MovableClock
from tests.web_support import WebWorld, link_in, make_world

TICK = timedelta(minutes=5)  # the scheduler's delivery tick


@pytest.fixture
def confirmed(db_url, smtp) -> Iterator:
    """Sign up and confirm over HTTP at a given instant; returns the page, the world and its clock."""
    handler, controller = smtp
    worlds: list[WebWorld] = []

    def at(now: datetime, **fields: str) -> tuple[str, WebWorld, MovableClock]:
        clock = MovableClock(now)
        world = make_world(db_url, controller.port, clock=clock)
        worlds.append(world)
        data = {"email": "ada@example.org", "topics": "LLM reasoning", "hour": "7",
                "timezone": "Europe/Paris", "cadence": "daily", "weekday": "0", "per_email": "10",
                "csrftoken": world.csrf("/"), **fields}  # fmt: skip
        assert world.client.post("/subscribe", data=data).status_code == 200
        mail = [r for r in handler.received if r.recipient == "ada@example.org"][-1]
        confirm = link_in(mail.parsed().get_body(("plain",)).get_content(), "confirm")
        done = world.client.post(confirm, data={"csrftoken": world.csrf(confirm)})
        assert done.status_code == 200 and "You are subscribed" in done.text
        return done.text, world, clock

    yield at
    for world in worlds:
        world.client.close()
        world.store.dispose()


def first_queued(world: WebWorld, clock: MovableClock) -> tuple[date, datetime]:
    """The issue date and the tick at which the scheduler's own rule first finds the reader due."""
    tick = clock.now
    while tick < clock.now + timedelta(days=9):
        for day, subs in due_subscribers(world.store.subscribers, tick).items():
            if any(s.email == "ada@example.org" for s in subs):
                return day, tick
        tick += TICK
    raise AssertionError("never due")


def said(page: str) -> str:
    match = re.search(r"Your first digest arrives ([^<]*?)\.", page)
    assert match, page
    return match.group(1)


UTC_9 = {"timezone": "UTC", "hour": "9"}
LA = "America/Los_Angeles"
FRIDAYS = {"cadence": "weekly", "weekday": "4"}


@pytest.mark.parametrize(
    ("now", "fields", "says", "queued"),
    [
        # The QA report: confirmed at 14:00 UTC for 09:00 UTC: that hour has passed today.
        ("2025-03-10T14:00", UTC_9, "tomorrow at 09:00 (UTC)", "2025-03-11"),
        ("2025-03-10T08:00", UTC_9, "today at 09:00 (UTC)", "2025-03-10"),
        # Ada, at about 15:05 in Paris, for 07:00 there.
        ("2025-03-10T14:05", {}, "tomorrow at 07:00 (Europe/Paris)", "2025-03-11"),
        # 23:30 UTC is already 00:30 on the 11th in Paris: that day's 07:00 is still to come.
        ("2025-03-10T23:30", {}, "today at 07:00 (Europe/Paris)", "2025-03-11"),
        # West of UTC: 03:00 UTC on the 11th is 20:00 on the 10th in Los Angeles.
        ("2025-03-11T03:00", {"timezone": LA, "hour": "21"}, f"today at 21:00 ({LA})", "2025-03-10"),
        ("2025-03-11T03:00", {"timezone": LA}, f"tomorrow at 07:00 ({LA})", "2025-03-11"),
        # Weekly on Friday (the 10th is a Monday).
        ("2025-03-10T12:00", FRIDAYS, "on Friday at 07:00 (Europe/Paris)", "2025-03-14"),
        ("2025-03-13T12:00", FRIDAYS, "tomorrow at 07:00 (Europe/Paris)", "2025-03-14"),
        ("2025-03-14T05:00", FRIDAYS, "today at 07:00 (Europe/Paris)", "2025-03-14"),
        ("2025-03-14T10:00", FRIDAYS, "next Friday at 07:00 (Europe/Paris)", "2025-03-21"),
        # Paris leaves summer time at 03:00 on 26 October: 07:00 that day is 06:00 UTC, not 05:00.
        ("2025-10-25T06:30", {}, "tomorrow at 07:00 (Europe/Paris)", "2025-10-26"),
        ("2025-10-26T05:30", {}, "today at 07:00 (Europe/Paris)", "2025-10-26"),
        # 00:30 UTC is 02:30 summer time, after the first of that night's two 02:00s.
        ("2025-10-26T00:30", {"hour": "2"}, "tomorrow at 02:00 (Europe/Paris)", "2025-10-27"),
        # 30 March has no 02:00 in Paris: that slot comes just after the jump, at 03:00.
        ("2025-03-29T12:00", {"hour": "2"}, "tomorrow at 03:00 (Europe/Paris)", "2025-03-30"),
    ],
)
def test_the_confirmation_page_names_the_day_the_scheduler_first_sends(confirmed, now, fields, says, queued):
    page, world, clock = confirmed(datetime.fromisoformat(now).replace(tzinfo=UTC), **fields)
    assert said(page) == says
    day, tick = first_queued(world, clock)
    assert day == date.fromisoformat(queued)
    zone = ZoneInfo(fields.get("timezone", "Europe/Paris"))
    # The first tick at or after the slot finds them due: the slot's local time is the one the page gives.
    assert tick.astimezone(zone).date() == day and f"{tick.astimezone(zone):%H:%M}" in says


def test_the_confirm_link_opened_again_says_when_the_first_digest_comes_and_then_how_often(confirmed):
    _, world, clock = confirmed(datetime(2025, 3, 10, 14, 0, tzinfo=UTC), timezone="UTC", hour="9")
    sub = world.store.subscribers.by_email("ada@example.org")
    confirm = f"/confirm/{world.svc.signer().mint('confirm', sub)}"
    first = "already confirmed. Your first digest arrives tomorrow at 09:00 (UTC)."
    assert first in world.client.get(confirm).text
    clock.now = datetime(2025, 3, 11, 10, 0, tzinfo=UTC)
    again = world.client.get(confirm).text
    assert "Your digest arrives every day at 09:00 (UTC)." in again and "first digest" not in again
