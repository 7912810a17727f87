"""The scheduler running under a controlled clock, with a loopback relay: each zone gets one email each local
morning across DST, a restart in the middle of the day and two schedulers at once (with the lease or
without it) send nothing twice, a stale lease is taken over, and a tick of a stopping service starts no send.
"""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.schedule import Runner
from newsletter.scrape import parse_api
from newsletter.subscribers import preferences
from tests.conftest import MovableClock
from tests.schedule_support import OCT, START, settings_for

ZONES = {
    "kolkata@example.org": "Asia/Kolkata",
    "newyork@example.org": "America/New_York",
    "eucla@example.org": "Australia/Eucla",
}


def runner_for(db_url: str, port: int, clock: MovableClock) -> Runner:
    settings = settings_for(db_url, port)
    store = app.open_store(DatabaseSettings(url=db_url))
    svc = app.build_services(settings, store, clock=clock)

    def fetch() -> None:
        # The papers are in the store already; what the scheduler needs is a fetch that succeeded.
        with store.write() as conn:
            store.papers.record_fetch(conn, clock(), clock(), None, "hf-trending")

    return Runner(svc, fetch=fetch)


@pytest.fixture
def world(db_url, smtp):
    """A store with papers listed on every day of the test, and three readers around the world."""
    handler, controller = smtp
    store = app.open_store(DatabaseSettings(url=db_url))
    listings = parse_api(OCT.read_text()).listings
    day = START.date() - timedelta(days=1)
    while day <= date(2025, 11, 5):
        with store.write() as conn:
            store.papers.upsert(conn, [(li.paper, day) for li in listings], "hf-api", START)
        day += timedelta(days=1)
    for email, zone in ZONES.items():
        prefs = preferences(
            ["video generation", "LLM reasoning", "agents"], timezone=zone, hour=7, per_email=3
        )
        store.subscribers.add(email, prefs, "active", START)  # confirmed now: first digest next morning
    store.dispose()
    return handler, controller


END = datetime(2025, 11, 4, 12, 0, tzinfo=UTC)


def mornings_between(zone: str, start: datetime, end: datetime) -> list[date]:
    """Local dates whose 07:00 falls in [start, end)."""
    tz = ZoneInfo(zone)
    day, found = start.astimezone(tz).date() - timedelta(days=1), []
    while day <= end.astimezone(tz).date():
        if start <= datetime.combine(day, time(7), tzinfo=tz) < end:
            found.append(day)
        day += timedelta(days=1)
    return found


def run_ticks(runners: list[Runner], clock: MovableClock, until: datetime, parallel: bool = False) -> None:
    while clock.now < until:
        if (clock.now.hour, clock.now.minute) in ((6, 0), (18, 0)):
            for r in runners:
                r.fetch_job()
        if parallel:
            threads = [threading.Thread(target=r.tick) for r in runners]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        else:
            for r in runners:
                r.tick()
        clock.now += timedelta(minutes=5)


def sends_by_local_date(db_url: str) -> dict[str, list[tuple[date, datetime]]]:
    """Each reader's sent digests: (issue date, local send time), from the ledger."""
    store = app.open_store(DatabaseSettings(url=db_url))
    result: dict[str, list[tuple[date, datetime]]] = {}
    try:
        for sub in store.subscribers.listed():
            rows = store.history.digests_for(sub.id, 50)
            result[sub.email] = sorted(
                (d.issue_date, d.sent_at.astimezone(ZoneInfo(ZONES[sub.email])))
                for d in rows
                if d.status == "sent" and d.sent_at is not None
            )
    finally:
        store.dispose()
    return result


