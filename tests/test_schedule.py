"""Who the delivery tick finds due, and for which issue: DST edges, a weekly reader's weekday, a reader
confirmed after today's slot, the query for readers due and not yet queued (test_postgres.py runs it on
PostgreSQL too), a zone the system no longer knows, and the fetch slot missed before a restart.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from newsletter import app
from newsletter.collect import last_fetch_slot
from newsletter.config import DatabaseSettings, Settings
from newsletter.deliver.run import enqueue
from newsletter.edition import Edition
from newsletter.models import Subscriber
from newsletter.schedule import confirmed_by, due_subscribers, schedule_date
from newsletter.scrape import parse_api
from newsletter.store import Store
from newsletter.store.schema import subscribers
from newsletter.subscribers import preferences
from tests.schedule_support import OCT, START, settings_for


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


def test_missed_fetch_slot_is_found_after_a_restart():
    now = datetime(2025, 11, 1, 6, 0, 5, tzinfo=UTC)
    assert last_fetch_slot(now, ["06:00", "18:00"]) == datetime(2025, 11, 1, 6, 0, tzinfo=UTC)
    assert last_fetch_slot(datetime(2025, 11, 1, 5, 0, tzinfo=UTC), ["06:00", "18:00"]) == datetime(
        2025, 10, 31, 18, 0, tzinfo=UTC
    )
