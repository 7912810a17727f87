"""The source down for the whole morning: the issue waits (never empty, never stale), the operator
is alerted once, and the digest goes out late or is skipped, as configured."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import httpx

from newsletter import app
from newsletter.collect import run_fetch
from newsletter.config import DatabaseSettings, load_settings
from newsletter.schedule import Runner
from newsletter.subscribers import preferences
from tests.conftest import HF_API, MovableClock
from tests.faults.support import report, smtp_env
from tests.scripted_http import ScriptedHttp, ok, status

API_DAY = (HF_API / "daily_papers_2025-10-03.json").read_text()
START = datetime(2025, 10, 2, 5, 55, tzinfo=UTC)
# The source goes down after the morning fetch of 2 Oct: the evening fetch and the next morning's
# fail too, so at 07:00 on 3 Oct nothing new has been fetched since the issue of 2 Oct.
BACK = datetime(2025, 10, 3, 10, 0, tzinfo=UTC)
END = datetime(2025, 10, 3, 12, 0, tzinfo=UTC)
DOWN = (datetime(2025, 10, 2, 12, 0, tzinfo=UTC), BACK)
READERS = ["ana@example.org", "ben@example.org", "cai@example.org"]


def world(db_url, port, clock, **extra):
    def api(request: httpx.Request) -> httpx.Response:
        if DOWN[0] <= clock.now < DOWN[1]:
            return status(503)
        return ok(API_DAY, "application/json")

    net = ScriptedHttp({"/api/daily_papers": [api]})
    env = smtp_env(
        db_url,
        port,
        NEWSLETTER_SOURCES_ENABLED="hf-api",
        NEWSLETTER_SOURCES_RETRIES="1",
        NEWSLETTER_SOURCES_BACKOFF_S="0.01",
        NEWSLETTER_DELIVERY_ADMIN_EMAIL="ops@example.org",
        **extra,
    )
    settings = load_settings(None, env)
    store = app.open_store(DatabaseSettings(url=db_url))
    for email in READERS:
        prefs = preferences(["video generation", "agents", "reasoning"], timezone="UTC", hour=7, per_email=3)
        store.subscribers.add(email, prefs, "active", START - timedelta(days=3))
    svc = app.build_services(settings, store, clock=clock, http_transport=net.transport)
    return Runner(svc, fetch=lambda: run_fetch(svc)), store


def run_morning(runner: Runner, clock: MovableClock) -> None:
    while clock.now < END:
        if (clock.now.hour, clock.now.minute) in ((6, 0), (18, 0)):
            runner.fetch_job()
        runner.tick()
        clock.now += timedelta(minutes=5)


def sent_on(store, day: date) -> dict[str, datetime]:
    issue = store.issues.find_issue(day)
    if issue is None:
        return {}
    found = {}
    for sub in store.subscribers.listed():
        for row in store.ledger.deliveries_of(issue, sub.id):
            if row.status == "sent":
                found[sub.email] = next(
                    d.sent_at for d in store.history.digests_for(sub.id, 5) if d.issue_date == day
                )
    return found


def test_source_down_all_morning_sends_late_and_alerts_once(db_url, smtp, caplog, capsys):
    handler, controller = smtp
    clock = MovableClock(START)
    runner, store = world(db_url, controller.port, clock)
    with caplog.at_level(logging.ERROR):
        run_morning(runner, clock)
    yesterday = sent_on(store, date(2025, 10, 2))
    today = sent_on(store, date(2025, 10, 3))
    alerts = [r for r in handler.received if r.recipient == "ops@example.org"]
    digests = Counter(r.recipient for r in handler.received if r.recipient != "ops@example.org")
    report(
        capsys,
        f"source down 2 Oct 12:00 to 3 Oct 10:00: digests {dict(digests)}, sent late at "
        f"{sorted({t.strftime('%H:%M') for t in today.values()})}, alerts {len(alerts)}",
    )
    assert set(yesterday) == set(READERS)
    # Nothing went out while the source was down, stale or empty; everything went out once it was back.
    assert set(today) == set(READERS)
    assert all(BACK <= sent < BACK + timedelta(minutes=10) for sent in today.values())
    assert digests == Counter({email: 2 for email in READERS})
    # The operator heard about it once: one ERROR line and one email.
    assert len(alerts) == 1 and "waiting for papers" in alerts[0].parsed()["Subject"]
    assert len([r for r in caplog.records if r.getMessage().startswith("alert:")]) == 1
    store.dispose()


def test_source_down_past_the_deadline_skips_the_day_when_configured(db_url, smtp, capsys):
    handler, controller = smtp
    clock = MovableClock(START)
    runner, store = world(
        db_url, controller.port, clock, NEWSLETTER_ISSUE_ON_STALE="skip", NEWSLETTER_ISSUE_GIVE_UP_HOURS="2"
    )
    run_morning(runner, clock)
    issue = store.issues.find_issue(date(2025, 10, 3))
    counts = store.history.counts(issue)
    digests = Counter(r.recipient for r in handler.received if r.recipient != "ops@example.org")
    report(capsys, f"source down, on_stale=skip: ledger {counts}, digests {dict(digests)}")
    assert counts["skipped"] == len(READERS) and counts["sent"] == 0
    assert digests == Counter({email: 1 for email in READERS})  # only the day before
    store.dispose()


def test_a_day_listed_before_the_first_fetch_is_skipped_not_waited_for(db_url, smtp, caplog):
    # A first install at 06:00 UTC: for readers at Pago Pago (UTC-11) it is still yesterday, whose
    # issue no fetch can fill (fetches list papers under today). The sources work: no alert, no
    # fetch on every tick; that day is skipped, and their next morning's digest goes out.
    handler, controller = smtp
    clock = MovableClock(START)
    runner, store = world(db_url, controller.port, clock)
    west = ["pago@example.org", "tutuila@example.org"]
    for email in west:
        prefs = preferences(["video generation", "agents"], timezone="Pacific/Pago_Pago", hour=0, per_email=3)
        store.subscribers.add(email, prefs, "active", START - timedelta(days=3))
    fetched: list[datetime] = []
    fetch = runner.fetch
    runner.fetch = lambda: (fetched.append(clock.now), fetch())[1]
    runner.fetch_job()
    with caplog.at_level(logging.INFO):
        while clock.now < datetime(2025, 10, 2, 11, 30, tzinfo=UTC):
            runner.tick()
            clock.now += timedelta(minutes=5)
    assert [r for r in handler.received if r.recipient == "ops@example.org"] == []
    assert fetched == [START], "fetched again on ticks although the sources work"
    skipped = store.issues.find_issue(date(2025, 10, 1))
    assert skipped is not None and store.history.counts(skipped)["skipped"] == len(west)
    assert any("no papers were ever listed for 2025-10-01" in r.getMessage() for r in caplog.records)
    # Their own 2 October began at 11:00 UTC, and its digest went out (as the UTC readers' at 07:00).
    assert set(sent_on(store, date(2025, 10, 2))) == set(READERS) | set(west)
    store.dispose()
