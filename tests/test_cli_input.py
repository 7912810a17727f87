"""Bad command-line input: one clear error and exit code 2, never a traceback; help that tells the truth."""

from __future__ import annotations

import subprocess
import sys
import webbrowser
from datetime import UTC, datetime

import pytest

from tests.conftest import API_2024_08_01, FIXTURES

EMAIL = "ada@example.org"
LISTED = "2024-08-01"


@pytest.fixture
def world(run_cli):
    """A store with the papers listed on 2024-08-01 and one reader of them."""
    assert run_cli("fetch", "--file", str(API_2024_08_01), "--date", LISTED).exit_code == 0
    assert run_cli("subscribers", "add", EMAIL, "--topic", "LLM reasoning").exit_code == 0
    return run_cli


def on(day: str):
    """A clock that reads 06:00 UTC on `day`."""
    return lambda: datetime.fromisoformat(f"{day}T06:00:00").replace(tzinfo=UTC)


DATED = [
    ["picks", "--email", EMAIL],
    ["preview", "--email", EMAIL],
    ["send", "--dry-run"],
    ["issue"],
    ["papers"],
    ["fetch", "--file", str(API_2024_08_01)],
]


@pytest.mark.parametrize("day", ["0001-01-01", "0001-01-04", "9999-12-31", "2040-01-01"])
@pytest.mark.parametrize("args", DATED, ids=lambda a: a[0])
def test_a_date_more_than_ten_years_away_is_a_usage_error(world, args, day):
    result = world(*args, "--date", day)
    assert result.exit_code == 2, result.output
    assert f"{day} is more than ten years away" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("today", "day", "code"),
    [
        ("2026-11-26", "2036-11-26", 0),
        ("2026-11-26", "2036-11-27", 2),  # ten years and a day; 3660 days used to let it (and the 28th) in
        ("2026-11-26", "2036-11-28", 2),
        ("2026-11-26", "2016-11-26", 0),
        ("2026-11-26", "2016-11-25", 2),
        # From 29 February, ten years on is the 28th (no 29th that year) and ten years back the 1st of March.
        ("2028-02-29", "2038-02-28", 0),
        ("2028-02-29", "2038-03-01", 2),
        ("2028-02-29", "2018-03-01", 0),
        ("2028-02-29", "2018-02-28", 2),
        ("2027-02-28", "2037-02-28", 0),
        ("2027-02-28", "2017-02-28", 0),
    ],
)
def test_ten_years_away_means_calendar_years(run_cli, today, day, code):
    result = run_cli("papers", "--date", day, clock=on(today))
    assert result.exit_code == code, result.output
    assert (f"{day} is more than ten years away" in result.output) == (code == 2)


@pytest.mark.parametrize("args", DATED[:5], ids=lambda a: a[0])
def test_every_date_option_takes_today_and_tomorrow(world, args):
    by_word = world(*args, "--date", "today", clock=on(LISTED))
    by_date = world(*args, "--date", LISTED, clock=on(LISTED))
    assert (by_word.exit_code, by_word.stdout) == (by_date.exit_code, by_date.stdout)
    tomorrow = world(*args, "--date", "tomorrow", clock=on("2024-07-31"))
    assert (tomorrow.exit_code, tomorrow.stdout) == (by_date.exit_code, by_date.stdout)


@pytest.mark.parametrize("args", DATED, ids=lambda a: a[0])
def test_every_date_option_says_which_forms_it_takes(run_cli, args):
    result = run_cli(args[0], "--help")
    # Help is wrapped, at spaces or after a hyphen: compare without the whitespace.
    assert "YYYY-MM-DD,todayortomorrow" in "".join(result.stdout.split())


@pytest.mark.parametrize("typed", ["2024-13-01", "20240731", "2024-W31-3", "2024-7-31"])
def test_a_malformed_date_names_the_forms(world, typed):
    # Only the documented YYYY-MM-DD: Python would also read 20240731 and 2024-W31-3 as dates.
    result = world("picks", "--email", EMAIL, "--date", typed)
    assert result.exit_code == 2
    assert f"'{typed}' is not a date like 2025-05-30, today or tomorrow" in result.output


