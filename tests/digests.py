"""Real digests for the deliverability and DKIM tests: fixture papers, rendered and built as they are sent."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from newsletter.mime import MimeWriter, Sender, message_id
from newsletter.models import Paper, Pick, Subscriber
from newsletter.render import EditionRenderer, Links, Masthead, make_environment, templates_dir
from newsletter.scrape import parse_api
from tests.conftest import HF_API

SENDER = Sender("papers@example.org", "Trending Papers", "replies@example.org", "papers.example.org")
MASTHEAD = Masthead("Trending Papers", "Example Papers Ltd, 1 Main Street, Springfield")
MODERN = "daily_papers_2025-10-03.json"  # ai_summary, githubStars, organization, thumbnails
OLDEST = "daily_papers_2024-05-29.json"  # the oldest schema: no ai_summary, mediaUrl thumbnails


@dataclass(frozen=True)
class Case:
    """One digest: the fixture day it is drawn from, and which of its papers are picks and trending."""

    name: str
    fixture: str
    day: date
    picks: slice
    trending: slice
    heaviest: bool = False  # picks are the papers with the longest markup, a worst case for size


CASES = (
    Case("modern 2025-10-03, 10 picks", MODERN, date(2025, 10, 3), slice(0, 10), slice(10, 13)),
    Case("oldest schema 2024-05-29, 10 picks", OLDEST, date(2024, 5, 29), slice(0, 10), slice(10, 13)),
    Case("empty day, trending only", MODERN, date(2025, 10, 3), slice(0, 0), slice(0, 3)),
    Case("20-paper digest", MODERN, date(2025, 10, 3), slice(0, 20), slice(-3, None), heaviest=True),
    Case("1-paper digest", MODERN, date(2025, 10, 3), slice(3, 4), slice(0, 0)),
)


@functools.cache
def papers(fixture: str) -> tuple[Paper, ...]:
    """The papers of one saved API response, in its order."""
    text = (HF_API / fixture).read_text(encoding="utf-8")
    return tuple(listing.paper for listing in parse_api(text).listings)


@functools.cache
def renderer(fixture: str, day: date, masthead: Masthead = MASTHEAD) -> EditionRenderer:
    # One renderer per pool, as in a real issue: premailer runs once for all the digests drawn from it.
    return EditionRenderer(make_environment(templates_dir()), day, papers(fixture), masthead)


def reader(n: int = 7) -> Subscriber:
    """An active subscriber with ordinary topics."""
    return Subscriber(
        id=n,
        email=f"reader{n}@example.org",
        status="active",
        topics=("video generation", "reasoning"),
        excludes=(),
        timezone="UTC",
        hour=7,
        cadence="daily",
        weekday=0,
        per_email=20,
        created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


def links(n: int = 7) -> Links:
    """Manage and unsubscribe links shaped like the real signed ones."""
    token = f"eyJzIjo{n}LCJmIjoiNTllNDQ1OWNkMjE0YThkNiJ9.awbnpQ.UiUPGi2TG8Rrusq"
    return Links(
        manage=f"https://papers.example.org/manage/{token}",
        unsubscribe=f"https://papers.example.org/unsubscribe/{token}",
    )


def picks_of(case: Case) -> tuple[list[Pick], list[Paper]]:
    """The case's picks (with a why line) and trending papers."""
    pool = papers(case.fixture)
    chosen: Sequence[Paper] = pool
    if case.heaviest:
        chosen = sorted(pool, key=lambda p: -(len(p.title) + len(p.authors) * 20 + len(p.ai_summary or "")))
    picks = [Pick(p, 0.8, 0.7, "video generation", ("video", "diffusion")) for p in chosen[case.picks]]
    return picks, list(pool[case.trending])


def build(case: Case, now: datetime, masthead: Masthead = MASTHEAD, sender: Sender = SENDER) -> bytes:
    """The case's digest as the MIME bytes `Edition.message` hands to the transport."""
    sub = reader()
    picks, trending = picks_of(case)
    rendered = renderer(case.fixture, case.day, masthead).render(sub, picks, trending, links(sub.id))
    issue = case.day.isoformat()
    return MimeWriter(sender, issue).build(
        rendered,
        to=sub.email,
        message_id=message_id(issue, sub.id, sender),
        date=now,
        unsubscribe_url=links(sub.id).unsubscribe,
    )
