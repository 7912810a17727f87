"""Retention on a schedule: keep_days too short is refused, `run` prunes once a UTC day (one line, none
when nothing went), `run --once` from cron does too, and a store outage during the prune is one line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from newsletter import app
from newsletter.config import ConfigError, DatabaseSettings, load_settings
from newsletter.schedule import Runner
from newsletter.signup import request_signup
from newsletter.store import Store
from newsletter.subscribers import preferences
from newsletter.timetable import build_scheduler
from tests.conftest import CliRunnerFn, MovableClock

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("env", "least"),
    [
        ({"NEWSLETTER_DATABASE_KEEP_DAYS": "10"}, 11),
        ({"NEWSLETTER_DATABASE_KEEP_DAYS": "30", "NEWSLETTER_ISSUE_WEEKLY_WINDOW_DAYS": "30"}, 32),
        ({"NEWSLETTER_DATABASE_KEEP_DAYS": "12", "NEWSLETTER_ISSUE_WINDOW_DAYS": "14"}, 16),
    ],
)
def test_keep_days_shorter_than_an_issues_reach_is_refused(env: dict[str, str], least: int) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, env)
    said = str(info.value)
    assert said.startswith(f"database.keep_days: {env['NEWSLETTER_DATABASE_KEEP_DAYS']} is too short: ")
    assert said.endswith(f"use 0 (keep everything) or at least {least}")
    assert ("issue.window_days" in said) == ("NEWSLETTER_ISSUE_WINDOW_DAYS" in env)
    assert (
        load_settings(None, {**env, "NEWSLETTER_DATABASE_KEEP_DAYS": str(least)}).database.keep_days == least
    )


def test_a_keep_days_too_short_stops_prune_with_one_line(run_cli: CliRunnerFn) -> None:
    result = run_cli("prune", env={"NEWSLETTER_DATABASE_KEEP_DAYS": "5"})
    assert result.exit_code == 2
    assert result.stderr == (
        "error: database.keep_days: 5 is too short: readers could be sent papers they already had, since "
        "an issue's papers reach back 9 days (issue.weekly_window_days) and an issue can go out 2 days after "
        "its date; use 0 (keep everything) or at least 11\n"
    )


def scheduler_for(url: str, clock: MovableClock, **env: str) -> Runner:
    settings = load_settings(
        None,
        {"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_WEB_SECRET_KEY": "retention-test-secret-key", **env},
    )
    store = app.open_store(DatabaseSettings(url=url))
    return Runner(app.build_services(settings, store, clock=clock), fetch=lambda: None)


def test_the_scheduler_prunes_once_a_day_with_one_line(db_url: str, store: Store, caplog) -> None:
    caplog.set_level(logging.INFO, logger="newsletter")
    request_signup(
        store,
        "stranger@example.org",
        preferences(["agents"], timezone="UTC", hour=7),
        NOW - timedelta(days=30),
    )
    clock = MovableClock(NOW)
    runner = scheduler_for(db_url, clock)
    job = build_scheduler(runner).get_job("prune").func

    job()
    job()  # the same day: nothing
    clock.now += timedelta(days=1)
    job()

    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("prune:")]
    nothing = "prune: 0 deliveries, 0 sent-paper records, 0 pooled papers of old issues, 0 fetches"
    # The next day found nothing to remove: that is no news, so no line.
    assert lines == [f"{nothing}, 1 pending sign-up removed"]
    off = scheduler_for(db_url, clock, NEWSLETTER_DATABASE_KEEP_DAYS="0")
    clock.now += timedelta(days=1)
    assert off.prune_job() is None
    runner.svc.store.dispose()
    off.svc.store.dispose()


def test_run_once_from_cron_prunes_once_a_day_too(run_cli: CliRunnerFn, store: Store) -> None:
    request_signup(
        store,
        "stranger@example.org",
        preferences(["agents"], timezone="UTC", hour=7),
        NOW - timedelta(days=30),
    )
    offline = httpx.MockTransport(lambda request: httpx.Response(503))
    env = {"NEWSLETTER_SOURCES_RETRIES": "0", "NEWSLETTER_WEB_SECRET_KEY": "s" * 32}
    first = run_cli("run", "--once", transport=offline, env=env, clock=lambda: NOW)
    assert first.exit_code == 3  # nothing fetched (offline), but the day's prune still ran
    assert "prune: 0 deliveries" in first.stderr and "1 pending sign-up removed" in first.stderr
    assert store.subscribers.by_email("stranger@example.org") is None
    again = run_cli("run", "--once", transport=offline, env=env, clock=lambda: NOW + timedelta(hours=1))
    assert "prune:" not in again.stderr  # once a day


def test_a_store_outage_during_the_prune_is_one_line_and_the_next_day_prunes(tmp_path: Path, caplog) -> None:
    path = tmp_path / "outage.db"
    url = f"sqlite:///{path}"
    clock = MovableClock(NOW)
    runner = scheduler_for(url, clock)
    runner.holds_lease()
    store = runner.svc.store
    request_signup(
        store,
        "stranger@example.org",
        preferences(["agents"], timezone="UTC", hour=7),
        NOW - timedelta(days=30),
    )
    job = build_scheduler(runner).get_job("prune").func
    store.engine.dispose()
    healthy = path.read_bytes()
    path.write_bytes(b"not a database, as a disk or server gone wrong reads" * 100)

    assert job() is None  # nothing for APScheduler to print

    outages = [r for r in caplog.records if "store unreachable" in r.getMessage()]
    assert len(outages) == 1 and outages[0].exc_info is None
    store.engine.dispose()
    path.write_bytes(healthy)
    pruned = job()
    assert pruned is not None and pruned.pending == 1
    store.dispose()
