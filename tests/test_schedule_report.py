"""What the delivery tick's line tells the operator: every reader it queued is accounted for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsletter import app
from newsletter.config import DatabaseSettings, load_settings
from newsletter.schedule import Runner
from newsletter.scrape import parse_api
from newsletter.subscribers import preferences
from newsletter.timetable import build_scheduler
from tests.conftest import HF_API, MovableClock

MORNING = datetime(2026, 11, 24, 7, 0, tzinfo=UTC)


def test_the_tick_line_counts_the_readers_queued_without_an_email(db_url, tmp_path):
    store = app.open_store(DatabaseSettings(url=db_url))
    listings = parse_api((HF_API / "daily_papers_2025-10-03.json").read_text()).listings
    with store.write() as conn:
        store.papers.upsert(conn, [(li.paper, MORNING.date()) for li in listings], "hf-api", MORNING)
        store.papers.record_fetch(conn, MORNING, MORNING, None, "hf-api")
    joined = MORNING - timedelta(hours=12)
    for email, topic in [("agents@example.org", "agents"), ("coral@example.org", "coral reef ecology")]:
        store.subscribers.add(email, preferences([topic], timezone="UTC", hour=7), "active", joined)
    settings = load_settings(
        None,
        {
            "NEWSLETTER_DATABASE_URL": db_url,
            "NEWSLETTER_DELIVERY_OUTBOX": str(tmp_path / "outbox"),
            "NEWSLETTER_WEB_SECRET_KEY": "tick-report-secret-key",
            "NEWSLETTER_ISSUE_EMPTY_DAY": "skip",
        },
    )
    svc = app.build_services(settings, store, clock=MovableClock(MORNING))
    report = Runner(svc, fetch=lambda: None).tick()
    store.dispose()
    assert report is not None and report.queued == 2
    # Two queued and one sent: the line says where the other one went.
    assert report.line() == (
        "tick: 2 queued (1 without an email: nothing on their topics), "
        "1 sent, 0 deferred, 0 failed, 0 skipped"
    )


def test_a_store_outage_is_one_line_per_job_and_the_next_run_goes_on(db_url, tmp_path, caplog):
    # `run` keeps going through a database outage: each job said so with a multi-screen traceback
    # from APScheduler (six in 25 seconds); now one line each, and the jobs run again after it.
    path = tmp_path / "outage.db"
    url = f"sqlite:///{path}"
    store = app.open_store(DatabaseSettings(url=url))
    settings = load_settings(
        None, {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_WEB_SECRET_KEY": "outage-test-secret-key"}
    )
    svc = app.build_services(settings, store, clock=MovableClock(MORNING))
    runner = Runner(svc, fetch=lambda: None)
    scheduler = build_scheduler(runner)
    jobs = [scheduler.get_job(name).func for name in ("lease", "delivery-tick", "fetch-06:00")]
    store.engine.dispose()  # its connections closed, the whole database is in the one file
    healthy = path.read_bytes()
    path.write_bytes(b"not a database, as a disk or server gone wrong reads" * 100)
    for job in jobs:
        assert job() is None  # no exception for APScheduler to print
    outages = [r for r in caplog.records if "store unreachable" in r.getMessage()]
    assert len(outages) == 3 and all(r.exc_info is None for r in outages)
    assert "DatabaseError: (sqlite3.DatabaseError) file is not a database" in outages[0].getMessage()
    store.engine.dispose()
    path.write_bytes(healthy)
    assert jobs[0]() is True  # the lease job holds the lease again
    store.dispose()
