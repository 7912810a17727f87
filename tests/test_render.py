"""The render stage's safety and its making, on real fixture papers: hostile markup and URLs that are not
http(s) arrive inert, unprintable characters are dropped, a pick outside the pool is refused and no marker is
left; twenty papers fit under Gmail's clipping, premailer runs once per issue, the same inputs give the same
bytes, and the fast path equals a full render of the templates.
"""

from __future__ import annotations

import dataclasses
import re

import jinja2
import pytest

from newsletter.models import Paper
from newsletter.render import EditionRenderer, Links, RenderedEmail, premailer_inline, render_standalone
from newsletter.render.filters import http_url
from tests import render_support
from tests.digests import MASTHEAD, reader
from tests.render_support import ISSUE_DATE, LINKS, card_of, pick, soup, text_of

# test_email_scraped_text.py takes these from here.
from tests.render_support import MODERN as MODERN
from tests.render_support import load as load

# The fixtures, from the module that holds them: the templates, the fixture day's papers, its renderer.
env = render_support.env
modern = render_support.modern
renderer = render_support.renderer

HOSTILE_TITLE = "<script>alert(1)</script> & co"


def test_hostile_paper_renders_inert_in_both_parts(env: jinja2.Environment, modern: list[Paper]) -> None:
    hostile = dataclasses.replace(
        modern[0],
        arxiv_id="2510.99999",
        title=HOSTILE_TITLE,
        github_repo="javascript:alert(1)",
        thumbnail="JaVaScRiPt:alert(2)",
        project_page="java\tscript:alert(3)",
        organization="<img src=x onerror=alert(4)>",
        authors=("<b>Mallory</b>",),
    )
    renderer = EditionRenderer(env, ISSUE_DATE, [hostile, *modern], MASTHEAD)
    chosen = pick(hostile, topic="<i>video</i>", matched=("<u>clip</u>",))
    email = renderer.render(reader(), [chosen], [hostile], LINKS)
    page = soup(email.html)
    assert page.find("script") is None and page.find("b") is None and page.find("i") is None
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in email.html
    assert "javascript" not in email.html.lower()
    urls = [str(a["href"]) for a in page.find_all(href=True)] + [
        str(i["src"]) for i in page.find_all(src=True)
    ]
    assert urls and all(u.startswith("https://") for u in urls)
    card = card_of(email.html, hostile)
    assert card.find("img") is None  # the thumbnail's URL was refused, so no image at all
    assert "GitHub" not in text_of(card) and "Project page" not in text_of(card)
    assert HOSTILE_TITLE in text_of(card)  # shown as text, intact
    assert "javascript" not in email.text.lower()
    assert HOSTILE_TITLE in email.text  # a text/plain part shows it verbatim and nothing runs it
    empty = renderer.render(reader(), [], [hostile], LINKS)
    assert "javascript" not in (empty.html + empty.text).lower()
    assert soup(empty.html).find("script") is None


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://github.com/a/b", True),
        ("http://example.org/x?y=1&z=2", True),
        ("javascript:alert(1)", False),
        (" JAVASCRIPT:alert(1)", False),
        ("java\nscript:alert(1)", False),
        ("data:text/html,<script>", False),
        ("//example.org/x", False),
        ("https:///nohost", False),
        ("", False),
        (None, False),
    ],
)
def test_only_http_urls_are_used(url: str | None, kept: bool) -> None:
    assert bool(http_url(url)) is kept


def test_links_must_be_http_urls() -> None:
    with pytest.raises(ValueError, match=re.escape("Links.unsubscribe")):
        Links(manage="https://papers.example/m", unsubscribe="javascript:alert(1)")


def test_unprintable_characters_are_dropped_not_fatal(env: jinja2.Environment, modern: list[Paper]) -> None:
    # JSON's "\ud800" decodes to a lone surrogate, at which lxml would silently drop the rest of the sheet.
    odd = dataclasses.replace(modern[0], title="Lone\ud800 NUL\x00 and\x0b tab", ai_summary="Sum\x08mary.")
    renderer = EditionRenderer(env, ISSUE_DATE, [odd], MASTHEAD)
    email = renderer.render(reader(), [pick(odd, topic="vid\x00eo")], [odd], LINKS)
    for part in (email.html, email.text, email.subject):
        part.encode("utf-8")  # would raise on a surrogate
        assert "Lone NUL and tab" in part
    assert "Summary." in email.html and "“video”" in email.text


