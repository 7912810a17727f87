"""The scraper on the saved Daily Papers page, mutated: a ScrapeResult or a ScrapeError, nothing else.

The page (tests/fixtures/hf) is damaged: its data-props attribute removed, retargeted or corrupted, its
cards removed, and on the fallback path (the cards without the embedded JSON) hrefs, titles and vote counts
altered. Whatever parses must hold only papers whose arxiv_id is a real (ASCII) arXiv id and whose title is
not blank. The unmutated corpus, page and API files alike, must parse, or the fuzz tests nothing.

The CI profile keeps this bounded; for the long fuzz:

    .venv/bin/pytest tests/faults/test_fuzz_scrape_page.py --hypothesis-profile=long
"""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from newsletter.scrape import parse_document, parse_page
from tests.conftest import PAGE_2024_08_01
from tests.faults.fuzz_scrape_support import (
    API_ITEMS,
    API_TEXTS,
    TRICKY,
    check,
    huge_strings,
    json_values,
    mutated_items,
    near_arxiv_ids,
    text_mutations,
)
from tests.faults.hypothesis_profiles import NO_SHRINK, budget

# --- the saved page -----------------------------------------------------------------------------


PAGE = PAGE_2024_08_01.read_text(encoding="utf-8")
CARDS = re.findall(r"<article\b.*?</article>", PAGE, flags=re.S)
# The page's own cards without the 200 KB of embedded JSON: the fallback path, cheap enough to fuzz hard.
CARD_PAGE = (
    '<!doctype html><html><body><section class="papers">' + "\n".join(CARDS) + "</section></body></html>"
)
PROPS = re.search(r'data-props="([^"]*)"', PAGE[PAGE.find('data-target="DailyPapers"') :])
assert CARDS and PROPS, "the saved page changed shape; update the fuzz corpus"


def _without_props(page: str) -> str:
    return page.replace(f'data-props="{PROPS.group(1)}"', "", 1)


def _with_props(page: str, props_json: str) -> str:
    return page.replace(PROPS.group(1), html.escape(props_json, quote=True), 1)


@st.composite
def page_mutations(draw: st.DrawFn) -> str:
    """The saved page with its embedded JSON and cards damaged, 1..3 ways at once."""
    page = PAGE
    for _ in range(draw(st.integers(1, 3))):
        op = draw(
            st.sampled_from(["drop-props", "retarget", "props-text", "props-json", "drop-cards", "text"])
        )
        if op == "drop-props" and PROPS.group(1) in page:
            page = _without_props(page)
        elif op == "retarget":
            page = page.replace(
                'data-target="DailyPapers"',
                f'data-target="{draw(st.sampled_from(["", "X", "dailypapers"]))}"',
            )
        elif op == "props-text" and PROPS.group(1) in page:
            raw = html.unescape(PROPS.group(1))
            page = _with_props(page, draw(text_mutations(raw, max_ops=2)))
        elif op == "props-json" and PROPS.group(1) in page:
            props = json.loads(html.unescape(PROPS.group(1)))
            props["dailyPapers"] = draw(st.one_of(json_values, mutated_items(max_items=13)))
            if draw(st.booleans()):
                props["date"] = draw(json_values)
            page = _with_props(page, json.dumps(props))
        elif op == "drop-cards":
            keep = draw(st.lists(st.booleans(), min_size=len(CARDS), max_size=len(CARDS)))
            for card, kept in zip(CARDS, keep, strict=True):
                if not kept:
                    page = page.replace(card, "", 1)
        else:
            page = draw(text_mutations(page, max_ops=2))
    return page


@given(page_mutations())
@budget(0.3, at_least=8)
def test_page_mutations_parse_or_raise_scrape_error(page: str) -> None:
    check(parse_page, page)


