"""[schedule] fetch_times: each time once, refused at start-up rather than by the scheduler."""

from __future__ import annotations

import pytest

from newsletter.config import ConfigError, load_settings
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


@pytest.mark.parametrize("config", ["[schedule]\nfetch_times = []\n", None])
def test_no_fetch_time_at_all_is_refused(run_cli: CliRunnerFn, tmp_path, config: str | None) -> None:
    # The scheduler would tick on without ever fetching, and issues would wait on stale papers.
    env = {"NEWSLETTER_SCHEDULE_FETCH_TIMES": ""}
    if config is not None:
        (tmp_path / "config.toml").write_text(config, encoding="utf-8")
        env = {"NEWSLETTER_CONFIG": str(tmp_path / "config.toml")}
    result = run_cli("papers", env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines() == [
        "error: schedule.fetch_times: name at least one time of day (HH:MM, UTC)"
    ]
