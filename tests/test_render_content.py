"""What the rendered email says, on real fixture papers: a card shows every element its paper has and none it
lacks, with authors shortened and the abstract cut at a sentence; the header, preheader and subject; trending
overall; the empty day; the footer's links and postal line; the text part; a weekly reader's wording.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import jinja2
from bs4 import Tag

from newsletter.models import Paper
from newsletter.render import EditionRenderer
from newsletter.render.filters import authors_line, cut_at_sentence, short_date, shorten
from tests import render_support
from tests.digests import MASTHEAD, reader
from tests.render_support import HF_API, ISSUE_DATE, LINKS, card_of, hrefs, load, pick, soup, text_of

# The fixtures, from the module that holds them: the templates, the fixture day's papers, its renderer.
env = render_support.env
modern = render_support.modern
renderer = render_support.renderer


OLDEST = HF_API / "daily_papers_2024-05-29.json"  # no ai_summary, mediaUrl thumbnails


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


def test_authors_are_shortened_after_six_or_seven() -> None:
    names = [f"Author {i}" for i in range(1, 34)]
    assert authors_line(names) == "Author 1, Author 2, Author 3, Author 4, Author 5, Author 6 and 27 others"
    # A seventh author is named: "and 1 other" would take the room of the name.
    assert authors_line(names[:7]) == ", ".join(names[:7])
    assert authors_line(names[:8]).endswith("Author 6 and 2 others")
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


def test_the_text_part_wraps_at_72_columns_but_never_a_link(
    renderer: EditionRenderer, modern: list[Paper]
) -> None:
    email = renderer.render(reader(), [pick(p) for p in modern[:12]], modern[12:15], LINKS)
    long = [line for line in email.text.splitlines() if len(line) > 72 and "://" not in line]
    assert long == []
    assert any(len(p.title) > 72 for p in modern[:12])  # titles that had to wrap


def test_one_upvote_is_said_in_the_singular(env: jinja2.Environment, modern: list[Paper]) -> None:
    paper = dataclasses.replace(full_paper(modern), upvotes=1)
    email = EditionRenderer(env, ISSUE_DATE, [paper], MASTHEAD).render(reader(), [pick(paper)], [], LINKS)
    assert "▲ 1 upvote ·" in text_of(card_of(email.html, paper))
    assert "▲ 1 upvote · GitHub" in email.text and "1 upvotes" not in email.text + email.html


def test_a_shortened_title_does_not_end_on_a_word_that_leads_on() -> None:
    title = "Diffusion Models for Unified and Controllable Video Generation"
    assert shorten(title, 38) == "Diffusion Models for Unified…"  # not "...Unified and…"
    assert shorten(title, 24) == "Diffusion Models…"  # not "...Models for…"
    assert shorten(title, 80) == title


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
    items: list[str] = []  # each item's lines joined again: the text part wraps them at 72 columns
    for line in tail.splitlines():
        if line.startswith("- "):
            items.append(line)
        elif line.startswith("  ") and not line.startswith("  http") and items:
            items[-1] += " " + line.strip()
    assert items == [
        f"- {p.title} (▲ {p.upvotes}{star})" for p, star in zip(trending, text_stars, strict=True)
    ]
    assert all(len(line) <= 72 for line in tail.splitlines() if not line.strip().startswith("http"))
    assert all(p.hf_url in tail for p in trending)
    assert "\r\n\r\n  http" not in tail  # each link right under its item, as before the wrapping


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


def test_empty_day_with_nothing_trending_still_renders(renderer: EditionRenderer) -> None:
    email = renderer.render(reader(), [], [], LINKS)
    assert email.subject == "Nothing on your topics today"
    assert soup(email.html).find("table", class_="card") is None
    assert LINKS.unsubscribe in email.text


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
        assert " ".join(needle.split()) in " ".join(text.split())  # the text part wraps at 72 columns
    assert "<a " not in text and "<td" not in text  # plain text, no markup


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