def test_the_unmutated_corpus_parses() -> None:
    # The fuzz starts from files that parse; if they stop parsing the fuzz tests nothing.
    assert check(parse_page, PAGE) and check(parse_page, CARD_PAGE)
    for name, text in API_TEXTS.items():
        if name in API_ITEMS and "malformed" not in name and "corrupted" not in name:
            assert check(parse_document, text), name


# Vote counts as they might be rendered: separators, signs, and digits that str.isdigit() accepts.
vote_texts = st.sampled_from(["0", "1,234", " 7 ", "", "-1", "1e3", "²", "³", "١٢", "\uff11\uff12", "⑫", "½"])


@st.composite
def card_mutations(draw: st.DrawFn) -> str:
    """The page's cards alone (the fallback path) with hrefs, titles and vote counts altered."""
    cards = list(CARDS)
    hrefs = st.one_of(near_arxiv_ids, st.sampled_from(TRICKY), st.text(max_size=20))
    titles = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30), huge_strings)
    votes = st.one_of(vote_texts, st.text(max_size=6), st.integers().map(str))

    def new_href(_match: re.Match[str]) -> str:
        return f'href="/papers/{html.escape(draw(hrefs))}"'

    def new_title(match: re.Match[str]) -> str:
        return match.group(1) + html.escape(draw(titles))

    def new_votes(match: re.Match[str]) -> str:
        return match.group(1) + html.escape(draw(votes))

    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(cards) - 1))
        card = cards[index]
        op = draw(st.sampled_from(["href", "title", "votes", "text", "drop-h3", "duplicate"]))
        if op == "href":
            card = re.sub(r'href="/papers/[^"]*"', new_href, card)
        elif op == "title":
            card = re.sub(r"(<h3[^>]*><a [^>]*>)[^<]*", new_title, card, count=1)
        elif op == "votes":
            card = re.sub(r'(<div class="leading-none">)[^<]*', new_votes, card, count=1)
        elif op == "drop-h3":
            card = re.sub(r"<h3.*?</h3>", "", card, count=1, flags=re.S)
        elif op == "duplicate":
            cards.insert(index, card)
        else:
            card = draw(text_mutations(card, max_ops=2))
        cards[index] = card
    return CARD_PAGE.replace("\n".join(CARDS), "\n".join(cards))


# Regression (found by this fuzzing, now fixed): the HTML-card fallback of newsletter/scrape.py raises
# other exceptions than ScrapeError: _card_upvotes (line 216) -> _int('²') raises ValueError
# (str.isdigit() is true for '²' and int() refuses it, line 242), and _paper_from_card builds a CSS
# selector from the raw href (line 194): an href holding a quote, a backslash or a newline raises
# soupsieve's SelectorSyntaxError; a href ending in a newline also passes ARXIV_ID ('$' matches before a
# final newline), giving arxiv_id '2407.21783\n'


@pytest.mark.filterwarnings("ignore:Generating overly large repr")  # the failing example is a whole page
@given(card_mutations())
@budget(2.0, report_multiple_bugs=False, phases=NO_SHRINK)
def test_card_mutations_parse_or_raise_scrape_error(page: str) -> None:
    check(parse_page, page)


@example(votes="²")
@given(st.sampled_from(["²", "³", "¹", "①", "⑽", "\U0001d7da"]))
def test_a_superscript_vote_count_is_not_a_crash(votes: str) -> None:
    page = CARD_PAGE.replace(
        '<div class="leading-none">94</div>', f'<div class="leading-none">{votes}</div>', 1
    )
    check(parse_page, page)


@example(suffix="&quot;")
@example(suffix="\n")
@given(st.sampled_from(["&quot;", "\n", "\\", "?q=&quot;]", "#&quot;"]))
def test_a_card_href_with_quotes_or_newlines_is_not_a_crash(suffix: str) -> None:
    page = CARD_PAGE.replace('href="/papers/2407.21783"', f'href="/papers/2407.21783{suffix}"')
    check(parse_page, page)
