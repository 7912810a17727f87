"""Settings: the shipped config.toml, environment overrides, and clear errors."""

from __future__ import annotations

import dataclasses
import tomllib
import typing
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from newsletter.config import ConfigError, Settings, load_settings
from newsletter.config_loader import env_name
from tests.conftest import API_2024_08_01

REPO_CONFIG = Path(__file__).parent.parent / "config.toml"


def test_shipped_config_equals_the_built_in_defaults():
    assert load_settings(REPO_CONFIG, environ={}) == Settings()


def test_shipped_config_names_and_comments_every_key():
    data = tomllib.loads(REPO_CONFIG.read_text())
    lines = REPO_CONFIG.read_text().splitlines()
    for section in dataclasses.fields(Settings):
        table = data[section.name]
        for fld in dataclasses.fields(getattr(Settings(), section.name)):
            if fld.metadata.get("secret"):
                continue
            assert fld.name in table, f"[{section.name}] {fld.name} missing from config.toml"
        for key in table:
            index = next(
                i
                for i, line in enumerate(lines)
                if line.startswith(f"{key} =") and _section_of(lines, i) == section.name
            )
            assert lines[index - 1].startswith("#"), f"{section.name}.{key} has no comment above it"


def _section_of(lines: list[str], index: int) -> str:
    for line in reversed(lines[:index]):
        if line.startswith("["):
            return line.strip("[]")
    return ""


def test_environment_overrides_every_type(tmp_path):
    settings = load_settings(
        None,
        environ={
            "NEWSLETTER_DATABASE_URL": "sqlite:///x.db",
            "NEWSLETTER_SOURCES_ENABLED": "hf-api, hf-daily",
            "NEWSLETTER_SOURCES_RETRIES": "5",
            "NEWSLETTER_SOURCES_TIMEOUT_S": "2.5",
        },
    )
    assert settings.database.url == "sqlite:///x.db"
    assert settings.sources.enabled == ("hf-api", "hf-daily")
    assert settings.sources.retries == 5
    assert settings.sources.timeout_s == 2.5


