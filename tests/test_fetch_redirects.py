"""Redirects while fetching: followed on the same host and up to https, refused to http or elsewhere."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from newsletter.app import open_store
from newsletter.config import DatabaseSettings
from tests.conftest import API_2024_08_01, PAGE_2024_08_01, load_api

PAGE = PAGE_2024_08_01.read_text()
TRENDING = "https://huggingface.co/papers/trending"
# Retries stay on: a refused redirect must not be asked again, however many retries are allowed.
RETRIES = {"NEWSLETTER_SOURCES_RETRIES": "3", "NEWSLETTER_SOURCES_BACKOFF_S": "0.01"}

Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class Web:
    """A fake network keyed by scheme, host and path (not just path): unknown addresses answer 404."""

    def __init__(self, routes: dict[str, Answer]) -> None:
        self.routes = routes
        self.asked: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.asked.append(str(request.url))
        url = request.url
        answer = self.routes.get(f"{url.scheme}://{url.netloc.decode()}{url.path}")
        if answer is None:
            return httpx.Response(404, text="not found")
        return answer(request) if callable(answer) else answer

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def moved(location: str, code: int = 301) -> httpx.Response:
    return httpx.Response(code, headers={"location": location})


def page() -> httpx.Response:
    return httpx.Response(200, html=PAGE)


def stored_ids(run_cli) -> list[str]:
    result = run_cli("papers", "--json")
    assert result.exit_code == 0, result.output
    return [json.loads(line)["arxiv_id"] for line in result.stdout.splitlines()]


def last_fetch_error(run_cli) -> str | None:
    store = open_store(DatabaseSettings(url=run_cli.env["NEWSLETTER_DATABASE_URL"]))
    try:
        return store.papers.recent_fetches()[0].error
    finally:
        store.dispose()


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("http://huggingface.co/papers/trending", "http://huggingface.co/papers/trending"),
        # A Location with a scheme and no host: httpx keeps the host and takes the scheme.
        ("http:/papers/trending", "http://huggingface.co/papers/trending"),
    ],
    ids=["absolute", "scheme-only"],
)
def test_a_redirect_from_https_to_http_is_refused_and_stored_papers_are_kept(run_cli, location, target):
    assert run_cli("fetch", "--file", str(API_2024_08_01)).exit_code == 0
    before = stored_ids(run_cli)
    plain = Web({TRENDING: moved(location), "http://huggingface.co/papers/trending": page()})

    result = run_cli("fetch", transport=plain.transport, env=RETRIES)

    assert result.exit_code == 3, result.output
    refusal = f"hf-trending: refused redirect from {TRENDING} to {target} (leaves https)"
    assert error_lines(result.stderr) == [f"error: source unreachable: {refusal}"]
    assert "Traceback" not in result.output
    # Asked once: the plain-http address was never fetched, and the refusal was not retried.
    assert plain.asked == [TRENDING]
    assert stored_ids(run_cli) == before
    assert last_fetch_error(run_cli) == refusal


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("https://mirror.example/papers/trending", "https://mirror.example/papers/trending"),
        # Scheme-relative: same scheme, another host.
        ("//mirror.example/papers/trending", "https://mirror.example/papers/trending"),
        # A subdomain other than www. may be someone else's.
        ("https://papers.huggingface.co/trending", "https://papers.huggingface.co/trending"),
    ],
    ids=["absolute", "scheme-relative", "subdomain"],
)
def test_a_redirect_to_another_host_is_refused(run_cli, location, target):
    elsewhere = Web({TRENDING: moved(location, 302), target: page()})

    result = run_cli("fetch", transport=elsewhere.transport, env=RETRIES)

    assert result.exit_code == 3, result.output
    assert error_lines(result.stderr) == [
        f"error: source unreachable: hf-trending: refused redirect from {TRENDING} to {target} (another host)"
    ]
    assert elsewhere.asked == [TRENDING]
    assert stored_ids(run_cli) == []


def test_a_hop_to_another_host_later_in_a_chain_is_refused(run_cli):
    # The first hop stays on the host; each hop is checked, not just the first.
    chain = Web(
        {
            TRENDING: moved("/papers/trending/today", 307),
            f"{TRENDING}/today": moved("https://mirror.example/papers", 308),
        }
    )
    result = run_cli("fetch", transport=chain.transport, env=RETRIES)
    assert result.exit_code == 3, result.output
    [error] = error_lines(result.stderr)
    assert error.endswith(
        f"refused redirect from {TRENDING}/today to https://mirror.example/papers (another host)"
    )
    assert chain.asked == [TRENDING, f"{TRENDING}/today"]


def test_a_same_host_redirect_is_followed_and_its_papers_stored(run_cli):
    def with_query(request: httpx.Request) -> httpx.Response:
        return page() if request.url.params.get("x") == "1" else moved("/papers/trending?x=1", 302)

    same = Web({TRENDING: with_query})

    result = run_cli("fetch", transport=same.transport, env=RETRIES)

    assert result.exit_code == 0, result.output
    assert "scrape: hf-trending, 1 page, 13 papers (embedded json), 13 new" in result.stderr
    assert same.asked == [TRENDING, f"{TRENDING}?x=1"]
    assert len(stored_ids(run_cli)) == 13
    assert last_fetch_error(run_cli) is None


def test_www_and_the_bare_host_are_one_site(run_cli):
    # A site settling on its bare name: a base URL written with www. must still fetch.
    www = Web({"https://www.huggingface.co/papers/trending": moved(TRENDING), TRENDING: page()})
    env = {**RETRIES, "NEWSLETTER_SOURCES_BASE_URL": "https://www.huggingface.co"}
    result = run_cli("fetch", transport=www.transport, env=env)
    assert result.exit_code == 0, result.output
    assert len(stored_ids(run_cli)) == 13


def test_an_upgrade_from_http_to_https_is_followed_but_not_a_way_back(run_cli):
    env = {**RETRIES, "NEWSLETTER_SOURCES_BASE_URL": "http://huggingface.co"}
    upgrade = Web({"http://huggingface.co/papers/trending": moved(TRENDING), TRENDING: page()})

    result = run_cli("fetch", transport=upgrade.transport, env=env)

    assert result.exit_code == 0, result.output
    assert upgrade.asked == ["http://huggingface.co/papers/trending", TRENDING]
    assert len(stored_ids(run_cli)) == 13

    # Once on https, the chain may not step down again.
    back = Web(
        {
            "http://huggingface.co/papers/trending": moved(TRENDING),
            TRENDING: moved("http://huggingface.co/papers/trending?again"),
        }
    )
    result = run_cli("fetch", transport=back.transport, env=env)
    assert result.exit_code == 3, result.output
    [error] = error_lines(result.stderr)
    assert error.endswith(f"from {TRENDING} to http://huggingface.co/papers/trending?again (leaves https)")
    assert len(back.asked) == 2


def test_a_refused_redirect_among_several_sources_is_reported_and_the_others_stored(run_cli):
    api = "https://huggingface.co/api/daily_papers"
    net = Web(
        {
            TRENDING: moved("http://huggingface.co/papers/trending"),
            api: httpx.Response(200, json=load_api(API_2024_08_01)),
        }
    )
    env = {**RETRIES, "NEWSLETTER_SOURCES_ENABLED": "hf-trending, hf-api"}

    result = run_cli("fetch", "--date", "2024-08-01", transport=net.transport, env=env)

    # As with any unreachable source: named, counted, and the papers that came are stored.
    assert result.exit_code == 0, result.output
    [error] = error_lines(result.stderr)
    assert error.startswith("error: source unreachable: hf-trending: refused redirect from")
    assert "fetch: 1 source fetched; failed: hf-trending: source unreachable" in result.stderr
    assert len(stored_ids(run_cli)) == len(load_api(API_2024_08_01))
