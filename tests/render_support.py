"""What the render tests share: the fixture day's papers and the renderer made from them, a pick, the links,
and ways to find a paper's card and read its text and links.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import jinja2
import pytest
from bs4 import BeautifulSoup, Tag

from newsletter.models import Paper, Pick
from newsletter.render import EditionRenderer, Links, make_environment, templates_dir
from newsletter.scrape import parse_api
from tests.digests import MASTHEAD

HF_API = Path(__file__).parent / "fixtures" / "hf" / "api"
MODERN = HF_API / "daily_papers_2025-10-03.json"  # ai_summary, githubStars, organization
ISSUE_DATE = date(2025, 10, 3)  # a Friday
LINKS = Links(
    manage="https://papers.example/manage/tok-m?a=1&b=2",
    unsubscribe="https://papers.example/unsubscribe/tok-u",
)


def load(path: Path) -> list[Paper]:
    return [listing.paper for listing in parse_api(path.read_text(encoding="utf-8")).listings]


def pick(
    paper: Paper, topic: str = "video generation", matched: tuple[str, ...] = ("video", "diffusion")
) -> Pick:
    return Pick(paper=paper, score=0.8, relevance=0.7, topic=topic, matched=matched)


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def card_of(html: str, paper: Paper) -> Tag:
    title = soup(html).find("a", class_="title", href=paper.hf_url)
    assert isinstance(title, Tag), f"no card for {paper.arxiv_id}"
    card = title.find_parent("table", class_="card")
    assert isinstance(card, Tag)
    return card


def text_of(node: Tag) -> str:
    return " ".join(node.get_text(" ").split())


def hrefs(node: Tag) -> list[str]:
    return [str(a["href"]) for a in node.find_all("a", href=True)]


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return make_environment(templates_dir())


@pytest.fixture(scope="module")
def modern() -> list[Paper]:
    papers = load(MODERN)
    assert len(papers) == 39
    return papers


@pytest.fixture(scope="module")
def renderer(env: jinja2.Environment, modern: list[Paper]) -> EditionRenderer:
    return EditionRenderer(env, ISSUE_DATE, modern, MASTHEAD)