def test_environment_beats_the_file(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[database]\nurl = "sqlite:///file.db"\n')
    assert load_settings(config, {}).database.url == "sqlite:///file.db"
    assert load_settings(config, {"NEWSLETTER_DATABASE_URL": "sqlite:///env.db"}).database.url == (
        "sqlite:///env.db"
    )


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[databse]\n", {}, "unknown config section [databse] (did you mean [database]?)"),
        ("[sources]\nretry = 3\n", {}, "[sources] has no key 'retry' (did you mean 'retries'?)"),
        ("[database]\nkeep_dayz = 3\n", {}, "[database] has no key 'keep_dayz' (did you mean 'keep_days'?)"),
        ("[web]\nzzz = 1\n", {}, "[web] has no key 'zzz'"),
        ('url = "sqlite:///x.db"\n', {}, "url = ... comes before any [section]: put it under its section"),
        ('[sources]\nretries = "three"\n', {}, "sources.retries: expected int"),
        ('[sources]\nenabled = ["hf-nope"]\n', {}, "unknown source 'hf-nope'"),
        ("[sources\n", {}, "not valid TOML"),
        ("", {"NEWSLETTER_SOURCES_RETRIES": "many"}, "NEWSLETTER_SOURCES_RETRIES: cannot read 'many' as int"),
        (
            '[database]\nurl = "postgresql+psycopg://app:hunter2@db/app"\n',
            {},
            "database.url carries a password: set the whole URL with NEWSLETTER_DATABASE_URL instead",
        ),
        (
            '[web]\nrate_limits = "redis://:hunter2@cache:6379/0"\n',
            {},
            "web.rate_limits carries a password: set the whole URL with NEWSLETTER_WEB_RATE_LIMITS instead",
        ),
        ('[web]\nrate_limits = "sqlite:///limits.db"\n', {}, "web.rate_limits: 'sqlite:///limits.db' is not"),
        ("", {"NEWSLETTER_WEB_RATE_LIMITS": "127.0.0.1:6379"}, "web.rate_limits: '127.0.0.1:6379' is not"),
        # A hash whose $ signs a shell or env file ate: every sign-in would fail as "Wrong password".
        ("", {"NEWSLETTER_WEB_ADMIN_PASSWORD_HASH": "=19m=65536,t=3,p=4"}, "web.admin_password_hash: not an"),
        ("", {"NEWSLETTER_DELIVERY_ADMIN_EMAIL": "ops"}, "delivery.admin_email: must be an email address"),
        ("", {"NEWSLETTER_DELIVERY_OUTBOX": ""}, "delivery.outbox: name the folder"),
        (
            "[delivery]\nretry_minutes = [1, true]\n",
            {},
            "delivery.retry_minutes: expected a list of words or",
        ),
        # Found by QA: one number where a list goes was called "a list of strings".
        ("[delivery]\nretry_minutes = 5\n", {}, "delivery.retry_minutes: expected a list in brackets, got 5"),
        # TOML has its own nan and inf, which must meet the same ranges as the environment's.
        ("[smtp]\ntimeout_s = inf\n", {}, "smtp.timeout_s: must be more than 0 and at most 600, got inf"),
        ("[rank]\nthreshold = nan\n", {}, "rank.threshold: must be between 0 and 1, got nan"),
        ("[delivery]\nbatch_size = 0\n", {}, "delivery.batch_size: must be between 1 and 10000, got 0"),
        # Found by QA: a negative deadline, and a port no relay listens on, passed and failed every send.
        ("", {"NEWSLETTER_DELIVERY_RETRY_DEADLINE_HOURS": "-5"}, "more than 0 and at most 720, got -5.0"),
        ("", {"NEWSLETTER_SMTP_PORT": "70000"}, "smtp.port: must be between 1 and 65535, got 70000"),
        # Links are served from the root: under a path every link in an email would be a 404.
        (
            "",
            {"NEWSLETTER_WEB_BASE_URL": "http://host/papers"},
            "web.base_url: 'http://host/papers' has a path, query or fragment",
        ),
        ('[web]\nbase_url = "https://p.example.org/a/"\n', {}, "serve the app at the root of its own host"),
        ("", {"NEWSLETTER_WEB_BASE_URL": "https://p.example.org/?x=1"}, "has a path, query or fragment"),
        ("", {"NEWSLETTER_WEB_BASE_URL": "https://p.example.org#top"}, "has a path, query or fragment"),
        # A guessable token opens the admin API; a guessable key signs anyone's links.
        ("", {"NEWSLETTER_WEB_ADMIN_TOKEN": "a"}, "NEWSLETTER_WEB_ADMIN_TOKEN: use at least 16 characters"),
        (
            "",
            {"NEWSLETTER_WEB_SECRET_KEY": "secret"},
            "NEWSLETTER_WEB_SECRET_KEY: use at least 16 characters",
        ),
    ],
)
def test_bad_config_is_a_clear_error(tmp_path, text, env, message):
    config = tmp_path / "c.toml"
    config.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_settings(config, env)
    assert message in str(info.value)


@pytest.mark.parametrize(
    "url", ["https://papers.example.org", "https://papers.example.org/", "http://localhost:8000"]
)
def test_a_base_url_without_a_path_is_accepted(url):
    assert load_settings(None, {"NEWSLETTER_WEB_BASE_URL": url}).web.base_url == url


