"""[schedule] fetch_times: each time once, refused at start-up rather than by the scheduler."""

from __future__ import annotations

import pytest

from newsletter import app
from newsletter.config import ConfigError, load_settings
from newsletter.schedule import Runner
from newsletter.timetable import build_scheduler
from tests.conftest import CliRunnerFn


@pytest.mark.parametrize("times", ["06:00,06:00", "06:00, 18:00, 6:00", "00:00,0:0"])
def test_a_fetch_time_given_twice_is_a_clear_error(times: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"NEWSLETTER_SCHEDULE_FETCH_TIMES": times})
    assert str(info.value).startswith("schedule.fetch_times: ") and str(info.value).endswith(
        " is given twice"
    )


def test_distinct_fetch_times_are_accepted() -> None:
    settings = load_settings(None, {"NEWSLETTER_SCHEDULE_FETCH_TIMES": "06:00, 6:30, 18:00"})
    assert settings.schedule.fetch_times == ("06:00", "6:30", "18:00")


def test_a_fetch_time_given_twice_stops_every_command_with_one_line(run_cli: CliRunnerFn) -> None:
    # `newsletter run` used to get as far as the scheduler, which stopped it with a traceback.
    result = run_cli("papers", env={"NEWSLETTER_SCHEDULE_FETCH_TIMES": "06:00,06:00"})
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == ["error: schedule.fetch_times: 06:00 is given twice"]


def test_no_fetch_time_is_allowed_and_the_scheduler_says_it_fetches_nothing(db_url: str, caplog) -> None:
    # Papers may come from `newsletter fetch` in cron; a scheduler without fetch times must say so.
    settings = load_settings(None, {"NEWSLETTER_SCHEDULE_FETCH_TIMES": "", "NEWSLETTER_DATABASE_URL": db_url,
                                    "NEWSLETTER_WEB_SECRET_KEY": "s" * 32})  # fmt: skip
    assert settings.schedule.fetch_times == ()
    store = app.open_store(settings.database)
    try:
        scheduler = build_scheduler(Runner(app.build_services(settings, store), fetch=lambda: None))
    finally:
        store.dispose()
    assert not [job for job in scheduler.get_jobs() if job.id.startswith("fetch-")]
    assert "schedule: fetch_times is empty, so this scheduler fetches nothing" in caplog.text
