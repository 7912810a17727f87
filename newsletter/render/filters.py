"""Text shaping for the email templates: safe URLs, author lists, blurbs, dates; pure functions."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from datetime import date
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from newsletter.models import Paper

BLURB_LIMIT = 300
AUTHORS_SHOWN = 6
# English names, not strftime's %a/%b, so the output does not depend on the host's locale.
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SAFE_SCHEMES = frozenset({"http", "https"})
ELLIPSIS = "…"

# A full stop, question or exclamation mark followed by space and something that can start a sentence.
_SENTENCE_END = re.compile('[.!?]["\u201d\u2019)\\]]?(?=\\s+["\u201c\u2018(\\[]?[A-Z0-9])')
# Words whose trailing full stop does not end a sentence; checked case-insensitively.
_ABBREVIATIONS = frozenset({"al", "etc", "vs", "fig", "figs", "eq", "eqs", "cf", "approx", "resp", "no"})
# Initialisms such as "U.S." or "e.g.": letters with a full stop after each.
_INITIALISM = re.compile(r"(?:[A-Za-z]\.)+[A-Za-z]")
# C0 controls but tab, newline and CR; DEL; lone surrogates (JSON's "\\ud800" decodes to one, and lxml drops
# the rest of the document at it); U+FFFE/U+FFFF. No mail client can show any of them. Also the bidi
# embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): one left open in a scraped title
# reverses what follows it on the line ("(▲ 14)" of a trending entry reads "(41 ▲)"). Right-to-left
# titles need none of them; the marks U+200E/U+200F, which govern nothing after them, are kept.
_UNPRINTABLE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)
_TRAILING_JUNK = ",;:-\u2013\u2014(["


def printable(text: str) -> str:
    """`text` without the characters that no mail client can show."""
    return _UNPRINTABLE.sub("", text)


def finalize(value: Any) -> Any:
    """Jinja's finalize hook: every plain string a template prints goes through `printable`."""
    # Markup is already-rendered template output (a macro's result, a marker), cleaned when it was made.
    if isinstance(value, str) and not isinstance(value, Markup):
        return printable(value)
    return value


def oneline(text: str | None) -> str:
    """`text` with every run of whitespace (newlines included) turned into one space."""
    return " ".join((text or "").split())


# Whitespace of any kind (str.isspace) and the C0 controls and DEL.
_UNSAFE_URL_CHAR = re.compile(r"[\s\x00-\x1f\x7f]")


def http_url(value: str | None) -> str:
    """`value` if it is an absolute http(s) URL, else "" so the template leaves the link out."""
    url = (value or "").strip()
    # Browsers drop tabs and newlines inside a scheme ("java\tscript:"), so any such URL is refused outright.
    if not url or _UNSAFE_URL_CHAR.search(url):
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc:
        return ""
    return url


# Words that only lead into what follows: a title shortened after one reads as broken off.
DANGLING = frozenset(
    {"a", "an", "the", "and", "or", "of", "for", "to", "in", "on", "with", "via", "by", "from", "at", "as"}
    | {"into", "over", "under", "vs", "versus", "toward", "towards"}
)


WHY_LEAD = "Why you got this: "  # what the text part's why line starts with (_parts.txt.j2)


@lru_cache(maxsize=65536)  # per pick of every email: many readers share a reason (a topic, a paper)
def why_lines(reason: str) -> str:
    """A pick's reason with the line breaks that wrap "Why you got this: <reason>" at 72 columns."""
    if len(WHY_LEAD) + len(reason) <= 72 and "\n" not in reason:
        return reason  # the common case: one line, no wrapping to do
    wrapped = textwrap.fill(WHY_LEAD + reason, 72, break_long_words=False, break_on_hyphens=False)
    return wrapped.removeprefix(WHY_LEAD)


def authors_line(authors: Sequence[str], shown: int = AUTHORS_SHOWN) -> str:
    """The first `shown` authors, then "and N others"."""
    names = [oneline(name) for name in authors if name.strip()]
    if len(names) <= shown + 1:  # "and 1 other" takes the room of the name itself
        return ", ".join(names)
    rest = len(names) - shown
    return f"{', '.join(names[:shown])} and {rest} {'other' if rest == 1 else 'others'}"


def shorten(text: str, limit: int) -> str:
    """`text` on one line, cut at a word boundary with an ellipsis when longer than `limit` characters."""
    text = oneline(text)
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)  # the space itself is dropped, which leaves room for the ellipsis
    head = text[:cut] if cut > 0 else text[: max(limit - 1, 0)]
    # Nor end on a word that leads into what was cut ("Models for Unified and…"): drop it too.
    words = head.split(" ")
    while len(words) > 1 and words[-1].lower() in DANGLING:
        words.pop()
    return " ".join(words).rstrip(_TRAILING_JUNK + " ") + ELLIPSIS


def cut_at_sentence(text: str, limit: int = BLURB_LIMIT) -> str:
    """`text` cut after its last sentence that ends within `limit` characters, or at a word if none does."""
    text = oneline(text)
    if len(text) <= limit:
        return text
    best = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > limit:
            break
        word = text[: match.start()].rsplit(" ", 1)[-1].lower()
        if word not in _ABBREVIATIONS and not _INITIALISM.fullmatch(word):
            best = match.end()
    # A lone short first sentence ("We study X.") says less than a longer cut, so fall back to words.
    if best >= limit * 2 // 5:
        return text[:best]
    return shorten(text, limit)


def blurb(paper: Paper, limit: int = BLURB_LIMIT) -> str:
    """The AI summary when there is one, else the abstract, cut at a sentence boundary."""
    return cut_at_sentence(paper.ai_summary or paper.abstract, limit)


def thousands(value: int) -> str:
    """`value` with thousands separators: 12345 -> "12,345"."""
    return f"{value:,}"


def long_date(day: date) -> str:
    """The header's date: "Tue 25 Nov 2025"."""
    return f"{WEEKDAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def short_date(day: date) -> str:
    """The subject's date: "Tue 25 Nov"."""
    return f"{WEEKDAY_NAMES[day.weekday()]} {day.day} {MONTH_NAMES[day.month - 1]}"
