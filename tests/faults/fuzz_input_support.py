"""What the subscriber-input fuzz suites share: hostile pieces of text (RTL, bidi overrides, emoji,
zero-width, control and combining characters), strategies for topics, time zones, weekdays and address-like
text, addresses that are kept and addresses that are refused, and the checks of what a stored topic,
preference set and address may be.
"""

from __future__ import annotations

import unicodedata
from zoneinfo import available_timezones

from hypothesis import strategies as st

from newsletter.models import CADENCES
from newsletter.subscribers import (
    MAX_ADDRESS,
    MAX_EXCLUDES,
    MAX_LOCAL_PART,
    MAX_PER_EMAIL,
    MAX_TOPIC_CHARS,
    MAX_TOPICS,
    Preferences,
    normalize_email,
)

LINE_BREAKS = {"\r", "\n", "\u2028", "\u2029", "\x85", "\x0b", "\x0c"}
# Arabic and Hebrew phrases, and direction marks around text: all accepted.
RTL = [
    "تعلم الآلة",
    "الشبكات العصبية",
    "\u05dc\u05de\u05d9\u05d3\u05ea \u05de\u05db\u05d5\u05e0\u05d4",  # Hebrew: machine learning
    "\u05e2\u05d9\u05d1\u05d5\u05d3 \u05e9\u05e4\u05d4",  # Hebrew: language processing
    "\u200f\u05e9\u05dc\u05d5\u05dd\u200e",
]
# Bidi embeddings, overrides and isolates: refused in every field, like control characters.
BIDI_OVERRIDES = [
    "\u202eevil\u202c", "\u202aa\u202c", "\u202b", "\u202d", "\u2066x\u2069", "\u2067", "\u2068",
]  # fmt: skip
BIDI_CHARS = {chr(c) for c in range(0x202A, 0x202F)} | {chr(c) for c in range(0x2066, 0x206A)}
EMOJI = ["🤖", "👩\u200d🔬", "🏳️\u200d🌈", "🇫🇷", "🧠 LLM", "\U0001f9ea"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u180e"]
CONTROLS = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\x9f", "\u2028", "\u2029"]
COMBINING = ["e\u0301", "\u0958", "\u0344", "\ufb2c", "\u1100\u1161\u11a8"]  # NFC shrinks or grows these
WORDS = [
    "LLM reasoning",
    "speech",
    "NeRF",
    "robot manipulation",
    "diffusion",
    "-survey",
    "--medical",
    "-",
    " ",
]

pieces = st.one_of(
    st.sampled_from(WORDS + RTL + BIDI_OVERRIDES + EMOJI),
    st.sampled_from(ZERO_WIDTH + CONTROLS + COMBINING),
    st.text(max_size=12),
    st.characters(codec="utf-8"),
)
huge = st.builds(
    lambda unit, n: unit * n,
    st.sampled_from(["x", "é", "😀", " ", "\u200b", "ש", "e\u0301", "\u0958", "-"]),
    st.sampled_from([199, 200, 201, 400, 10_000]),
)
topic_texts = st.one_of(st.lists(pieces, max_size=6).map("".join), huge)
zones = st.one_of(
    st.sampled_from(["UTC", "Europe/Paris", "Asia/Calcutta", "Asia/Kolkata", "US/Pacific", "Etc/GMT+5"]),
    st.sampled_from(["", " UTC", "UTC\n", "utc", "Mars/Olympus", "../../etc/passwd", "Europe/Paris\x00"]),
    st.text(max_size=30),
)
weekdays = st.one_of(
    st.integers(-10, 10),
    st.integers(),
    st.sampled_from(
        ["mon", "Monday", "SUN", "fri ", "tues", "3", " 6", "7", "-1", "", "someday", "٣", "\uff11"]
    ),
    st.text(max_size=8),
)


IDN_ADDRESSES = [
    "hans@münchen.de", "taro@例え.jp", "ivan@пример.рф", "ali@مثال.إختبار", "dan@דוגמה.ישראל",
    "eve@ευρώ.eu", "x@xn--mnchen-3ya.de", "ADA@MÜNCHEN.DE", "a@bücher.example",
]  # fmt: skip
REFUSED = [
    '"john doe"@example.org', '"john..doe"@example.org', "a" * 65 + "@example.org",
    "a@" + "b" * 63 + "." + "c" * 63 + "." + "d" * 63 + "." + "e" * 60 + ".org", "a@😀.example",
    "ada@example.org\r\nBcc: x@y.org", "ada@example.org\n", "ada\r@example.org", "ada@exa\x00mple.org",
    "ada@example..org", "ada", "@example.org", "ada@", "ada@@example.org", "ada@-example.org",
    "ada@localhost", "ada@[127.0.0.1]", "ada@exa\u200bmple.org", "ada\u202e@example.org",
    "ümlaut@example.org", "",
]  # fmt: skip
address_pieces = st.one_of(
    st.sampled_from(
        ["ada", "Ada.Lovelace", "a+tag", "o'hara", '"quoted"', "x" * 64, "x" * 65, ".", "..", "@"]
    ),
    st.sampled_from(
        ["example.org", "EXAMPLE.ORG", "münchen.de", "例え.jp", "xn--mnchen-3ya.de", "straße.de"]
    ),
    st.sampled_from(CONTROLS + ZERO_WIDTH + RTL + EMOJI + ["@", " ", "\t", "\\", '"', "(c)", "[", "]"]),
    st.text(max_size=8),
)
address_like = st.lists(address_pieces, min_size=1, max_size=5).map("".join)


def assert_clean_entry(text: str) -> None:
    """What a stored topic or exclusion may be: 1..200 characters, trimmed, no control characters."""
    assert isinstance(text, str)
    assert 1 <= len(text) <= MAX_TOPIC_CHARS, len(text)
    assert text == text.strip() and text == " ".join(text.split())
    assert not any(unicodedata.category(c) == "Cc" for c in text), repr(text)
    assert not LINE_BREAKS & set(text), repr(text)
    assert not BIDI_CHARS & set(text), repr(text)
    assert unicodedata.is_normalized("NFC", text)


def assert_clean_list(values: tuple[str, ...], limit: int) -> None:
    assert isinstance(values, tuple) and len(values) <= limit
    for value in values:
        assert_clean_entry(value)
        assert any(ch.isalnum() for ch in value), f"{value!r} can match no paper"
    assert len({v.casefold() for v in values}) == len(values), "duplicates kept"


def assert_valid_preferences(prefs: Preferences) -> None:
    assert len(prefs.topics) >= 1
    assert_clean_list(prefs.topics, MAX_TOPICS)
    assert_clean_list(prefs.excludes, MAX_EXCLUDES)
    assert not any(e.startswith("-") for e in prefs.excludes)
    assert not {t.casefold() for t in prefs.topics} & {e.casefold() for e in prefs.excludes}, "excluded topic"
    assert prefs.timezone in available_timezones()
    assert 0 <= prefs.hour <= 23 and 0 <= prefs.weekday <= 6 and 1 <= prefs.per_email <= MAX_PER_EMAIL
    assert prefs.cadence in CADENCES


def assert_normalised(address: str) -> None:
    local, _, domain = address.rpartition("@")
    assert local and domain and "@" not in domain
    assert len(address) <= MAX_ADDRESS and len(local.encode()) <= MAX_LOCAL_PART
    assert address.isprintable() and not any(c.isspace() for c in address), repr(address)
    assert local.isascii(), "SMTPUTF8 is off: the local part must be ASCII"
    assert domain == domain.lower()
    assert normalize_email(address) == address, "normalising twice must change nothing"