def test_a_password_may_reach_a_url_setting_through_the_environment(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[web]\nrate_limits = "redis://cache:6379/0"\n')
    env = {"NEWSLETTER_WEB_RATE_LIMITS": "redis://:hunter2@cache:6379/0"}
    assert load_settings(config, {}).web.rate_limits == "redis://cache:6379/0"
    assert load_settings(config, env).web.rate_limits == "redis://:hunter2@cache:6379/0"


def test_missing_config_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.toml", {})


def test_cli_reports_config_errors_with_exit_2(run_cli, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[sources]\nretries = -1\n")
    result = run_cli("papers", "--config", str(config))
    assert result.exit_code == 2
    assert result.stderr == "error: sources.retries: must be between 0 and 10, got -1\n"


def test_a_mistyped_environment_variable_is_named_not_silently_ignored(run_cli):
    env = {
        "NEWSLETTER_SMTP_PASSWROD": "hunter2",
        "NEWSLETTER_WEB_PROT": "8080",
        "NEWSLETTER_ENTIRELY_UNKNOWN": "1",
        "NEWSLETTER_TEST_ANYTHING": "left to the test suite",
        "NEWSLETTER_SMTP_HOST": "smtp.example.org",  # a real setting: no warning
    }
    result = run_cli("papers", env=env)
    assert result.exit_code == 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: config:")]
    assert warnings == [
        "warning: config: NEWSLETTER_ENTIRELY_UNKNOWN matches no setting and is ignored",
        "warning: config: NEWSLETTER_SMTP_PASSWROD matches no setting and is ignored"
        " (did you mean NEWSLETTER_SMTP_PASSWORD?)",
        "warning: config: NEWSLETTER_WEB_PROT matches no setting and is ignored"
        " (did you mean NEWSLETTER_WEB_PORT?)",
    ]
    assert "hunter2" not in result.output  # the value of what may be a secret is never echoed


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("nonsense", "database.url: not a database URL; use e.g. sqlite:///newsletter.db"),
        ("nosuchdb://user@host/name", "database.url: unknown database 'nosuchdb'; use e.g."),
    ],
)
def test_a_malformed_database_url_is_a_config_error_naming_the_setting(run_cli, tmp_path, url, said):
    config = tmp_path / "bad.toml"
    config.write_text(f'[database]\nurl = "{url}"\n', encoding="utf-8")
    by_file = run_cli("--config", str(config), "papers", env={"NEWSLETTER_DATABASE_URL": None})
    # From the environment a URL may carry a password, which the error must not repeat.
    secret_url = url.replace("user@", "user:secret@")
    by_env = run_cli("papers", env={"NEWSLETTER_DATABASE_URL": secret_url})
    for result in (by_file, by_env):
        assert result.exit_code == 2, result.output
        [line] = result.stderr.splitlines()
        assert line.startswith(f"error: {said}") and "secret" not in line


def test_retry_minutes_may_be_written_as_numbers(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[delivery]\nretry_minutes = [1, 2.5, 60]\n")
    assert load_settings(config, {}).delivery.retry_delays == (60.0, 150.0, 3600.0)


def test_a_real_admin_password_hash_is_accepted(tmp_path):
    made = PasswordHasher().hash("correct horse battery staple")
    settings = load_settings(None, {"NEWSLETTER_WEB_ADMIN_PASSWORD_HASH": made})
    assert PasswordHasher().verify(settings.web.admin_password_hash, "correct horse battery staple")


# Every numeric setting with its range: (key, lowest, highest, whether lowest itself is refused, range said).
RANGES: list[tuple[str, float, float, bool, str]] = [
    ("database.keep_days", 0, 3650, False, "between 0 and 3650"),
    ("sources.timeout_s", 0.0, 300.0, True, "more than 0 and at most 300"),
    ("sources.retries", 0, 10, False, "between 0 and 10"),
    ("sources.backoff_s", 0.0, 60.0, False, "between 0 and 60"),
    ("sources.max_wait_s", 0.0, 3600.0, True, "more than 0 and at most 3600"),
    ("sources.api_limit", 1, 100, False, "between 1 and 100"),
    ("sources.api_max_pages", 1, 100, False, "between 1 and 100"),
    ("subscribers.default_hour", 0, 23, False, "between 0 and 23"),
    ("subscribers.default_per_email", 1, 30, False, "between 1 and 30"),
    ("rank.threshold", 0.0, 1.0, False, "between 0 and 1"),
    ("rank.popularity_weight", 0.0, 1.0, False, "between 0 and 1"),
    ("issue.window_days", 0, 30, False, "between 0 and 30"),
    ("issue.weekly_window_days", 6, 30, False, "between 6 and 30"),
    ("issue.give_up_hours", 0.0, 168.0, True, "more than 0 and at most 168"),
    ("delivery.batch_size", 1, 10_000, False, "between 1 and 10000"),
    ("delivery.retry_deadline_hours", 0.0, 720.0, True, "more than 0 and at most 720"),
    ("delivery.max_connection_failures", 1, 1000, False, "between 1 and 1000"),
    ("delivery.lease_s", 2, 86_400, False, "between 2 and 86400"),
    ("smtp.port", 1, 65535, False, "between 1 and 65535"),
    ("smtp.pool_size", 1, 64, False, "between 1 and 64"),
    ("smtp.timeout_s", 0.0, 600.0, True, "more than 0 and at most 600"),
    ("smtp.rate_per_s", 0.0, 1000.0, False, "between 0 and 1000"),
    ("web.port", 1, 65535, False, "between 1 and 65535"),
    ("schedule.tick_minutes", 1, 60, False, "between 1 and 60"),
    ("schedule.misfire_grace_s", 1, 86_400, False, "between 1 and 86400"),
    ("schedule.lease_s", 10, 3600, False, "between 10 and 3600"),
]


def _out_of_range() -> list[tuple[str, str, str]]:
    cases = []
    for key, low, high, above, said in RANGES:
        too_small = low if above else low - (0.5 if isinstance(low, float) else 1)
        too_large = high + (0.5 if isinstance(high, float) else 1)
        values = [str(too_small), str(too_large)]
        values += ["nan", "inf", "-inf", "1e400"] if isinstance(high, float) else ["99999999999999999999"]
        if isinstance(high, int):  # past any float: shown cut short
            cases.append((key, "9" * 400, f"{key}: must be {said}, got {'9' * 20}..."))
        # What the error shows is the number as read: 1e400 reads as inf.
        cases += [(key, value, f"{key}: must be {said}, got {type(high)(value)}") for value in values]
    return cases


def test_the_ranges_above_cover_every_numeric_setting():
    numeric = [
        f"{section}.{name}"
        for section, cls in typing.get_type_hints(Settings).items()
        for name, kind in typing.get_type_hints(cls).items()
        if kind in (int, float)
    ]
    assert sorted(numeric) == sorted(key for key, *_rest in RANGES)


@pytest.mark.parametrize(("key", "value", "message"), _out_of_range(), ids=lambda x: str(x)[:40])
def test_a_number_out_of_range_in_the_environment_is_a_clear_error(key, value, message):
    with pytest.raises(ConfigError) as info:
        load_settings(None, {env_name(*key.split(".")): value})
    assert str(info.value) == message


@pytest.mark.parametrize(("key", "low", "high", "above", "said"), RANGES, ids=[r[0] for r in RANGES])
def test_the_ends_of_each_range_are_accepted(key, low, high, above, said):
    section, name = key.split(".")
    lowest = low + 0.01 if above else low
    for value in (lowest, high):
        settings = load_settings(None, {env_name(*key.split(".")): str(value)})
        assert getattr(getattr(settings, section), name) == value


@pytest.mark.parametrize("minutes", ["0", "-1", "10081", "nan", "inf", "1, 5, 1e400"])
def test_each_retry_interval_is_more_than_0_and_at_most_a_week(minutes):
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"NEWSLETTER_DELIVERY_RETRY_MINUTES": minutes})
    assert str(info.value).startswith("delivery.retry_minutes: must be more than 0 and at most 10080, got ")
    week = load_settings(None, {"NEWSLETTER_DELIVERY_RETRY_MINUTES": "0.5, 10080"}).delivery
    assert week.retry_delays == (30.0, 604_800.0)


