"""The delivery tick under a controlled clock: time zones, DST, restarts and two schedulers at once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from newsletter import app
from newsletter.collect import last_fetch_slot
from newsletter.config import DatabaseSettings, Settings, load_settings
from newsletter.deliver.run import enqueue
from newsletter.edition import Edition
from newsletter.models import Subscriber
from newsletter.schedule import Runner, confirmed_by, due_subscribers, schedule_date
from newsletter.scrape import parse_api
from newsletter.store import Store
from newsletter.store.schema import subscribers
from newsletter.subscribers import preferences
from tests.conftest import HF_API, MovableClock

OCT = HF_API / "daily_papers_2025-10-03.json"
START = datetime(2025, 10, 31, 12, 0, tzinfo=UTC)
ZONES = {
    "kolkata@example.org": "Asia/Kolkata",
    "newyork@example.org": "America/New_York",
    "eucla@example.org": "Australia/Eucla",
}


def settings_for(db_url: str, port: int):
    return load_settings(
        None,
        {
            "NEWSLETTER_DATABASE_URL": db_url,
            "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
            "NEWSLETTER_SMTP_HOST": "127.0.0.1",
            "NEWSLETTER_SMTP_PORT": str(port),
            "NEWSLETTER_SMTP_SECURITY": "none",
            "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
            "NEWSLETTER_WEB_SECRET_KEY": "schedule-test-secret-key",
        },
    )


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


def due_date(sub: Subscriber, now: datetime) -> date | None:
    """The issue date `sub` is due by `now`, as the tick decides it: their schedule, then their join time."""
    due = schedule_date(sub.schedule, now)
    return due[0] if due is not None and confirmed_by(sub, due[1]) else None


def test_dst_edges_in_new_york_neither_twice_nor_never():
    sub = Subscriber(
        id=1, email="a@example.org", status="active", topics=("x",), excludes=(), timezone="America/New_York",
        hour=1, cadence="daily", weekday=0, per_email=3, created_at=START - timedelta(days=30),
    )  # fmt: skip
    # 01:00 happens twice on 2 Nov 2025 (EDT then EST): both instants belong to the same issue date.
    first = datetime(2025, 11, 2, 5, 0, tzinfo=UTC)
    second = datetime(2025, 11, 2, 6, 0, tzinfo=UTC)
    assert due_date(sub, first) == due_date(sub, second) == date(2025, 11, 2)
    # 02:00 does not exist on 9 Mar 2025: the reader is due from the jump (03:00 EDT = 07:00 UTC);
    # until then, the 8th's issue is still the one due.
    two = Subscriber(**{f: getattr(sub, f) for f in sub.__slots__ if f != "hour"}, hour=2)
    assert due_date(two, datetime(2025, 3, 9, 6, 55, tzinfo=UTC)) == date(2025, 3, 8)
    assert due_date(two, datetime(2025, 3, 9, 7, 0, tzinfo=UTC)) == date(2025, 3, 9)


def test_weekly_readers_get_theirs_on_their_weekday():
    weekly = Subscriber(
        id=1, email="w@example.org", status="active", topics=("x",), excludes=(), timezone="Europe/Paris",
        hour=8, cadence="weekly", weekday=4, per_email=3, created_at=START - timedelta(days=30),
    )  # fmt: skip
    friday = datetime(2025, 10, 31, 7, 30, tzinfo=UTC)  # 08:30 in Paris, a Friday
    assert due_date(weekly, friday) == date(2025, 10, 31)
    assert due_date(weekly, friday + timedelta(days=1)) is None


def test_a_reader_who_joins_after_todays_slot_starts_tomorrow():
    sub = Subscriber(
        id=1, email="n@example.org", status="active", topics=("x",), excludes=(), timezone="UTC",
        hour=7, cadence="daily", weekday=0, per_email=3, created_at=START,
        confirmed_at=datetime(2025, 10, 31, 9, 0, tzinfo=UTC),
    )  # fmt: skip
    assert due_date(sub, datetime(2025, 10, 31, 12, 0, tzinfo=UTC)) is None
    assert due_date(sub, datetime(2025, 11, 1, 7, 0, tzinfo=UTC)) == date(2025, 11, 1)


def due_readers_scenario(store: Store, settings: Settings) -> None:
    """The tick's query finds exactly the readers who are due and not yet queued, on any database."""
    friday = datetime(2025, 10, 31, 12, 0, tzinfo=UTC)
    listings = parse_api(OCT.read_text()).listings
    with store.write() as conn:
        store.papers.upsert(conn, [(li.paper, friday.date()) for li in listings], "hf-api", friday)
    # After Thursday's slots, so no one is still due Thursday's issue (a reader is due each issue
    # until their next slot, and this store has no row for Thursday).
    joined = friday - timedelta(hours=18)

    def add(email: str, zone: str, status: str = "active", confirmed: datetime = joined, **prefs) -> int:
        chosen = preferences(["LLM reasoning"], timezone=zone, **{"hour": 7, **prefs})
        sub = store.subscribers.add(email, chosen, "pending", joined)
        if status == "active":
            store.subscribers.set_status(sub.id, status, confirmed)
        return sub.id

    kolkata = add("kolkata@example.org", "Asia/Kolkata")  # 17:30 on Friday there: due
    newyork = add("newyork@example.org", "America/New_York")  # 08:00 there: due
    friday_paris = add("fri@example.org", "Europe/Paris", cadence="weekly", weekday="fri", hour=8)
    add("mon@example.org", "Europe/Paris", cadence="weekly", weekday="mon", hour=8)  # not its weekday
    add("later@example.org", "UTC", hour=13)  # an hour early
    add("pending@example.org", "UTC", status="pending")
    add("late@example.org", "UTC", confirmed=friday - timedelta(hours=1))  # after 07:00: from tomorrow
    add("kiritimati@example.org", "Pacific/Kiritimati")  # 02:00 on Saturday there: not yet
    saturday = add("early@example.org", "Pacific/Kiritimati", hour=1)  # due, for Saturday's issue

    def due() -> dict[date, list[str]]:
        readers = due_subscribers(store.subscribers, friday)
        return {day: [sub.email for sub in subs] for day, subs in readers.items()}

    found = due()
    assert found == {
        friday.date(): ["kolkata@example.org", "newyork@example.org", "fri@example.org"],
        date(2025, 11, 1): ["early@example.org"],
    }
    # Once a reader is queued for the issue, the next tick no longer reads them.
    edition = Edition.open(store, settings, friday.date(), friday, freeze=True)
    subs = {s.id: s for s in store.subscribers.listed()}
    enqueue(edition, [subs[kolkata]], friday)
    assert due() == {
        friday.date(): ["newyork@example.org", "fri@example.org"],
        date(2025, 11, 1): ["early@example.org"],
    }
    enqueue(edition, [subs[newyork], subs[friday_paris]], friday)
    assert due() == {date(2025, 11, 1): ["early@example.org"]}
    # A row for Friday's issue does not count for Saturday's.
    enqueue(edition, [subs[saturday]], friday)
    assert due() == {date(2025, 11, 1): ["early@example.org"]}
    # However many schedules, the query is cut into batches that each return their readers.
    schedules = store.subscribers.schedules("active")
    assert len(schedules) == 8  # one per active reader here
    assert len(store.subscribers.unqueued(date(2025, 11, 2), schedules, batch=3)) == 8


