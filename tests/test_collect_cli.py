"""`newsletter fetch --file` and `newsletter papers` on the saved files, through the real CLI and SQLite."""

from __future__ import annotations

import json

import httpx
import pytest

from newsletter.app import open_store
from newsletter.config import DatabaseSettings
from tests.conftest import API_2024_08_01, HF_MALFORMED, PAGE_2024_08_01, api_files, load_api


def stored(run_cli, *args: str) -> list[dict]:
    result = run_cli("papers", "--json", *args)
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("path", api_files(), ids=lambda p: p.name)
def test_every_api_file_imports_one_for_one_and_twice_changes_nothing(run_cli, path):
    first = run_cli("fetch", "--file", str(path))
    assert first.exit_code == 0, first.output
    items = load_api(path)
    assert f"{len(items)} papers (api json), {len(items)} new, 0 updated" in first.stderr

    rows = {row["arxiv_id"]: row for row in stored(run_cli)}
    assert len(rows) == len(items)
    for item in items:
        row = rows[item["paper"]["id"]]
        assert row["title"] == " ".join(item["paper"]["title"].split())
        assert row["upvotes"] == item["paper"]["upvotes"]
        assert len(row["authors"]) == len(item["paper"]["authors"])
        assert row["first_source"] == "file"

    second = run_cli("fetch", "--file", str(path))
    assert second.exit_code == 1, second.output
    assert "0 new, 0 updated" in second.stderr
    assert "nothing new" in second.stderr
    assert {row["arxiv_id"]: row for row in stored(run_cli)} == rows


def test_known_papers_listed_on_a_new_day_are_counted_as_news(run_cli):
    assert run_cli("fetch", "--file", str(API_2024_08_01)).exit_code == 0
    again = run_cli("fetch", "--file", str(API_2024_08_01), "--date", "2024-08-02")
    # Nothing about the papers changed, but they are now listed on the 2nd too: that is news.
    assert again.exit_code == 0, again.output
    assert "11 papers (api json), 0 new, 0 updated, 11 listed again" in again.stderr
    assert "nothing new" not in again.stderr
    assert len(stored(run_cli, "--date", "2024-08-02")) == 11
    twice = run_cli("fetch", "--file", str(API_2024_08_01), "--date", "2024-08-02")
    assert twice.exit_code == 1 and "listed again" not in twice.stderr


def test_page_after_same_days_api_updates_11_and_adds_2(run_cli):
    assert run_cli("fetch", "--file", str(API_2024_08_01)).exit_code == 0
    before = {row["arxiv_id"]: row for row in stored(run_cli)}

    result = run_cli("fetch", "--file", str(PAGE_2024_08_01))
    assert result.exit_code == 0, result.output
    assert "13 papers (embedded json), 2 new, 11 updated" in result.stderr

    after = {row["arxiv_id"]: row for row in stored(run_cli)}
    assert len(after) == 13
    assert set(before) <= set(after)
    changed = [pid for pid in before if after[pid]["upvotes"] != before[pid]["upvotes"]]
    assert len(changed) == 11
    assert after["2407.21783"]["upvotes"] == 94
    # First sighting stays with the API import.
    assert all(after[pid]["first_seen_at"] == before[pid]["first_seen_at"] for pid in before)


def test_papers_date_filter_uses_listing_date(run_cli):
    run_cli("fetch", "--file", str(API_2024_08_01))
    run_cli("fetch", "--file", str(api_files()[0]))  # 2024-05-29
    assert len(stored(run_cli, "--date", "2024-08-01")) == 11
    assert len(stored(run_cli, "--date", "2024-05-29")) == 8
    assert stored(run_cli, "--date", "2024-05-30") == []
    empty = run_cli("papers", "--date", "2024-05-30")
    assert (empty.exit_code, empty.stdout) == (0, "")
    assert "papers: none listed on 2024-05-30 (`newsletter fetch` fetches them)" in empty.stderr


