"""Real HF fixture papers for the ranking tests, and a one-paper score."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from newsletter.models import Paper
from newsletter.rank import LexicalScorer
from newsletter.rank.text import analyse
from newsletter.scrape import parse_api

FIXTURES = Path(__file__).parent / "fixtures"


@cache
def hf_papers() -> tuple[Paper, ...]:
    """Every paper of the saved HF API responses, in file order."""
    papers: list[Paper] = []
    for path in sorted((FIXTURES / "hf" / "api").glob("*.json")):
        papers.extend(listing.paper for listing in parse_api(path.read_text(encoding="utf-8")).listings)
    return tuple(papers)


def paper(arxiv_id: str) -> Paper:
    return next(p for p in hf_papers() if p.arxiv_id == arxiv_id)


def keys(text: str) -> set[str]:
    return {term.key for term in analyse(text)}


def score_of(topic: str, arxiv_id: str, scorer: LexicalScorer | None = None) -> float:
    papers = list(hf_papers())
    index = next(i for i, p in enumerate(papers) if p.arxiv_id == arxiv_id)
    return float((scorer or LexicalScorer()).score(papers, [topic])[0, index])