def test_a_tick_reads_only_readers_who_are_due_and_not_queued(db_url):
    store = app.open_store(DatabaseSettings(url=db_url))
    try:
        due_readers_scenario(store, settings_for(db_url, 25))
    finally:
        store.dispose()


def test_a_zone_the_system_no_longer_knows_is_logged_and_skips_only_its_readers(db_url, caplog):
    store = app.open_store(DatabaseSettings(url=db_url))
    try:
        for email in ("kept@example.org", "lost@example.org"):
            store.subscribers.add(email, preferences(["agents"], timezone="UTC", hour=7), "active", START)
        # As if the zone had vanished from the time zone data after the reader signed up.
        with store.write() as conn:
            conn.execute(
                subscribers.update()
                .where(subscribers.c.email == "lost@example.org")
                .values(timezone="Mars/Base")
            )
        due = due_subscribers(store.subscribers, START + timedelta(days=1))
    finally:
        store.dispose()
    assert {day: [s.email for s in subs] for day, subs in due.items()} == {
        date(2025, 11, 1): ["kept@example.org"]
    }
    assert "unknown time zone 'Mars/Base'" in caplog.text


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


def test_missed_fetch_slot_is_found_after_a_restart():
    now = datetime(2025, 11, 1, 6, 0, 5, tzinfo=UTC)
    assert last_fetch_slot(now, ["06:00", "18:00"]) == datetime(2025, 11, 1, 6, 0, tzinfo=UTC)
    assert last_fetch_slot(datetime(2025, 11, 1, 5, 0, tzinfo=UTC), ["06:00", "18:00"]) == datetime(
        2025, 10, 31, 18, 0, tzinfo=UTC
    )


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