def test_papers_text_listing_is_most_upvoted_first(run_cli):
    assert "papers: none stored yet" in run_cli("papers").stderr
    run_cli("fetch", "--file", str(PAGE_2024_08_01))
    lines = run_cli("papers").stdout.splitlines()
    assert len(lines) == 13
    assert lines[0].split()[:2] == ["2407.21783", "94"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "none of the 26 items is a readable paper"),
        ("<html><body>Sign in to continue</body></html>", "no paper data"),
        ('[{"paper": {"id": "2407.21783", "title": "Trunc', "not valid JSON"),
    ],
    ids=["malformed-archive", "no-json-no-cards", "truncated-json"],
)
def test_bad_files_fail_clearly_and_keep_stored_papers(run_cli, tmp_path, content, message):
    assert run_cli("fetch", "--file", str(API_2024_08_01)).exit_code == 0
    before = stored(run_cli)
    if content is None:
        path = next(HF_MALFORMED.glob("*.json"))
    else:
        path = tmp_path / "bad.input"
        path.write_text(content)
    result = run_cli("fetch", "--file", str(path))
    assert result.exit_code == 2
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in result.output
    assert stored(run_cli) == before
    # The dashboard's fetch log names the file once, then what was wrong with it.
    store = open_store(DatabaseSettings(url=run_cli.env["NEWSLETTER_DATABASE_URL"]))
    try:
        error = store.papers.recent_fetches()[0].error
    finally:
        store.dispose()
    assert error is not None and error.startswith(f"file {path}: ") and error.count(path.name) == 1


