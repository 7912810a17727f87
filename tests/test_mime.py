"""The MIME bytes: the fast writer parses to the same message as one built with EmailMessage."""

from __future__ import annotations

import dataclasses
import email
import re
from datetime import UTC, date, datetime
from email.policy import default
from email.utils import parseaddr

import pytest

from newsletter.mime import MimeWriter, Sender, build_message, message_id
from newsletter.models import Pick, Subscriber
from newsletter.render import EditionRenderer, Links, Masthead, make_environment, templates_dir
from newsletter.scrape import parse_api
from tests.conftest import HF_API

SENDER = Sender("papers@example.org", "Trending Papers", "replies@example.org", "papers.example.org")
UNSUBSCRIBE = (
    "https://papers.example.org/unsubscribe/eyJzIjoxLCJmIjoiNTllNDQ1OWNkMjE0YThkNiJ9.awbnpQ.UiUPGi2TG8Rrusq"
)


def rendered_digest(to: str):
    papers = [li.paper for li in parse_api((HF_API / "daily_papers_2025-10-03.json").read_text()).listings]
    renderer = EditionRenderer(
        make_environment(templates_dir()), date(2025, 10, 3), papers, Masthead("T", "P")
    )
    reader = Subscriber(
        id=7, email=to, status="active", topics=("video",), excludes=(), timezone="UTC", hour=7,
        cadence="daily", weekday=0, per_email=10, created_at=datetime(2025, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    picks = [Pick(p, 0.5, 0.5, "video generation", ("video generation",)) for p in papers[:12]]
    links = Links(manage="https://papers.example.org/manage/tok", unsubscribe=UNSUBSCRIBE)
    return renderer.render(reader, picks, papers[12:15], links)


@pytest.mark.parametrize("to", ["ada@example.org", "bo@münchen.de"])
def test_fast_bytes_parse_to_the_same_message_as_email_message(to):
    rendered = rendered_digest(to)
    fields = {
        "to": to,
        "message_id": "<digest.2025-10-03.7@example.org>",
        "date": datetime(2025, 10, 3, 7, 0, tzinfo=UTC),
        "unsubscribe_url": UNSUBSCRIBE,
    }
    fast = email.message_from_bytes(
        MimeWriter(SENDER, "2025-10-03").build(rendered, **fields), policy=default
    )
    reference = email.message_from_bytes(build_message(rendered, sender=SENDER, **fields), policy=default)
    assert list(fast.keys()) == list(reference.keys())
    for name in reference:
        if name != "Content-Type":  # the boundary differs, nothing else
            assert str(fast[name]) == str(reference[name]), name
    assert fast.get_content_type() == reference.get_content_type() == "multipart/alternative"
    for mine, theirs in zip(fast.iter_parts(), reference.iter_parts(), strict=True):
        assert mine.get_content_type() == theirs.get_content_type()
        assert mine.get_content_charset() == theirs.get_content_charset() == "utf-8"
        assert mine.get_content() == theirs.get_content()


def test_list_unsubscribe_is_a_plain_url_on_the_wire():
    # Folding at 78 columns would turn a long token into RFC 2047 words no mail client can follow.
    rendered = rendered_digest("ada@example.org")
    fields = {
        "to": "ada@example.org",
        "message_id": "<m@example.org>",
        "date": datetime(2025, 10, 3, tzinfo=UTC),
    }
    for raw in (
        MimeWriter(SENDER, "k").build(rendered, unsubscribe_url=UNSUBSCRIBE, **fields),
        build_message(rendered, sender=SENDER, unsubscribe_url=UNSUBSCRIBE, **fields),
    ):
        assert f"\r\nList-Unsubscribe: <{UNSUBSCRIBE}>\r\n".encode() in raw
        assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw
        assert all(len(line) <= 998 for line in raw.split(b"\r\n"))


@pytest.mark.parametrize(
    ("name", "on_the_wire"),
    [
        ("Trending Papers", b"List-Id: Trending Papers <papers.example.org>"),
        ('Papers, "Daily"', b'List-Id: "Papers, \\"Daily\\"" <papers.example.org>'),
        ('Papers, "Daily" ü', b"List-Id: =?utf-8?b?UGFwZXJzLCAiRGFpbHkiIMO8?= <papers.example.org>"),
    ],
)
def test_list_id_quotes_or_encodes_the_sender_name(name, on_the_wire):
    # RFC 2919: `phrase <list-id>`. A bare comma or quote in the phrase makes the header invalid.
    sender = Sender("papers@example.org", name, "", "papers.example.org")
    fields = {
        "to": "ada@example.org",
        "message_id": "<m@example.org>",
        "date": datetime(2025, 10, 3, tzinfo=UTC),
    }
    raw = MimeWriter(sender, "k").build(
        rendered_digest("ada@example.org"), unsubscribe_url=UNSUBSCRIBE, **fields
    )
    assert b"\r\n" + on_the_wire + b"\r\n" in raw
    # Whole encoded words decode back to the name: the phrase is one quoted string or one word.
    parsed = email.message_from_bytes(raw, policy=default)
    assert name in str(parsed["List-Id"]) or parseaddr(str(parsed["List-Id"])) == (name, "papers.example.org")


ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


@pytest.mark.parametrize(
    "subject",
    [
        # Every subject has its " · ", so every subject is encoded; the second is a long right-to-left title.
        "Your papers for Fri 3 Oct · Paper2Video: Automatic Video Generation from Scientific Papers",
        "Your papers for Mon 2 Jun · LLM reasoning: تعلم الآلة للاستدلال في النماذج اللغوية الكبيرة 🚀",
    ],
)
def test_encoded_words_keep_to_rfc_2047s_length(subject):
    # RFC 2047: an encoded word is at most 75 characters, a line holding one at most 76. Folded at
    # 998 columns, the library made the whole subject one word of 120 to 190 characters.
    rendered = dataclasses.replace(rendered_digest("ada@example.org"), subject=subject)
    fields = {
        "to": "ada@example.org",
        "message_id": "<m@example.org>",
        "date": datetime(2025, 10, 3, tzinfo=UTC),
    }
    sender = Sender("papers@example.org", "Neue Artikel für Sie, jeden Morgen", "", "papers.example.org")
    for raw in (
        MimeWriter(sender, "k").build(rendered, unsubscribe_url=UNSUBSCRIBE, **fields),
        build_message(rendered, sender=sender, unsubscribe_url=UNSUBSCRIBE, **fields),
    ):
        head = raw.split(b"\r\n\r\n", 1)[0]
        words = ENCODED_WORD.findall(head)
        assert words and all(len(word) <= 75 for word in words)
        # The lines of Subject and From (List-Id's phrase is one word, written by formataddr).
        assert all(len(line) <= 76 for line in head.split(b"\r\nList-Id")[0].split(b"\r\n"))
        parsed = email.message_from_bytes(raw, policy=default)
        assert parsed["Subject"] == subject
        assert parsed["From"].addresses[0].display_name == sender.name
        assert f"\r\nList-Unsubscribe: <{UNSUBSCRIBE}>\r\n".encode() in raw  # ASCII stays on one line


def test_the_message_id_names_the_list_so_two_lists_on_one_domain_never_share_one():
    # Two installs (or lists) sending from one domain number their readers alike from 1: without
    # the list in it, both sent reader 1 '<digest.2025-10-03.1@example.org>', and Gmail may drop
    # the second as a duplicate.
    other = dataclasses.replace(SENDER, list_id="robotics.example.org")
    mine = message_id("2025-10-03", 1, SENDER)
    assert mine != message_id("2025-10-03", 1, other)
    # Stable: nothing random in it, and only the list and the row count, so a retry reuses it.
    assert mine == message_id("2025-10-03", 1, SENDER)
    assert mine == message_id("2025-10-03", 1, dataclasses.replace(SENDER, name="Renamed", reply_to=""))
    assert re.fullmatch(r"<digest\.2025-10-03\.1\.[0-9a-f]{8}@example\.org>", mine)
    assert message_id("2025-10-03", 2, SENDER) != mine
