"""The tick after downtime or a wait for papers that crossed the reader's local midnight."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from apscheduler.events import EVENT_JOB_MISSED, JobExecutionEvent

from newsletter import app
from newsletter.config import DatabaseSettings, load_settings
from newsletter.models import Schedule
from newsletter.schedule import Runner, due_subscribers, schedule_date
from newsletter.scrape import parse_api
from newsletter.store import Store
from newsletter.subscribers import preferences
from tests.conftest import HF_API, MovableClock

LISTINGS = parse_api((HF_API / "daily_papers_2025-10-03.json").read_text()).listings
START = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def scheduler(db_url: str, tmp: str, clock: MovableClock, sources_up: Callable[[datetime], bool]) -> Runner:
    """A Runner whose fetch, while the sources are up, lists 7 fixture papers under the day it runs."""
    settings = load_settings(
        None,
        {
            "NEWSLETTER_DATABASE_URL": db_url,
            "NEWSLETTER_DELIVERY_OUTBOX": f"{tmp}/outbox",
            "NEWSLETTER_WEB_SECRET_KEY": "catch-up-test-secret-key",
        },
    )
    store = app.open_store(DatabaseSettings(url=db_url))
    svc = app.build_services(settings, store, clock=clock)

    def fetch() -> None:
        now = clock()
        with store.write() as conn:
            if not sources_up(now):
                store.papers.record_fetch(conn, now, now, None, "hf-trending", error="unreachable")
                return
            # A new slice each day, so every day's issue has papers the day before's lacked.
            part = now.toordinal() % 5
            items = [(li.paper, now.date()) for li in LISTINGS[part * 7 : part * 7 + 7]]
            store.papers.upsert(conn, items, "hf-trending", now)
            store.papers.record_fetch(conn, now, now, None, "hf-trending")

    return Runner(svc, fetch=fetch)


def tick_until(runner: Runner, clock: MovableClock, until: datetime) -> None:
    """A tick every 5 minutes and the fetches at 06:00 and 18:00 UTC, as `run` schedules them."""
    while clock.now < until:
        if (clock.now.hour, clock.now.minute) in ((6, 0), (18, 0)):
            runner.fetch_job()
        runner.tick()
        clock.now += timedelta(minutes=5)


def issues_sent(store: Store) -> dict[str, list[date]]:
    """Each reader's sent issue dates, oldest first."""
    return {
        sub.email: sorted(d.issue_date for d in store.history.digests_for(sub.id, 50) if d.status == "sent")
        for sub in store.subscribers.listed()
    }