@pytest.mark.parametrize("rate", ["0.001", "1e-300"])
def test_a_send_rate_is_none_or_at_least_one_message_per_100_seconds(rate):
    with pytest.raises(ConfigError) as info:
        load_settings(None, {"NEWSLETTER_SMTP_RATE_PER_S": rate})
    said = "smtp.rate_per_s: must be 0 (no limit) or between 0.01 and 1000"
    assert str(info.value) == f"{said}, got {float(rate)}"
    assert load_settings(None, {"NEWSLETTER_SMTP_RATE_PER_S": "0"}).smtp.rate_per_s == 0.0


def test_a_batch_size_too_large_for_the_database_stops_send_before_it_starts(run_cli, tmp_path):
    assert run_cli("fetch", "--file", str(API_2024_08_01), "--date", "2024-08-01").exit_code == 0
    assert run_cli("subscribers", "add", "ada@example.org", "--topic", "LLM reasoning").exit_code == 0
    huge = {"NEWSLETTER_DELIVERY_BATCH_SIZE": "99999999999999999999"}
    result = run_cli("send", "--date", "2024-08-01", env=huge)
    assert result.exit_code == 2, result.output
    said = "error: delivery.batch_size: must be between 1 and 10000, got 99999999999999999999"
    assert result.stderr.splitlines() == [said] and "Traceback" not in result.output
    assert not (tmp_path / "outbox").exists()  # nothing was sent
    sent = run_cli("send", "--date", "2024-08-01", env={"NEWSLETTER_DELIVERY_BATCH_SIZE": "10000"})
    assert sent.exit_code == 0, sent.output
    assert len(list((tmp_path / "outbox").iterdir())) == 1
