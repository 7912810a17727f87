"""Odd but plausible items in real API responses and pages: each is read, or logged, counted and skipped."""

from __future__ import annotations

import json
from datetime import date

from bs4 import BeautifulSoup

from newsletter.scrape import parse_api, parse_page
from tests.conftest import API_2024_08_01, PAGE_2024_08_01, load_api


def test_versioned_ids_are_stored_bare_so_a_paper_stays_one_paper():
    items = load_api(API_2024_08_01)
    items[0]["paper"]["id"] += "v2"
    items[1]["paper"]["id"] = "hep-th/9901001v3"
    ids = [li.paper.arxiv_id for li in parse_api(json.dumps(items)).listings]
    assert ids[:2] == [load_api(API_2024_08_01)[0]["paper"]["id"], "hep-th/9901001"]
    assert len(ids) == len(items)


def test_versioned_card_links_are_read_bare():
    soup = BeautifulSoup(PAGE_2024_08_01.read_text(), "lxml")
    # The cards alone, as in a layout without the embedded JSON; one card links a versioned id.
    del soup.select_one('[data-target="DailyPapers"]')["data-props"]
    for anchor in soup.select('article a[href="/papers/2407.21783"]'):
        anchor["href"] = "/papers/2407.21783v1"
    result = parse_page(str(soup))
    assert result.listings[0].paper.arxiv_id == "2407.21783"
    assert result.listings[0].paper.upvotes == 94
    assert len(result.listings) == 13


def test_ai_keywords_that_are_not_a_list_are_no_keywords():
    items = load_api(API_2024_08_01.parent / "daily_papers_2025-07-22.json")[:3]
    want = [k.strip() for k in items[2]["paper"]["ai_keywords"]]
    items[0]["paper"]["ai_keywords"] = "diffusion"
    items[1]["paper"]["ai_keywords"] = {"diffusion": 1}
    papers = [li.paper for li in parse_api(json.dumps(items)).listings]
    assert [p.ai_keywords for p in papers[:2]] == [(), ()]
    assert list(papers[2].ai_keywords) == want and want


def _with_daily_papers(change) -> str:
    soup = BeautifulSoup(PAGE_2024_08_01.read_text(), "lxml")
    block = soup.select_one('[data-target="DailyPapers"]')
    props = json.loads(block["data-props"])
    props["dailyPapers"] = change(props["dailyPapers"])
    block["data-props"] = json.dumps(props)
    return str(soup)


def test_embedded_items_in_an_unknown_shape_fall_back_to_the_cards():
    # HF renames a field in the JSON but still renders the cards: the cards are read, not an error.
    html = _with_daily_papers(lambda items: [{"paperInfo": item["paper"]} for item in items])
    result = parse_page(html)
    assert result.method == ("html cards; embedded json unusable (none of the 13 items is a readable paper)")
    assert [li.paper.upvotes for li in result.listings][:1] == [94]
    assert len(result.listings) == 13
    # The page's own date still dates the cards.
    assert {li.listing_date for li in result.listings} == {date(2024, 8, 1)}


def test_an_empty_embedded_list_beside_cards_reads_the_cards():
    result = parse_page(_with_daily_papers(lambda items: []))
    assert result.method == "html cards; embedded json lists no papers"
    assert len(result.listings) == 13


def test_an_empty_embedded_list_without_cards_is_an_empty_day():
    html = '<div class="SVELTE_HYDRATER" data-target="DailyPapers" data-props=\'{"dailyPapers": []}\'></div>'
    result = parse_page(f"<html><body>{html}</body></html>")
    assert (result.listings, result.method, result.skipped) == ([], "embedded json", 0)
