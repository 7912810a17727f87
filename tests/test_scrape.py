"""The scraper on the saved real Hugging Face responses and page."""

from __future__ import annotations

import json
from datetime import date

import pytest
from bs4 import BeautifulSoup

from newsletter.scrape import ScrapeError, parse_api, parse_document, parse_page
from tests.conftest import API_2024_08_01, HF_MALFORMED, PAGE_2024_08_01, api_files, load_api


@pytest.mark.parametrize("path", api_files(), ids=lambda p: p.name)
def test_api_file_parses_one_for_one(path):
    items = load_api(path)
    result = parse_api(path.read_text())
    assert result.skipped == 0
    assert result.method == "api json"
    got = [
        (li.paper.arxiv_id, li.paper.title, li.paper.upvotes, len(li.paper.authors)) for li in result.listings
    ]
    want = [
        (
            it["paper"]["id"],
            " ".join(it["paper"]["title"].split()),
            it["paper"]["upvotes"],
            len(it["paper"]["authors"]),
        )
        for it in items
    ]
    assert got == want


def test_missing_fields_stay_empty_and_old_thumbnail_key_is_read():
    result = parse_api((API_2024_08_01.parent / "daily_papers_2024-05-29.json").read_text())
    paper = result.listings[0].paper
    assert paper.arxiv_id == "2405.18407"
    assert paper.thumbnail == "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2405.18407.png"
    assert paper.github_repo is None and paper.github_stars is None
    assert paper.ai_summary is None and paper.ai_keywords == ()
    assert paper.organization is None
    assert paper.num_comments == 5


def test_modern_schema_fields_are_read():
    path = API_2024_08_01.parent / "daily_papers_2025-10-03.json"
    raw = load_api(path)[0]["paper"]
    paper = parse_api(path.read_text()).listings[0].paper
    assert paper.github_repo == raw["githubRepo"]
    assert paper.github_stars == raw["githubStars"]
    assert paper.project_page == raw["projectPage"]
    assert paper.ai_summary == raw["ai_summary"]
    assert list(paper.ai_keywords) == raw["ai_keywords"]
    assert paper.organization == "ByteDance Seed"
    assert paper.published_at is not None and paper.published_at.date() == date(2025, 10, 2)


def test_listing_date_comes_from_submitted_on_daily():
    result = parse_api((API_2024_08_01.parent / "daily_papers_2025-05-30.json").read_text())
    assert {li.listing_date for li in result.listings} == {date(2025, 5, 30)}


def test_page_reads_embedded_json():
    result = parse_page(PAGE_2024_08_01.read_text())
    assert result.method == "embedded json"
    assert len(result.listings) == 13
    assert result.listings[0].paper.title == "The Llama 3 Herd of Models"
    assert result.listings[0].paper.upvotes == 94
    assert {li.listing_date for li in result.listings} == {date(2024, 8, 1)}


def _without_json_block(html: str) -> str:
    soup = BeautifulSoup(html, "lxml")
    block = soup.select_one('[data-target="DailyPapers"]')
    assert block is not None
    # The block wraps the server-rendered cards; drop its JSON, keep the markup.
    del block["data-props"]
    return str(soup)


def test_card_fallback_finds_same_ids_titles_and_upvotes():
    html = PAGE_2024_08_01.read_text()
    embedded = parse_page(html)
    cards = parse_page(_without_json_block(html))
    assert cards.method.startswith("html cards")
    assert "embedded json missing" in cards.method
    summary = lambda r: [(li.paper.arxiv_id, li.paper.title, li.paper.upvotes) for li in r.listings]  # noqa: E731
    assert len(cards.listings) == 13
    assert summary(cards) == summary(embedded)
    # The cards carry no author list: nothing is invented.
    assert all(li.paper.authors == () for li in cards.listings)


def test_unreadable_json_block_falls_back_to_cards_and_says_why():
    html = PAGE_2024_08_01.read_text()
    soup = BeautifulSoup(html, "lxml")
    soup.select_one('[data-target="DailyPapers"]')["data-props"] = '{"dailyPapers": [ {"truncated'
    result = parse_page(str(soup))
    assert result.method == "html cards; embedded json unreadable (Unterminated string starting at)"
    assert len(result.listings) == 13


def test_ampersand_is_not_unescaped_twice():
    props = {
        "dailyPapers": [{"paper": {"id": "2401.00001", "title": "Fish &amp; Chips & Co", "authors": []}}]
    }
    div = BeautifulSoup("<div></div>", "lxml").new_tag("div")
    div["data-target"] = "DailyPapers"
    div["data-props"] = json.dumps(props)
    html = f"<html><body>{div}</body></html>"
    assert "&amp;amp;" in html
    assert parse_page(html).listings[0].paper.title == "Fish &amp; Chips & Co"


def test_malformed_archiver_file_is_an_error():
    path = next(HF_MALFORMED.glob("*.json"))
    with pytest.raises(ScrapeError, match="none of the 26 items is a readable paper"):
        parse_document(path.read_text())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("<html><body><p>Nothing here</p></body></html>", "no paper data: embedded json missing"),
        ('[{"paper": {"id": "2401.0', "not valid JSON"),
        ('{"error": "Invalid credentials"}', "expected a JSON array"),
        ("", "no paper data"),
    ],
)
def test_documents_without_papers_are_errors(text, message):
    with pytest.raises(ScrapeError, match=message):
        parse_document(text)


def test_one_bad_item_among_good_is_skipped_and_counted():
    items = load_api(API_2024_08_01)
    items.insert(3, {"paper": {"id": "not-an-id", "title": "x"}})
    items.insert(5, {"title": "no paper object"})
    result = parse_api(json.dumps(items))
    assert result.skipped == 2
    assert len(result.listings) == 11


def test_weekend_empty_array_is_zero_papers_not_an_error():
    result = parse_api("[]")
    assert result.listings == [] and result.skipped == 0
