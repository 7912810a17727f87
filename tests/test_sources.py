"""Fetching from the network, faked only at the transport: retries, backoff, paging and failures."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date

import httpx
import pytest

from newsletter import app
from newsletter.collect import SourceUnreachable, collect_source
from newsletter.config import SourcesSettings
from tests.conftest import API_2024_08_01, FIXED_NOW, PAGE_2024_08_01, load_api
from tests.scripted_http import ScriptedHttp, ok, status

FAST = SourcesSettings(backoff_s=0.01, retries=3, timeout_s=5)
PAGE = PAGE_2024_08_01.read_text()
API_TEXT = API_2024_08_01.read_text()


def run(store, net: ScriptedHttp, name: str, day: date | None = None, settings: SourcesSettings = FAST):
    with app.build_http_client(settings, net.transport) as client:
        return collect_source(client, store, settings, name, day, FIXED_NOW)


def test_trending_page_is_fetched_with_our_user_agent(store):
    net = ScriptedHttp({"/papers/trending": [ok(PAGE)]})
    report = run(store, net, "hf-trending")
    assert (report.papers, report.new, report.method) == (13, 13, "embedded json")
    assert net.requests[0].headers["user-agent"].startswith("newsletter/")
    assert len(store.papers.listed()) == 13


def test_daily_page_uses_the_date_in_the_path(store):
    net = ScriptedHttp({"/papers/date/2024-08-01": [ok(PAGE)]})
    report = run(store, net, "hf-daily", date(2024, 8, 1))
    assert report.papers == 13
    assert len(store.papers.listed(date(2024, 8, 1))) == 13


def test_api_pages_with_p_until_a_short_page(store):
    items = load_api(API_2024_08_01)

    def page(request: httpx.Request) -> httpx.Response:
        p, limit = int(request.url.params["p"]), int(request.url.params["limit"])
        assert request.url.params["date"] == "2024-08-01"
        assert request.url.params["sort"] == "trending"
        return ok(json.dumps(items[p * limit : (p + 1) * limit]), "application/json")

    net = ScriptedHttp({"/api/daily_papers": [page]})
    report = run(store, net, "hf-api", date(2024, 8, 1), replace(FAST, api_limit=4))
    assert [r.url.params["p"] for r in net.requests] == ["0", "1", "2"]
    assert (report.pages, report.papers, report.new) == (3, 11, 11)


def test_429_then_200_honours_retry_after(store):
    net = ScriptedHttp({"/papers/trending": [status(429, **{"Retry-After": "1"}), ok(PAGE)]})
    report = run(store, net, "hf-trending")
    assert report.papers == 13
    assert net.count("/papers/trending") == 2


def test_503_three_times_then_200_succeeds(store):
    net = ScriptedHttp({"/papers/trending": [status(503), status(503), status(503), ok(PAGE)]})
    assert run(store, net, "hf-trending").papers == 13
    assert net.count("/papers/trending") == 4


def test_503_beyond_the_retry_budget_is_unreachable_and_stores_nothing(store):
    net = ScriptedHttp({"/papers/trending": [status(503)]})
    with pytest.raises(SourceUnreachable, match="HTTP 503"):
        run(store, net, "hf-trending")
    assert net.count("/papers/trending") == 1 + FAST.retries
    assert store.papers.listed() == []
    assert store.papers.recent_fetches()[0].error is not None


def test_timeout_is_retried(store):
    net = ScriptedHttp({"/papers/trending": [httpx.ReadTimeout("slow"), ok(PAGE)]})
    assert run(store, net, "hf-trending").papers == 13
    assert net.count("/papers/trending") == 2


def test_timeouts_every_time_are_unreachable(store):
    net = ScriptedHttp({"/papers/trending": [httpx.ConnectTimeout("slow")]})
    with pytest.raises(SourceUnreachable, match="timed out"):
        run(store, net, "hf-trending")
    assert store.papers.listed() == []


def test_500_is_unreachable_after_retries(store):
    net = ScriptedHttp({"/papers/trending": [status(500)]})
    with pytest.raises(SourceUnreachable, match="HTTP 500"):
        run(store, net, "hf-trending")
    assert net.count("/papers/trending") == 4


def test_404_is_not_retried(store):
    net = ScriptedHttp({})
    with pytest.raises(SourceUnreachable, match="HTTP 404"):
        run(store, net, "hf-daily", date(2024, 8, 1))
    assert len(net.requests) == 1


def test_redirect_to_login_is_unreachable(store):
    login = httpx.Response(302, headers={"location": "/login?next=%2Fpapers%2Ftrending"})
    net = ScriptedHttp({"/papers/trending": [login], "/login": [ok("<html><form>Sign in</form></html>")]})
    with pytest.raises(SourceUnreachable, match="redirected to a login page"):
        run(store, net, "hf-trending")
    assert store.papers.listed() == []


def test_api_page_failing_midway_stores_nothing(store):
    items = load_api(API_2024_08_01)
    net = ScriptedHttp({"/api/daily_papers": [ok(json.dumps(items[:4]), "application/json"), status(503)]})
    with pytest.raises(SourceUnreachable):
        run(store, net, "hf-api", date(2024, 8, 1), replace(FAST, api_limit=4))
    assert store.papers.listed() == []


def test_refetch_updates_upvotes_without_duplicating(store):
    net = ScriptedHttp({"/api/daily_papers": [ok(API_TEXT, "application/json")]})
    run(store, net, "hf-api", date(2024, 8, 1))
    net = ScriptedHttp({"/papers/date/2024-08-01": [ok(PAGE)]})
    report = run(store, net, "hf-daily", date(2024, 8, 1))
    assert (report.new, report.updated) == (2, 11)
    papers = {p.paper.arxiv_id: p for p in store.papers.listed()}
    assert len(papers) == 13
    assert papers["2407.21783"].paper.upvotes == 94
    # The card-less API import had authors; the page's JSON has them too, and nothing is erased.
    assert len(papers["2407.21783"].paper.authors) > 500
    assert papers["2407.21783"].first_source == "hf-api"


def test_cli_offline_exits_3_and_writes_no_papers(run_cli):
    # Port 9 on loopback refuses connections: the shape of a machine with no network.
    result = run_cli(
        "fetch", env={"NEWSLETTER_SOURCES_BASE_URL": "http://127.0.0.1:9", "NEWSLETTER_SOURCES_RETRIES": "0"}
    )
    assert result.exit_code == 3, result.output
    assert "source unreachable" in result.stderr
    assert run_cli("papers", "--json").stdout == ""


def test_cli_fetch_through_a_scripted_network(run_cli):
    net = ScriptedHttp({"/papers/trending": [ok(PAGE)]})
    result = run_cli("fetch", transport=net.transport)
    assert result.exit_code == 0, result.output
    assert "scrape: hf-trending, 1 page, 13 papers (embedded json), 13 new, 0 updated" in result.stderr
    # One count line per stage: httpx's own line for each request stays out of the log.
    assert "HTTP Request" not in result.stderr


def test_main_job_offline_says_source_unreachable_and_exits_3(run_cli):
    # README's first command runs `newsletter run --once`; offline it must fail clearly.
    offline = {"NEWSLETTER_SOURCES_BASE_URL": "http://127.0.0.1:9", "NEWSLETTER_SOURCES_RETRIES": "0"}
    result = run_cli("run", "--once", env=offline)
    assert result.exit_code == 3, result.output
    assert "error: source unreachable: hf-trending" in result.stderr
    assert "Traceback" not in result.output
    assert run_cli("papers", "--json", env=offline).stdout == ""


def test_a_paper_listed_twice_on_a_full_api_page_is_skipped_and_paging_goes_on(store, caplog):
    items = load_api(API_2024_08_01)
    # A full page of 4 with one paper twice (the trending order shifting while HF builds the page).
    pages = [[items[0], items[1], items[0], items[2]], items[3:7], items[7:9]]

    def page(request: httpx.Request) -> httpx.Response:
        p = int(request.url.params["p"])
        return ok(json.dumps(pages[p] if p < len(pages) else []), "application/json")

    net = ScriptedHttp({"/api/daily_papers": [page]})
    report = run(store, net, "hf-api", date(2024, 8, 1), replace(FAST, api_limit=4))
    assert [r.url.params["p"] for r in net.requests] == ["0", "1", "2"]
    assert (report.pages, report.papers, report.new, report.skipped) == (3, 9, 9, 1)
    assert f"skipped item 2: {items[0]['paper']['id']}: listed twice" in caplog.text
    assert len(store.papers.listed()) == 9


def test_a_paper_on_two_api_pages_is_stored_once(store):
    items = load_api(API_2024_08_01)
    # Between the requests for p=0 and p=1 the trending order shifted: items[3] reaches both pages.
    pages = [items[0:4], items[3:7], items[6:8]]

    def page(request: httpx.Request) -> httpx.Response:
        p = int(request.url.params["p"])
        return ok(json.dumps(pages[p] if p < len(pages) else []), "application/json")

    net = ScriptedHttp({"/api/daily_papers": [page]})
    # It stopped the fetch: "store: IntegrityError: UNIQUE constraint failed", nothing stored.
    report = run(store, net, "hf-api", date(2024, 8, 1), replace(FAST, api_limit=4))
    assert (report.pages, report.papers, report.new, report.skipped) == (3, 8, 8, 0)
    assert len(store.papers.listed()) == 8


def test_an_api_that_ignores_the_page_number_is_read_once(store, caplog):
    items = load_api(API_2024_08_01)
    net = ScriptedHttp({"/api/daily_papers": [lambda request: ok(json.dumps(items[:4]), "application/json")]})
    report = run(store, net, "hf-api", date(2024, 8, 1), replace(FAST, api_limit=4, api_max_pages=5))
    # The second page brought nothing new: it asked no third, where it asked all five.
    assert [r.url.params["p"] for r in net.requests] == ["0", "1"]
    assert (report.papers, report.new) == (4, 4)
    full = [lambda request: ok(json.dumps(items[int(request.url.params["p"]) * 2 :][:2]), "application/json")]
    report = run(
        store,
        ScriptedHttp({"/api/daily_papers": full}),
        "hf-api",
        date(2024, 8, 1),
        replace(FAST, api_limit=2, api_max_pages=3),
    )
    assert report.pages == 3 and "hf-api stopped after api_max_pages=3 full pages" in caplog.text


def test_an_html_error_page_where_json_was_expected_says_so(run_cli):
    page = "<!doctype html><html><head><title>503 Service Unavailable</title></head><body>Busy</body></html>"
    net = ScriptedHttp({"/api/daily_papers": [ok(page)]})
    result = run_cli("fetch", "--source", "hf-api", "--date", "2024-08-01", transport=net.transport)
    assert result.exit_code == 2, result.output
    assert "error: source unreadable: hf-api: expected JSON, got an HTML page" in result.stderr
    assert "Traceback" not in result.output
