"""Settings: the shipped config.toml, environment overrides, and clear errors."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from newsletter.config import ConfigError, Settings, load_settings

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
        ("[databse]\n", {}, "unknown config section [databse]"),
        ("[sources]\nretry = 3\n", {}, "[sources] has no key 'retry'"),
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
        ("[delivery]\nretry_minutes = [1, true]\n", {}, "delivery.retry_minutes: expected a list of strings"),
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
    assert result.stderr.startswith("error: sources:")


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
