"""Scraped papers that could disturb how an email reads: bidi controls in titles, fields left out."""

from __future__ import annotations

import dataclasses
import re

import jinja2
import pytest

from newsletter.models import Paper
from newsletter.render import EditionRenderer, make_environment, templates_dir
from tests.digests import MASTHEAD, reader
from tests.test_render import ISSUE_DATE, LINKS, MODERN, load, pick

BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def env() -> jinja2.Environment:
    return make_environment(templates_dir())


@pytest.fixture(scope="module")
def modern() -> list[Paper]:
    return load(MODERN)


def test_bidi_overrides_in_scraped_text_are_dropped(env: jinja2.Environment, modern: list[Paper]) -> None:
    # An override left open in a title turns the rest of its line around: in the text part's trending
    # list that is the upvote count after the title, in the HTML the rest of the cell.
    odd = dataclasses.replace(
        modern[0],
        title="Right \u202eto left\u202c or \u2067isolated",
        authors=("Eve \u202dMallory",),
        upvotes=14,
    )
    arabic = dataclasses.replace(modern[1], title="نماذج اللغة \u200fLLM reasoning")
    renderer = EditionRenderer(env, ISSUE_DATE, [odd, arabic], MASTHEAD)
    email = renderer.render(reader(), [pick(arabic)], [odd], LINKS)
    for part in (email.html, email.text, email.subject, email.preheader):
        assert not BIDI_CONTROLS.search(part)
    assert "- Right to left or isolated (▲ 14" in email.text
    assert "نماذج اللغة \u200fLLM reasoning" in email.text  # a right-to-left mark stays: it overrides nothing
    trending = renderer.render(reader(), [], [odd], LINKS)
    assert "Eve Mallory" in trending.text and "Eve Mallory" in trending.html


def test_the_text_part_of_a_sparse_card_reads_like_its_html(env: jinja2.Environment) -> None:
    # No summary, abstract or authors; the other paper has GitHub stars but no upvote count.
    bare = Paper(arxiv_id="2501.00001", title="Bare paper")
    starred = Paper(
        arxiv_id="2501.00002", title="Starred paper", github_repo="https://github.com/a/b", github_stars=1234
    )
    renderer = EditionRenderer(env, ISSUE_DATE, [bare, starred], MASTHEAD)
    email = renderer.render(reader(), [pick(bare), pick(starred)], [], LINKS)
    text = email.text.replace("\r\n", "\n")
    assert "Bare paper\n\nPaper:   https://huggingface.co/papers/2501.00001\n" in text
    assert "\n\n\n" not in text  # never two blank lines in a row
    assert "GitHub ★\xa01,234" in email.html
    assert "Starred paper\nGitHub ★ 1,234\n\nPaper:" in text
