"""The largest digest a reader can ask for stays under Gmail's clipping size, as it goes on the wire."""

from __future__ import annotations

import email
from datetime import UTC, date, datetime
from email.policy import default

from newsletter.mime import MimeWriter
from newsletter.models import Paper, Pick
from newsletter.render import EditionRenderer, make_environment, templates_dir
from newsletter.subscribers import MAX_PER_EMAIL as MOST_PER_EMAIL
from tests.conftest import HF_API
from tests.digests import MASTHEAD, SENDER, links, papers, reader

GMAIL_CLIPS_AT = 102_000  # bytes of HTML; Gmail hides the rest behind "[Message clipped]"


def heaviest() -> list[Paper]:
    """Every fixture day's papers, those with the longest markup first: a worst case for size."""
    seen: dict[str, Paper] = {}
    for path in sorted(HF_API.glob("*.json")):
        for paper in papers(path.name):
            seen.setdefault(paper.arxiv_id, paper)

    def weight(p: Paper) -> int:
        return (
            len(p.title) + 20 * len(p.authors) + len(p.ai_summary or p.abstract) + len(p.organization or "")
        )

    return sorted(seen.values(), key=weight, reverse=True)


def test_a_thirty_paper_digest_is_not_clipped_by_gmail() -> None:
    pool = heaviest()[: MOST_PER_EMAIL + 3]
    renderer = EditionRenderer(make_environment(templates_dir()), date(2025, 10, 3), pool, MASTHEAD)
    picks = [
        Pick(p, 0.8, 0.7, "video generation with diffusion models", ("video", "generation", "diffusion"))
        for p in pool[:MOST_PER_EMAIL]
    ]
    rendered = renderer.render(reader(), picks, pool[MOST_PER_EMAIL:], links())
    raw = MimeWriter(SENDER, "2025-10-03").build(
        rendered,
        to="reader7@example.org",
        message_id="<digest.2025-10-03.7@example.org>",
        date=datetime(2025, 10, 3, 7, tzinfo=UTC),
        unsubscribe_url=links().unsubscribe,
    )
    # The HTML part as sent (quoted-printable, which its non-ASCII characters and '=' signs grow).
    boundary = email.message_from_bytes(raw, policy=default).get_boundary()
    assert boundary is not None
    html_part = next(p for p in raw.split(f"--{boundary}".encode()) if b"Content-Type: text/html" in p)
    print(f"30-paper digest: {len(html_part)} bytes of HTML part on the wire, {len(raw)} in all")
    assert len(html_part) <= GMAIL_CLIPS_AT
    assert rendered.html.count('class="card"') == MOST_PER_EMAIL
