"""Scraped text that could disturb how an email reads: bidi controls in titles and names."""

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