def test_each_zone_gets_exactly_one_email_each_local_morning_across_dst(world, db_url):
    handler, controller = world
    clock = MovableClock(START)
    runner = runner_for(db_url, controller.port, clock)
    # New York leaves daylight saving at 06:00 UTC on Sunday 2 November 2025.
    run_ticks([runner], clock, END)
    sends = sends_by_local_date(db_url)
    for email, zone in ZONES.items():
        days = [d for d, _ in sends[email]]
        assert len(days) == len(set(days)), f"{email} got an issue twice: {days}"
        for issue_date, local in sends[email]:
            assert local.date() == issue_date
            # Sent on the first tick after 07:00 local: 07:00-07:04, whatever the offset (+5:30, +8:45, DST).
            assert (local.hour, local.minute // 5) == (7, 0), (email, local)
        assert days == mornings_between(zone, START, END), (email, days)
    counts = Counter(r.recipient for r in handler.received)
    assert counts == Counter({email: len(sends[email]) for email in ZONES})
    print("sends per reader:", dict(counts))


def test_a_restart_in_the_middle_of_the_day_sends_nothing_twice(world, db_url):
    handler, controller = world
    clock = MovableClock(START)
    first = runner_for(db_url, controller.port, clock)
    run_ticks([first], clock, datetime(2025, 11, 1, 2, 3, tzinfo=UTC))  # Kolkata and Eucla have had theirs
    assert len(handler.received) >= 2
    # The process dies without releasing its lease; a new one starts.
    restarted = runner_for(db_url, controller.port, clock)
    clock.now += timedelta(minutes=2)
    run_ticks([restarted], clock, datetime(2025, 11, 2, 0, 0, tzinfo=UTC))
    pairs = Counter((r.recipient, r.message_id) for r in handler.received)
    assert all(n == 1 for n in pairs.values()), pairs
    assert {r for r, _ in pairs} == set(ZONES)


def test_two_schedulers_on_one_database_send_nothing_twice(world, db_url):
    handler, controller = world
    clock = MovableClock(START)
    one = runner_for(db_url, controller.port, clock)
    two = runner_for(db_url, controller.port, clock)
    run_ticks([one, two], clock, datetime(2025, 11, 2, 13, 0, tzinfo=UTC), parallel=True)
    pairs = Counter((r.recipient, r.message_id) for r in handler.received)
    assert pairs and all(n == 1 for n in pairs.values()), pairs
    assert len(pairs) == 6  # two mornings for each of three readers


def test_two_schedulers_without_the_lease_still_send_nothing_twice(world, db_url):
    # The lease keeps one scheduler active; the ledger alone must already prevent duplicates.
    handler, controller = world
    clock = MovableClock(datetime(2025, 11, 1, 1, 0, tzinfo=UTC))
    one = runner_for(db_url, controller.port, clock)
    two = runner_for(db_url, controller.port, clock)
    from newsletter.schedule import delivery_tick

    while clock.now < datetime(2025, 11, 1, 13, 0, tzinfo=UTC):
        threads = [
            threading.Thread(target=delivery_tick, args=(r.svc, r.alerter, r.holder)) for r in (one, two)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        clock.now += timedelta(minutes=5)
    pairs = Counter((r.recipient, r.message_id) for r in handler.received)
    assert len(pairs) == 3 and all(n == 1 for n in pairs.values()), pairs


def test_lease_is_taken_over_when_stale(db_url):
    store = app.open_store(DatabaseSettings(url=db_url))
    now = START
    assert store.leases.acquire("scheduler", "a", now, 60)
    assert not store.leases.acquire("scheduler", "b", now + timedelta(seconds=30), 60)
    assert store.leases.acquire("scheduler", "a", now + timedelta(seconds=30), 60)  # renewal
    assert store.leases.acquire("scheduler", "b", now + timedelta(seconds=91), 60)  # a went quiet
    assert store.leases.holder("scheduler", now + timedelta(seconds=92)) == "b"
    store.dispose()


def test_a_tick_of_a_stopping_service_starts_no_send_and_raises_no_alert(world, db_url, caplog):
    handler, controller = world
    clock = MovableClock(datetime(2025, 11, 1, 1, 35, tzinfo=UTC))  # past 07:00 in Kolkata and Eucla
    runner = runner_for(db_url, controller.port, clock)
    runner.svc.stopping.set()  # as SIGTERM does while the tick runs
    report = runner.tick()
    assert report is not None and report.queued == 2
    assert handler.received == []
    stopped = "the process is stopping; the rest waits for the next run"
    assert [s.stopped for s in report.summaries] == [stopped]
    assert report.line().endswith(f"0 sent, 0 deferred, 0 failed, 0 skipped; stopped: {stopped}")
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no "sending stopped" alert
    # The next process sends both at once: nothing was left claimed.
    clock.now += timedelta(minutes=5)
    assert runner_for(db_url, controller.port, clock).tick() is not None
    assert sorted(r.recipient for r in handler.received) == ["eucla@example.org", "kolkata@example.org"]