def test_missing_file_is_a_usage_error(run_cli, tmp_path):
    result = run_cli("fetch", "--file", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_bad_date_is_a_usage_error(run_cli):
    result = run_cli("papers", "--date", "2024-13-45")
    assert result.exit_code == 2
    assert "is not a date" in result.output


@pytest.mark.parametrize(
    ("args", "source", "url"),
    [
        ([], "hf-trending", "https://huggingface.co/papers/trending"),
        (["--source", "hf-api", "--date", "2024-08-01"], "hf-api", "https://huggingface.co/api/daily_papers"),
    ],
    ids=["default", "hf-api"],
)
def test_an_unreachable_source_is_named_as_run_names_it(run_cli, args, source, url):
    def offline(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno -3] Temporary failure in name resolution", request=request)

    no_retries = {"NEWSLETTER_SOURCES_RETRIES": "0"}
    result = run_cli("fetch", *args, transport=httpx.MockTransport(offline), env=no_retries)
    assert result.exit_code == 3, result.output
    [error] = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert error.startswith(f"error: source unreachable: {source}: {url}")
    assert error.endswith("ConnectError: [Errno -3] Temporary failure in name resolution")


def test_trending_with_date_is_a_usage_error(run_cli):
    result = run_cli("fetch", "--source", "hf-trending", "--date", "2024-08-01")
    assert result.exit_code == 2
    assert "hf-trending has no date" in result.stderr


def test_config_option_works_after_the_command(run_cli, tmp_path):
    other = tmp_path / "other.db"
    config = tmp_path / "custom.toml"
    config.write_text(f'[database]\nurl = "sqlite:///{other}"\n')
    # The env override would win, so run without it to see the file take effect.
    result = run_cli(
        "fetch", "--file", str(API_2024_08_01), "--config", str(config), env={"NEWSLETTER_DATABASE_URL": None}
    )
    assert result.exit_code == 0, result.output
    assert other.exists()


def test_every_command_has_help(run_cli):
    for args in (["--help"], ["fetch", "--help"], ["papers", "--help"]):
        result = run_cli(*args)
        assert result.exit_code == 0
        assert "--config" in result.stdout


@pytest.mark.parametrize(
    ("trending", "error"),
    [
        (httpx.Response(503, text="down"), "error: source unreachable: hf-trending:"),
        # A page that came back without any paper on it (a maintenance page, a changed layout).
        (
            httpx.Response(200, html="<html><body><h1>Back soon</h1></body></html>"),
            "error: source unreadable",
        ),
    ],
    ids=["unreachable", "unreadable"],
)
def test_one_failing_source_among_several_is_reported_and_the_others_are_stored(run_cli, trending, error):
    def net(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/daily_papers":
            return httpx.Response(200, json=load_api(API_2024_08_01))
        return trending

    env = {"NEWSLETTER_SOURCES_ENABLED": "hf-trending, hf-api", "NEWSLETTER_SOURCES_RETRIES": "0"}
    result = run_cli("fetch", "--date", "2024-08-01", transport=httpx.MockTransport(net), env=env)
    # As `run --once` and POST /api/fetch: the papers that came are news (exit 0), not an outage (3).
    assert result.exit_code == 0, result.output
    assert error in result.stderr
    assert "fetch: 1 source fetched; failed: hf-trending" in result.stderr
    assert len(stored(run_cli, "--date", "2024-08-01")) == len(load_api(API_2024_08_01))
    # Every source failing is still an outage.
    down = run_cli("fetch", transport=httpx.MockTransport(lambda r: httpx.Response(503)), env=env)
    assert down.exit_code == 3, down.output


def test_timestamps_without_a_zone_are_read_as_utc_not_a_store_error(run_cli, tmp_path):
    # One item whose stamps lack a zone used to reach the store as naive datetimes: exit 4, nothing stored.
    items = load_api(API_2024_08_01)
    items[0]["paper"]["submittedOnDailyAt"] = "2024-08-01T01:21:47"
    items[0]["paper"]["publishedAt"] = "2024-07-31"
    items[1]["paper"]["submittedOnDailyAt"] = "2024-08-01T03:00:00+05:00"
    path = tmp_path / "zoneless.json"
    path.write_text(json.dumps(items))
    result = run_cli("fetch", "--file", str(path))
    assert result.exit_code == 0, result.output
    assert f"{len(items)} papers (api json), {len(items)} new" in result.stderr
    rows = {row["arxiv_id"]: row for row in stored(run_cli)}
    first, second = rows[items[0]["paper"]["id"]], rows[items[1]["paper"]["id"]]
    assert first["submitted_at"] == "2024-08-01T01:21:47+00:00"
    assert first["published_at"] == "2024-07-31T00:00:00+00:00"
    # An offset is turned into UTC, so the listing day is the UTC day HF lists by.
    assert second["submitted_at"] == "2024-07-31T22:00:00+00:00"
    assert second["first_listing_date"] == "2024-07-31"


def test_a_versioned_id_on_a_later_day_updates_the_paper_not_a_second_one(run_cli, tmp_path):
    assert run_cli("fetch", "--file", str(API_2024_08_01)).exit_code == 0
    items = load_api(API_2024_08_01)
    items[0]["paper"]["id"] += "v2"
    items[0]["paper"]["upvotes"] += 100
    path = tmp_path / "later.json"
    path.write_text(json.dumps(items[:1]))
    result = run_cli("fetch", "--file", str(path), "--date", "2024-08-02")
    assert result.exit_code == 0, result.output
    assert "1 papers (api json), 0 new, 1 updated, 1 listed again" in result.stderr
    rows = {row["arxiv_id"]: row for row in stored(run_cli)}
    assert len(rows) == len(items)
    assert rows[load_api(API_2024_08_01)[0]["paper"]["id"]]["upvotes"] == items[0]["paper"]["upvotes"]


@pytest.mark.parametrize("path", [API_2024_08_01, PAGE_2024_08_01], ids=lambda p: p.suffix)
def test_a_saved_file_with_a_byte_order_mark_imports(run_cli, tmp_path, path):
    # Windows tools and some editors save UTF-8 with a BOM; it used to hide the JSON ("no paper data").
    saved = tmp_path / path.name
    saved.write_text(path.read_text(encoding="utf-8"), encoding="utf-8-sig")
    result = run_cli("fetch", "--file", str(saved))
    assert result.exit_code == 0, result.output
    assert len(stored(run_cli)) == (11 if path.suffix == ".json" else 13)