def test_preview_into_a_missing_folder_is_one_error_line(world, tmp_path):
    target = tmp_path / "missing" / "p.html"
    result = world("preview", "--email", EMAIL, "--date", LISTED, "--out", str(target))
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[-1] == (
        f"error: --out: cannot write {target}: No such file or directory"
    )
    assert not target.exists()


class RecordingBrowser(webbrowser.BaseBrowser):
    """A browser that is always there and remembers what it was asked to open."""

    def __init__(self) -> None:
        super().__init__("recording")
        self.opened: list[str] = []

    def open(self, url: str, new: int = 0, autoraise: bool = True) -> bool:
        self.opened.append(url)
        return True


@pytest.fixture
def no_browsers(monkeypatch):
    """The stdlib's browser registry, empty: as on a server with no display and no text browser."""
    monkeypatch.setattr(webbrowser, "_browsers", {})
    monkeypatch.setattr(webbrowser, "_tryorder", [])


def test_preview_open_without_a_browser_says_where_the_file_is(world, tmp_path, no_browsers):
    result = world("preview", "--email", EMAIL, "--date", LISTED, "--open")
    assert result.exit_code == 0, result.output
    [written] = tmp_path.glob("preview-*.html")
    assert f"preview: wrote {written.name}" in result.stderr
    assert f"preview: no browser could be opened; the preview is in {written}" in result.stderr
    browser = RecordingBrowser()
    webbrowser.register("recording", None, browser, preferred=True)
    opened = world("preview", "--email", EMAIL, "--date", LISTED, "--open")
    assert opened.exit_code == 0, opened.output
    assert browser.opened == [written.as_uri()]
    assert "no browser" not in opened.stderr


def test_send_queue_only_says_its_count_line_once(world):
    assert (
        world("subscribers", "add", "carol@example.org", "--topic", "marine biology of coral reefs").exit_code
        == 0
    )
    result = world("send", "--date", LISTED, "--queue-only")
    assert result.exit_code == 0, result.output
    # Ada gets a digest; nothing on Carol's topics that day: she gets the trending-only email.
    assert result.stdout == "queue: 1 digest, 1 trending-only, 0 skipped (no match)\n"
    # stderr (the log) and stdout share a terminal: the line must not show there a second time.
    assert "queue: 1 digest" not in result.stderr


def test_send_counts_readers_skipped_at_queueing_in_its_summary(world):
    assert (
        world("subscribers", "add", "carol@example.org", "--topic", "marine biology of coral reefs").exit_code
        == 0
    )
    # Ada gets a digest; Carol, with nothing on her topics that day, is skipped rather than sent trending.
    skip_empty_day = {"NEWSLETTER_ISSUE_EMPTY_DAY": "skip"}
    dry = world("send", "--date", LISTED, "--dry-run", env=skip_empty_day)
    assert dry.exit_code == 0, dry.output
    assert "dry run: would send 1 digest and 0 trending-only emails, skip 1;" in dry.stdout
    sent = world("send", "--date", LISTED, env=skip_empty_day)
    assert sent.exit_code == 0, sent.output
    assert "queue: 1 digest, 0 trending-only, 1 skipped (no match)" in sent.stderr
    assert sent.stdout == "send: 1 sent, 0 deferred, 0 failed, 1 skipped\n"


@pytest.mark.parametrize("which", ["--papers", "--topics"])
def test_rank_eval_names_a_missing_file_like_every_command(run_cli, tmp_path, which):
    files = {
        "--papers": FIXTURES / "eval" / "arxiv_2025-05-30.jsonl",
        "--topics": FIXTURES / "eval" / "topics.toml",
    }
    missing = tmp_path / "nope"
    files[which] = missing
    result = run_cli("rank-eval", *[str(arg) for pair in files.items() for arg in pair])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {missing}: no such file\n"


@pytest.mark.parametrize("command", ["serve", "run"])
@pytest.mark.parametrize("port", ["-5", "0", "70000"])
def test_a_port_outside_1_to_65535_is_a_usage_error(run_cli, command, port):
    result = run_cli(command, "--port", port)
    assert result.exit_code == 2, result.output
    assert f"{port} is not in the range 1<=x<=65535" in result.output