def test_a_missed_issue_is_due_until_the_readers_next_slot():
    weekly = Schedule("Europe/Paris", 8, "weekly", 4)  # Fridays at 08:00
    saturday = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)  # 07:00 in Paris
    assert schedule_date(weekly, saturday) == (date(2026, 11, 27), datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    assert schedule_date(weekly, saturday + timedelta(hours=1)) is None  # Saturday's slot: not theirs
    # 02:00 does not exist in Berlin on 29 March 2026: the 28th's issue is due until the jump.
    berlin = Schedule("Europe/Berlin", 2, "daily", 0)
    due = [schedule_date(berlin, datetime(2026, 3, 29, 0, m, tzinfo=UTC)) for m in (30, 59)]
    assert [d[0] if d else None for d in due] == [date(2026, 3, 28), date(2026, 3, 28)]
    jump = schedule_date(berlin, datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert jump is not None and jump[0] == date(2026, 3, 29)
    assert jump[1].astimezone(UTC) == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)  # 03:00 CEST


def add_readers(db_url: str, readers: list[tuple[str, str, int]]) -> Store:
    """A store with these (email, zone, hour) readers, confirmed two days before the test starts."""
    store = app.open_store(DatabaseSettings(url=db_url))
    for email, zone, hour in readers:
        prefs = preferences(["LLM reasoning", "agents"], timezone=zone, hour=hour, per_email=3)
        store.subscribers.add(email, prefs, "active", START - timedelta(days=2))
    return store


def test_a_restart_across_the_readers_midnight_sends_the_missed_issue_late(db_url, tmp_path):
    store = add_readers(
        db_url, [("late-evening@example.org", "UTC", 23), ("kathmandu@example.org", "Asia/Kathmandu", 7)]
    )
    clock = MovableClock(START)
    first = scheduler(db_url, str(tmp_path), clock, lambda now: True)
    first.fetch()
    tick_until(first, clock, datetime(2026, 11, 25, 22, 50, tzinfo=UTC))
    # The process dies at 22:50 UTC, before the 23:00 reader's slot, and is back 80 minutes later.
    clock.now = datetime(2026, 11, 26, 0, 10, tzinfo=UTC)
    restarted = scheduler(db_url, str(tmp_path), clock, lambda now: True)
    tick_until(restarted, clock, datetime(2026, 11, 27, 12, 0, tzinfo=UTC))
    sent = issues_sent(store)
    store.dispose()
    days = [date(2026, 11, 23) + timedelta(days=n) for n in range(5)]
    assert sent["late-evening@example.org"] == days[:4]  # the 25th's went out at 00:10 on the 26th
    assert sent["kathmandu@example.org"] == days  # its 07:00 is 01:15 UTC: unaffected


def test_an_issue_waiting_for_papers_past_the_readers_midnight_still_goes_out(db_url, tmp_path):
    store = add_readers(
        db_url,
        [
            ("utc@example.org", "UTC", 7),
            ("st-johns@example.org", "America/St_Johns", 7),
            ("kathmandu@example.org", "Asia/Kathmandu", 7),
        ],
    )
    # on_stale = "late": the issue of the 26th waits from Kathmandu's 07:00 (01:15 UTC) while the
    # sources are down, and goes out once they are back, after the readers' local midnight.
    down = (datetime(2026, 11, 25, 0, 0, tzinfo=UTC), datetime(2026, 11, 27, 5, 0, tzinfo=UTC))
    clock = MovableClock(START)
    runner = scheduler(db_url, str(tmp_path), clock, lambda now: not down[0] <= now < down[1])
    runner.fetch()
    tick_until(runner, clock, datetime(2026, 11, 28, 0, 0, tzinfo=UTC))
    sent = issues_sent(store)
    store.dispose()
    days = [date(2026, 11, 23) + timedelta(days=n) for n in range(5)]
    # 05:00 UTC on the 27th: the 26th for UTC and St John's, whose 27th comes after it.
    assert sent["utc@example.org"] == days
    assert sent["st-johns@example.org"] == days
    # Kathmandu's 07:00 on the 27th came while the sources were down: the 27th replaces the 26th.
    assert sent["kathmandu@example.org"] == [*days[:3], days[4]]


def todays_papers_in_issue(store: Store, day: date) -> int:
    """How many papers of the issue of `day`'s frozen pool were listed on `day` itself."""
    issue = store.issues.find_issue(day)
    assert issue is not None
    return sum(p.listed_on == day for p in store.issues.snapshot(issue))


def test_a_scheduler_that_takes_over_runs_the_fetch_the_dead_one_missed_before_queueing(
    db_url, tmp_path, caplog
):
    caplog.set_level(logging.INFO, logger="newsletter")
    store = add_readers(db_url, [("utc@example.org", "UTC", 7)])
    clock = MovableClock(datetime(2026, 11, 25, 18, 0, tzinfo=UTC))
    first = scheduler(db_url, str(tmp_path), clock, lambda now: True)
    standby = scheduler(db_url, str(tmp_path), clock, lambda now: True)
    first.fetch_job()
    assert standby.tick() is None  # standing by
    clock.now = datetime(2026, 11, 26, 5, 59, 30, tzinfo=UTC)
    assert first.holds_lease()  # its last renewal: it dies right after, holding the lease
    clock.now = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    assert standby.fetch_job() is None  # the lease is still the dead scheduler's
    clock.now = datetime(2026, 11, 26, 6, 1, tzinfo=UTC)
    assert standby.holds_lease()  # expired: taken over
    assert f"schedule: {standby.holder} took over the scheduler lease" in caplog.text
    clock.now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    report = standby.tick()
    assert report is not None and report.sent == 1
    # The 06:00 fetch ran before the issue froze, so it carries the 26th's papers.
    assert "schedule: the fetch of 2026-11-26 06:00 UTC was missed; fetching now" in caplog.text
    assert todays_papers_in_issue(store, date(2026, 11, 26)) == 7
    store.dispose()


def test_the_first_tick_after_a_restart_fetches_what_was_missed_before_it_queues(db_url, tmp_path):
    store = add_readers(db_url, [("utc@example.org", "UTC", 7)])
    clock = MovableClock(datetime(2026, 11, 25, 18, 0, tzinfo=UTC))
    scheduler(db_url, str(tmp_path), clock, lambda now: True).fetch_job()
    # Down from 18:05 until 07:02: the 06:00 fetch was missed. The first tick runs at start, with
    # the catch-up fetch, and must not freeze the issue before that fetch is in.
    clock.now = datetime(2026, 11, 26, 7, 2, tzinfo=UTC)
    report = scheduler(db_url, str(tmp_path), clock, lambda now: True).tick()
    assert report is not None and report.sent == 1
    assert todays_papers_in_issue(store, date(2026, 11, 26)) == 7
    store.dispose()


def test_a_fetch_time_the_scheduler_missed_while_running_is_caught_up_by_the_next_tick(db_url, tmp_path):
    store = add_readers(db_url, [("utc@example.org", "UTC", 7)])
    clock = MovableClock(datetime(2026, 11, 25, 18, 0, tzinfo=UTC))
    runner = scheduler(db_url, str(tmp_path), clock, lambda now: True)
    runner.fetch_job()
    clock.now = datetime(2026, 11, 26, 5, 55, tzinfo=UTC)
    assert runner.tick() is not None
    # The process stalls (a suspended machine) past 06:00 and its misfire grace: APScheduler drops
    # the 06:00 fetch job, and says so. The lease is still its own when it wakes.
    clock.now = datetime(2026, 11, 26, 6, 20, tzinfo=UTC)
    assert runner.tick() is not None
    assert store.papers.last_success() < datetime(
        2026, 11, 26, 6, 0, tzinfo=UTC
    )  # a plain tick does not fetch
    six = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    runner.job_missed(JobExecutionEvent(EVENT_JOB_MISSED, "fetch-06:00", "default", six))
    clock.now += timedelta(minutes=5)
    assert runner.tick() is not None
    assert store.papers.last_success() == clock.now
    clock.now = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
    assert runner.tick() is not None
    assert todays_papers_in_issue(store, date(2026, 11, 26)) == 7
    store.dispose()


def test_only_an_issue_that_had_started_is_caught_up_after_the_readers_midnight(db_url):
    # A first install at 05:00 UTC: no scheduler ran yesterday, so its UTC reader waits for today's
    # issue at 07:00 and gets no row for yesterday's.
    store = add_readers(db_url, [("utc@example.org", "UTC", 7)])
    before_seven = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    assert due_subscribers(store.subscribers, before_seven) == {}
    due = due_subscribers(store.subscribers, before_seven, started=lambda day: day == date(2026, 11, 25))
    assert [(day, [s.email for s in subs]) for day, subs in due.items()] == [
        (date(2026, 11, 25), ["utc@example.org"])
    ]
    store.dispose()


def test_a_reader_back_after_unsubscribing_starts_from_their_next_slot(db_url):
    # Confirmed in 2025, unsubscribed on the 22nd, signed up again and confirmed on the 25th at
    # 09:00, after their 07:00: as for a new reader, the first digest is the 26th's. With the first
    # confirmation kept, the 25th's issue (and the 24th's, had it started) went out at once.
    store = app.open_store(DatabaseSettings(url=db_url))
    prefs = preferences(["LLM reasoning"], timezone="UTC", hour=7)
    sub = store.subscribers.add("back@example.org", prefs, "pending", START - timedelta(days=400))
    store.subscribers.set_status(sub.id, "active", START - timedelta(days=400))
    store.subscribers.set_status(sub.id, "unsubscribed", START - timedelta(days=1))
    store.subscribers.set_status(sub.id, "pending", START + timedelta(days=2, hours=-3))
    store.subscribers.set_status(sub.id, "active", START + timedelta(days=2, hours=-3))
    found = [due_subscribers(store.subscribers, START + timedelta(days=d, hours=-2)) for d in (2, 3)]
    store.dispose()
    assert found[0] == {}
    assert [s.email for s in found[1][date(2026, 11, 26)]] == ["back@example.org"]


def test_issue_says_an_issue_is_waiting_for_papers_and_since_when(db_url, tmp_path, run_cli):
    store = add_readers(db_url, [("utc@example.org", "UTC", 7)])
    store.dispose()
    down_from = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # the fetches after the 24th's issue fail
    clock = MovableClock(START)
    runner = scheduler(db_url, str(tmp_path), clock, lambda now: now < down_from)
    runner.fetch()
    tick_until(runner, clock, datetime(2026, 11, 25, 9, 0, tzinfo=UTC))
    shown = run_cli("issue", "--date", "2026-11-25").stdout.splitlines()[0]
    # It said "not started", as for an issue nobody had asked for yet.
    assert shown.startswith("issue 2026-11-25: waiting for fresh papers since 2026-11-25 07:00 UTC; so far ")
    assert run_cli("issue", "--date", "2026-11-24").stdout.startswith("issue 2026-11-24: frozen at ")
