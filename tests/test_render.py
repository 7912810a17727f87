"""The render stage on real fixture papers: cards, empty day, escaping, size, premailer once per issue."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import jinja2
import pytest
from bs4 import BeautifulSoup, Tag

from newsletter.models import Paper, Pick
from newsletter.render import (
    EditionRenderer,
    Links,
    RenderedEmail,
    make_environment,
    premailer_inline,
    render_standalone,
    templates_dir,
)
from newsletter.render.filters import authors_line, cut_at_sentence, http_url, short_date
from newsletter.scrape import parse_api
from tests.digests import MASTHEAD, reader

HF_API = Path(__file__).parent / "fixtures" / "hf" / "api"
MODERN = HF_API / "daily_papers_2025-10-03.json"  # ai_summary, githubStars, organization
OLDEST = HF_API / "daily_papers_2024-05-29.json"  # no ai_summary, mediaUrl thumbnails
ISSUE_DATE = date(2025, 10, 3)  # a Friday
LINKS = Links(
    manage="https://papers.example/manage/tok-m?a=1&b=2",
    unsubscribe="https://papers.example/unsubscribe/tok-u",
)
HOSTILE_TITLE = "<script>alert(1)</script> & co"


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


def full_paper(papers: Sequence[Paper]) -> Paper:
    """A fixture paper that has every optional field a card can show."""
    return next(
        p
        for p in papers
        if p.thumbnail
        and p.github_repo
        and p.github_stars
        and p.project_page
        and p.ai_summary
        and len(p.authors) > 6
    )


def test_card_has_every_element_the_paper_has(renderer: EditionRenderer, modern: list[Paper]) -> None:
    paper = full_paper(modern)
    chosen = pick(paper)
    email = renderer.render(reader(), [chosen], [], LINKS)
    card = card_of(email.html, paper)

    title = card.find("a", class_="title")
    assert isinstance(title, Tag)
    assert title["href"] == paper.hf_url
    assert text_of(title) == " ".join(paper.title.split())
    links = hrefs(card)
    for url in (paper.arxiv_url, paper.pdf_url, paper.github_repo, paper.project_page):
        assert url in links
    assert f"GitHub ★ {paper.github_stars:,}" in text_of(card)
    assert "Project page" in text_of(card)
    assert f"▲ {paper.upvotes} upvotes" in text_of(card)
    byline = card.find(class_="byline")
    assert isinstance(byline, Tag)
    assert text_of(byline).startswith(", ".join(paper.authors[:6]) + f" and {len(paper.authors) - 6} others")
    blurb = card.find(class_="blurb")
    assert isinstance(blurb, Tag) and paper.ai_summary
    assert text_of(blurb) == cut_at_sentence(paper.ai_summary)
    img = card.find("img")
    assert isinstance(img, Tag)
    assert img["src"] == paper.thumbnail
    assert img["alt"] == paper.title
    why = card.find(class_="why")
    assert isinstance(why, Tag)
    assert text_of(why) == f"Why you got this: {chosen.reason()}"
    assert "“video generation”: video, diffusion" in text_of(why)


def test_card_leaves_out_what_the_paper_lacks(env: jinja2.Environment, modern: list[Paper]) -> None:
    bare = dataclasses.replace(
        full_paper(modern), thumbnail=None, github_repo=None, github_stars=None, project_page=None
    )
    email = EditionRenderer(env, ISSUE_DATE, [bare], MASTHEAD).render(reader(), [pick(bare)], [], LINKS)
    card = card_of(email.html, bare)
    assert card.find("img") is None
    assert "GitHub" not in text_of(card)
    assert "Project page" not in text_of(card)
    assert hrefs(card) == [bare.hf_url, bare.arxiv_url, bare.pdf_url]
    assert "GitHub" not in email.text and "Project:" not in email.text


def test_authors_are_shortened_after_six() -> None:
    names = [f"Author {i}" for i in range(1, 34)]
    assert authors_line(names) == "Author 1, Author 2, Author 3, Author 4, Author 5, Author 6 and 27 others"
    assert authors_line(names[:7]).endswith("Author 6 and 1 other")
    assert authors_line(names[:6]) == ", ".join(names[:6])
    assert authors_line([]) == ""


def test_abstract_is_cut_at_a_sentence_when_there_is_no_ai_summary(env: jinja2.Environment) -> None:
    oldest = load(OLDEST)
    assert oldest and not any(p.ai_summary for p in oldest)
    email = EditionRenderer(env, ISSUE_DATE, oldest, MASTHEAD).render(
        reader(), [pick(p) for p in oldest], [], LINKS
    )
    sentence_cuts = 0
    for paper in oldest:
        blurb = card_of(email.html, paper).find(class_="blurb")
        assert isinstance(blurb, Tag)
        shown, abstract = text_of(blurb), " ".join(paper.abstract.split())
        assert len(shown) <= 300
        if shown.endswith("…"):
            head = shown[:-1]
            assert abstract.startswith(head) and abstract[len(head)] == " ", "cut mid-word"
        else:
            assert abstract.startswith(shown) and shown.endswith((".", "!", "?"))
            sentence_cuts += len(shown) < len(abstract)
    assert sentence_cuts >= len(oldest) // 2
    # The text part wraps the same cut at 72 columns.
    assert all(cut_at_sentence(p.abstract) in " ".join(email.text.split()) for p in oldest)


def test_sentence_cut_skips_abbreviations_and_never_splits_words() -> None:
    text = "We study X, e.g. video models trained in the U.S. on many clips. " + "More words here. " * 30
    cut = cut_at_sentence(text, 120)
    assert cut.endswith("here.") and len(cut) <= 120
    no_stops = "word " * 100
    cut = cut_at_sentence(no_stops, 50)
    assert cut == "word " * 9 + "word…"
    assert cut_at_sentence("Short. Enough.", 300) == "Short. Enough."


def test_header_and_preheader(renderer: EditionRenderer, modern: list[Paper]) -> None:
    email = renderer.render(reader(), [pick(p) for p in modern[:7]], modern[7:10], LINKS)
    page = soup(email.html)
    assert "Trending Papers · Fri 3 Oct 2025" in text_of(page)
    headline = page.find(class_="headline")
    assert isinstance(headline, Tag) and text_of(headline) == "7 papers on your topics"
    preheader = page.find(class_="preheader")
    assert isinstance(preheader, Tag)
    assert "display:none" in str(preheader["style"])
    assert email.preheader == f"Top pick: {modern[0].title}"
    assert email.preheader in preheader.get_text()
    one = renderer.render(reader(), [pick(modern[3])], [], LINKS)
    assert "1 paper on your topics" in one.html and "1 paper on your topics" in one.text


def test_subject_names_the_date_and_top_title_under_90_chars(
    renderer: EditionRenderer, modern: list[Paper]
) -> None:
    longest = max(modern, key=lambda p: len(p.title))
    email = renderer.render(reader(), [pick(longest)], [], LINKS)
    assert email.subject.startswith("Your papers for Fri 3 Oct · ")
    assert len(email.subject) <= 90 and email.subject.endswith("…")
    shown = email.subject.removeprefix("Your papers for Fri 3 Oct · ").removesuffix("…")
    assert longest.title.startswith(shown) and longest.title[len(shown)] == " ", "cut mid-word"
    fits = next(p for p in modern if len(p.title) < 50)
    short = renderer.render(reader(), [pick(fits)], [], LINKS)
    assert short.subject == f"Your papers for Fri 3 Oct · {fits.title}"


def test_trending_overall_lists_the_three_given_papers(
    renderer: EditionRenderer, modern: list[Paper]
) -> None:
    trending = [modern[30], modern[10], modern[32]]  # no stars, 6,317 GitHub stars, 7
    assert [p.github_stars for p in trending] == [None, 6317, 7]
    email = renderer.render(reader(), [pick(p) for p in modern[:5]], trending, LINKS)
    page = soup(email.html)
    section = page.find(class_="section")
    assert isinstance(section, Tag) and text_of(section) == "Trending overall"
    entries = page.find_all(class_="trend")
    assert [hrefs(e) for e in entries] == [[p.hf_url] for p in trending]
    # Stars count toward "trending" as upvotes do: shown, so the order makes sense to the reader.
    stars = ["", " · ★ 6,317", " · ★ 7"]
    for entry, paper, star in zip(entries, trending, stars, strict=True):
        assert text_of(entry) == f"{' '.join(paper.title.split())} · ▲ {paper.upvotes}{star}"
    tail = email.text.split("Trending overall", 1)[1]
    text_stars = ["", ", GitHub ★ 6,317", ", GitHub ★ 7"]
    assert [line for line in tail.splitlines() if line.startswith("- ")] == [
        f"- {p.title} (▲ {p.upvotes}{star})" for p, star in zip(trending, text_stars, strict=True)
    ]
    assert all(p.hf_url in tail for p in trending)


def test_empty_day_lists_what_is_trending(renderer: EditionRenderer, modern: list[Paper]) -> None:
    trending = [next(p for p in modern if len(p.title) < 50), *modern[:2]]
    email = renderer.render(reader(), [], trending, LINKS)
    assert email.subject == f"Nothing on your topics today · {trending[0].title}"
    page = soup(email.html)
    headline = page.find(class_="headline")
    assert isinstance(headline, Tag)
    assert text_of(headline) == "Nothing on your topics today; here is what is trending"
    assert [str(a["href"]) for a in page.find_all("a", class_="title")] == [p.hf_url for p in trending]
    assert page.find(class_="why") is None and page.find(class_="section") is None
    assert email.preheader == f"Trending today: {trending[0].title}"
    assert "Nothing on your topics today; here is what is trending" in email.text
    assert "Why you got this" not in email.text
    assert all(p.hf_url in email.text for p in trending)


def test_footer_has_manage_unsubscribe_and_postal_line(
    renderer: EditionRenderer, modern: list[Paper]
) -> None:
    email = renderer.render(reader(5), [pick(modern[0])], [], LINKS)
    footer = soup(email.html).find(class_="footer")
    assert isinstance(footer, Tag)
    assert hrefs(footer) == [LINKS.manage, LINKS.unsubscribe]
    assert 'href="https://papers.example/manage/tok-m?a=1&amp;b=2"' in email.html
    assert "Manage your topics" in text_of(footer) and "Unsubscribe" in text_of(footer)
    assert MASTHEAD.postal_line in text_of(footer)
    assert "reader5@example.org" in text_of(footer)
    for line in (
        f"Manage your topics: {LINKS.manage}",
        f"Unsubscribe: {LINKS.unsubscribe}",
        MASTHEAD.postal_line,
        "Sent to reader5@example.org",
    ):
        assert line in email.text.splitlines()


def test_text_part_carries_the_same_content(renderer: EditionRenderer, modern: list[Paper]) -> None:
    paper = full_paper(modern)
    chosen = pick(paper)
    text = renderer.render(reader(), [chosen], modern[:3], LINKS).text
    # Parts come in their on-the-wire form: CRLF line ends.
    assert text.startswith("Trending Papers · Fri 3 Oct 2025\r\n1 paper on your topics\r\n")
    for needle in (
        paper.title,
        f"Paper:   {paper.hf_url}",
        f"arXiv:   {paper.arxiv_url}",
        f"PDF:     {paper.pdf_url}",
        f"GitHub:  {paper.github_repo}",
        f"Project: {paper.project_page}",
        f"Why you got this: {chosen.reason()}",
        f"and {len(paper.authors) - 6} others",
        "Trending overall",
    ):
        assert needle in text
    assert "<a " not in text and "<td" not in text  # plain text, no markup


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
@pytest.mark.parametrize("day", ["picks", "empty"])
def test_joined_pieces_equal_a_full_page_render(
    env: jinja2.Environment, renderer: EditionRenderer, modern: list[Paper], day: str, cadence: str
) -> None:
    # The fast path must produce exactly what digest.html.j2/digest.txt.j2 describe, premailer and all.
    picks = [pick(p, matched=("it's", "a & b")) for p in modern[5:25]] if day == "picks" else []
    trending = modern[:3]
    sub = dataclasses.replace(reader(), cadence=cadence)
    fast = renderer.render(sub, picks, trending, LINKS)
    slow = render_standalone(env, ISSUE_DATE, MASTHEAD, sub, picks, trending, LINKS)
    assert fast.subject == slow.subject and fast.preheader == slow.preheader
    assert fast.text == slow.text
    # markupsafe writes ' as &#39; where lxml writes it raw; the same text either way.
    assert fast.html.replace("&#39;", "'") == slow.html


def test_a_weekly_readers_email_speaks_of_the_week(renderer: EditionRenderer, modern: list[Paper]) -> None:
    weekly = dataclasses.replace(reader(), cadence="weekly")
    day = short_date(ISSUE_DATE)
    found = renderer.render(weekly, [pick(p) for p in modern[5:8]], modern[:3], LINKS)
    assert found.subject.startswith(f"Your week of papers to {day} · ")
    assert "3 papers on your topics this week" in found.text
    assert "3 papers on your topics this week</td>" in found.html
    empty = renderer.render(weekly, [], modern[:3], LINKS)
    assert empty.subject.startswith("Nothing on your topics this week · ")
    assert empty.preheader.startswith("Trending this week: ")
    assert "Nothing on your topics this week; here is what is trending" in empty.text
    # A daily reader's email keeps its day.
    daily = renderer.render(reader(), [pick(p) for p in modern[5:8]], modern[:3], LINKS)
    assert daily.subject.startswith(f"Your papers for {day} · ")
    assert "3 papers on your topics\r\n" in daily.text and "this week" not in daily.text + daily.html
    assert "Nothing on your topics today;" in renderer.render(reader(), [], modern[:3], LINKS).text


def test_a_pick_outside_the_pool_is_refused(renderer: EditionRenderer, modern: list[Paper]) -> None:
    stranger = dataclasses.replace(modern[0], arxiv_id="2501.00001")
    with pytest.raises(KeyError, match=re.escape("2501.00001")):
        renderer.render(reader(), [pick(stranger)], [], LINKS)
    with pytest.raises(KeyError, match=re.escape("2501.00001")):
        renderer.render(reader(), [], [stranger], LINKS)


def test_links_must_be_http_urls() -> None:
    with pytest.raises(ValueError, match=re.escape("Links.unsubscribe")):
        Links(manage="https://papers.example/m", unsubscribe="javascript:alert(1)")


def test_no_marker_survives_into_an_email(renderer: EditionRenderer, modern: list[Paper]) -> None:
    for email in (
        renderer.render(reader(), [pick(p) for p in modern[:3]], modern[3:6], LINKS),
        renderer.render(reader(), [], modern[3:6], LINKS),
    ):
        assert not re.search(r"@@[0-9a-f]{16}:", email.html + email.text)


def test_unprintable_characters_are_dropped_not_fatal(env: jinja2.Environment, modern: list[Paper]) -> None:
    # JSON's "\ud800" decodes to a lone surrogate, at which lxml would silently drop the rest of the sheet.
    odd = dataclasses.replace(modern[0], title="Lone\ud800 NUL\x00 and\x0b tab", ai_summary="Sum\x08mary.")
    renderer = EditionRenderer(env, ISSUE_DATE, [odd], MASTHEAD)
    email = renderer.render(reader(), [pick(odd, topic="vid\x00eo")], [odd], LINKS)
    for part in (email.html, email.text, email.subject):
        part.encode("utf-8")  # would raise on a surrogate
        assert "Lone NUL and tab" in part
    assert "Summary." in email.html and "“video”" in email.text


def test_empty_day_with_nothing_trending_still_renders(renderer: EditionRenderer) -> None:
    email = renderer.render(reader(), [], [], LINKS)
    assert email.subject == "Nothing on your topics today"
    assert soup(email.html).find("table", class_="card") is None
    assert LINKS.unsubscribe in email.text