def test_a_pick_outside_the_pool_is_refused(renderer: EditionRenderer, modern: list[Paper]) -> None:
    stranger = dataclasses.replace(modern[0], arxiv_id="2501.00001")
    with pytest.raises(KeyError, match=re.escape("2501.00001")):
        renderer.render(reader(), [pick(stranger)], [], LINKS)
    with pytest.raises(KeyError, match=re.escape("2501.00001")):
        renderer.render(reader(), [], [stranger], LINKS)


def test_no_marker_survives_into_an_email(renderer: EditionRenderer, modern: list[Paper]) -> None:
    for email in (
        renderer.render(reader(), [pick(p) for p in modern[:3]], modern[3:6], LINKS),
        renderer.render(reader(), [], modern[3:6], LINKS),
    ):
        assert not re.search(r"@@[0-9a-f]{16}:", email.html + email.text)


def test_twenty_paper_digest_fits_under_gmail_clipping(
    renderer: EditionRenderer, modern: list[Paper]
) -> None:
    # The papers with the longest markup, so this is a worst case for the fixture day.
    heavy = sorted(modern, key=lambda p: -(len(p.title) + len(p.authors) * 20 + len(p.ai_summary or "")))[:20]
    email = renderer.render(reader(), [pick(p) for p in heavy], modern[-3:], LINKS)
    size = len(email.html.encode("utf-8"))
    print(
        f"20-paper digest: {size} bytes of HTML ({size / 1024:.1f} KiB), {len(email.text.encode())} of text"
    )
    assert size <= 80_000
    page = soup(email.html)
    cards = page.find_all("table", class_="card")
    assert len(cards) == 20
    assert all("background-color" in str(c.get("style", "")) for c in cards)  # premailer inlined the sheet
    assert "prefers-color-scheme: dark" in email.html and "max-width: 620px" in email.html
    assert page.find("meta", attrs={"name": "color-scheme"}) is not None
    assert "<!--[if mso]>" in email.html


def test_premailer_runs_once_per_issue_not_per_subscriber(
    env: jinja2.Environment, modern: list[Paper]
) -> None:
    calls: list[int] = []

    def counting_inline(html: str) -> str:
        calls.append(len(html))
        return premailer_inline(html)

    renderer = EditionRenderer(env, ISSUE_DATE, modern, MASTHEAD, inline=counting_inline)
    assert len(calls) == 1
    emails = [
        renderer.render(
            reader(n), [pick(p) for p in modern[n % 13 : n % 13 + 1 + n % 20]], modern[-3:], LINKS
        )
        for n in range(50)
    ]
    assert len(calls) == 1
    assert len({e.html for e in emails}) == 50  # each subscriber did get their own email
    assert all('style="' in e.html for e in emails)


def test_same_inputs_give_byte_identical_emails(env: jinja2.Environment, modern: list[Paper]) -> None:
    def issue() -> list[RenderedEmail]:
        renderer = EditionRenderer(env, ISSUE_DATE, modern, MASTHEAD)
        return [
            renderer.render(reader(1), [pick(p) for p in modern[:20]], modern[20:23], LINKS),
            renderer.render(reader(2), [], modern[:3], LINKS),
        ]

    assert issue() == issue()


@pytest.mark.parametrize("cadence", ["daily", "weekly"])
@pytest.mark.parametrize("day", ["picks", "long reasons", "empty"])
def test_joined_pieces_equal_a_full_page_render(
    env: jinja2.Environment, renderer: EditionRenderer, modern: list[Paper], day: str, cadence: str
) -> None:
    # The fast path must produce exactly what digest.html.j2/digest.txt.j2 describe, premailer and all.
    # Long reasons wrap in the text part, where each line must end in CRLF as the rest do.
    words = (
        ("it's", "a & b") if day == "picks" else ("state space models", "selective scan", "long-range memory")
    )
    picks = [pick(p, matched=words) for p in modern[5:25]] if day != "empty" else []
    trending = modern[:3]
    sub = dataclasses.replace(reader(), cadence=cadence)
    fast = renderer.render(sub, picks, trending, LINKS)
    slow = render_standalone(env, ISSUE_DATE, MASTHEAD, sub, picks, trending, LINKS)
    assert fast.subject == slow.subject and fast.preheader == slow.preheader
    assert fast.text == slow.text
    # markupsafe writes ' as &#39; where lxml writes it raw; the same text either way.
    assert fast.html.replace("&#39;", "'") == slow.html