@pytest.mark.parametrize("poll", ["-1", "0", "nan", "inf", "3601"])
def test_worker_poll_must_be_positive_and_finite(run_cli, poll):
    result = run_cli("worker", "--until-done", "--poll", poll)
    assert result.exit_code == 2, result.output
    assert "must be more than 0 and at most 3600 seconds" in result.output


def test_send_help_lists_the_exit_code_it_gives_for_an_empty_issue(run_cli):
    assert run_cli("subscribers", "add", EMAIL, "--topic", "speech").exit_code == 0
    result = run_cli("send", "--date", LISTED)
    assert result.exit_code == 1
    help_text = " ".join(run_cli("send", "--help").stdout.split())
    assert "1 no papers for the issue" in help_text


def test_admin_hash_help_gives_the_minimum_length(run_cli):
    help_text = " ".join(run_cli("admin-hash", "--help").stdout.split())
    assert "at least 12 characters" in help_text.lower()
    short = run_cli("admin-hash", "--password", "x" * 11)
    assert short.exit_code == 2 and "use at least 12 characters" in short.output
    for same in (" " * 12, "x" * 20):
        held = run_cli("admin-hash", "--password", same)
        assert held.exit_code == 2 and "use more than one distinct character" in held.output
        assert "$argon2" not in held.stdout


def test_config_goes_before_or_after_the_command_name_of_every_command(run_cli, tmp_path):
    config = tmp_path / "other.toml"
    other_db = tmp_path / "other.db"
    config.write_text(f'[database]\nurl = "sqlite:///{other_db}"\n', encoding="utf-8")
    no_env = {"NEWSLETTER_DATABASE_URL": None}
    added = run_cli("subscribers", "add", EMAIL, "--topic", "speech", "--config", str(config), env=no_env)
    assert added.exit_code == 0, added.output
    for args in (
        ["--config", str(config), "subscribers", "list"],
        ["subscribers", "--config", str(config), "list"],
        ["subscribers", "list", "--config", str(config)],
    ):
        listed = run_cli(*args, env=no_env)
        assert listed.exit_code == 0, listed.output
        assert EMAIL in listed.stdout
    assert run_cli("bounces", "--config", str(config), "--help").exit_code == 0
    hashed = run_cli("admin-hash", "--config", str(config), "--password", "twelve chars")
    assert hashed.exit_code == 0 and hashed.stdout.startswith("$argon2")


def test_an_empty_config_path_is_named_as_empty(run_cli):
    # `--config "$CONFIG"` with the variable unset: not "'.' is a directory".
    for args in (["--config", "", "subscribers", "list"], ["subscribers", "list", "--config", ""]):
        result = run_cli(*args)
        assert result.exit_code == 2
        assert "Invalid value for '--config': the path is empty; name a config file" in result.output


def test_admin_hash_reads_the_password_from_its_prompt_and_says_so_when_none_comes(tmp_path):
    def admin_hash(typed: bytes) -> subprocess.CompletedProcess[bytes]:
        command = [sys.executable, "-m", "newsletter", "admin-hash"]
        return subprocess.run(command, input=typed, capture_output=True, cwd=tmp_path, timeout=60)

    hashed = admin_hash(b"twelve chars ok\ntwelve chars ok\n")
    assert hashed.returncode == 0 and hashed.stdout.startswith(b"$argon2")
    # An empty pipe (or Ctrl-D): a usage error that says what to do, not click's "Aborted!" and exit 1.
    for typed in (b"", b"twelve chars ok\nanother twelve\n"):
        refused = admin_hash(typed)
        assert refused.returncode == 2 and b"Aborted" not in refused.stderr
        assert b"error: no password given: type it at the prompt, or pass --password" in refused.stderr
        assert b"$argon2" not in refused.stdout


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["subscribers", "remove", "  "], "email"),
        (["subscribers", "set-topics", "", "--topic", "robots"], "email"),
        (["subscribers", "set", "", "--hour", "7"], "email"),
        (["picks", "--email", ""], "--email"),
        (["preview", "--email", " "], "--email"),
        (["send", "--only", ""], "--only"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else a,
)
def test_an_empty_address_says_it_is_empty(world, args, field):
    # An unset shell variable ("$EMAIL") gave "error: no subscriber " with nothing after it.
    result = world(*args)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [f"error: {field}: the address is empty"]
    assert world("subscribers", "list").output.count(EMAIL) == 1  # nobody removed or changed
