"""Subscriber input, validated and normalised before anything is stored; pure, no I/O."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import idna
from email_validator import EmailNotValidError, validate_email

from newsletter.models import CADENCES, WEEKDAYS
from newsletter.rank.reading import excludes_topic
from newsletter.rank.text import words_of

MAX_TOPICS = 50
MAX_TOPIC_CHARS = 200
MAX_EXCLUDES = 50
MAX_PER_EMAIL = 30
MAX_LOCAL_PART = 64
MAX_ADDRESS = 254
# C0 and C1 control characters, including CR and LF, plus the Unicode line and paragraph separators,
# and the bidi embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069), which can make a
# stored value read differently from what it is ("Trojan Source"). The directional marks LRM and RLM
# and the zero-width joiners stay: RTL text and emoji sequences use them legitimately.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_FULL_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class InvalidInput(ValueError):
    """Input a person typed that we refuse; `field` names the form field, the message says why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class Preferences:
    """Everything a subscriber chooses, already validated."""

    topics: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    timezone: str = "UTC"
    hour: int = 7
    cadence: str = "daily"
    weekday: int = 0
    per_email: int = 10


def normalize_email(raw: str) -> str:
    """A valid, normalised address (domain lowercased, IDN kept in Unicode), or InvalidInput."""
    text = _clean("email", raw, max_chars=MAX_ADDRESS)
    if not text:
        raise InvalidInput("email", "enter an email address")
    try:
        result = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidInput("email", str(exc)) from None
    local = result.local_part or ""
    if len(local.encode()) > MAX_LOCAL_PART:
        raise InvalidInput("email", f"the part before the @-sign is over {MAX_LOCAL_PART} characters")
    return str(result.normalized)


def email_key(email: str) -> str:
    """The case-insensitive identity of an address, used for uniqueness and for looking one up.

    Spaces around it are not part of it: " ada@example.org " pasted into `picks --email`, `send
    --only` or the admin preview finds ada@example.org, as `subscribers add` stores her.

    An internationalised domain has two spellings, Unicode (exämple.de, as `normalize_email` stores
    it) and IDNA (xn--exmple-cua.de, as mail is addressed and as bounces name it): both give the key
    of the Unicode one. That is the key every stored address already has, and an ASCII domain's key
    is its lowercase as before, so keys (and the token fingerprints made from them) do not change.
    """
    text = email.strip()
    local, at, domain = text.rpartition("@")
    if not at:
        return text.casefold()
    return f"{local}@{_unicode_domain(domain)}".casefold()


@functools.lru_cache(maxsize=4096)  # a list's addresses share few domains; decoding one costs ~10 µs
def _unicode_domain(domain: str) -> str:
    """The domain in Unicode (UTS 46 mapping, A-labels decoded), or as it is if it does not decode."""
    # Longer than any address we store, so no match to lose; and idna's work grows with the length.
    if len(domain) > MAX_ADDRESS:
        return domain
    try:
        return idna.decode(domain, uts46=True)
    except UnicodeError:  # idna.IDNAError, and the punycode codec's own errors
        return domain


def split_topic_lines(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    """Topics and exclusions from free text: one per line, a leading '-' marks an exclusion."""
    topics: list[str] = []
    excludes: list[str] = []
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if text.startswith("-"):
            excludes.append(text[1:])
        else:
            topics.append(text)
    return topics, excludes


def clean_topics(raw: Sequence[str]) -> tuple[str, ...]:
    """Validated topics: 1..50, each 1..200 characters, no control characters, duplicates dropped."""
    topics = _clean_list("topics", raw, MAX_TOPICS)
    if not topics:
        raise InvalidInput("topics", "give at least one topic")
    return topics


def clean_excludes(raw: Sequence[str]) -> tuple[str, ...]:
    """Validated exclusion terms ("survey", "-medical" both work)."""
    terms = [_clean("excludes", term, max_chars=MAX_TOPIC_CHARS).lstrip("-") for term in raw]
    return _clean_list("excludes", terms, MAX_EXCLUDES)


def _clean_list(field: str, raw: Sequence[str], limit: int) -> tuple[str, ...]:
    if len(raw) > limit:
        raise InvalidInput(field, f"at most {limit} allowed, got {len(raw)}")
    seen: dict[str, str] = {}
    for item in raw:
        text = " ".join(_clean(field, item, max_chars=MAX_TOPIC_CHARS).split())
        if not text:
            raise InvalidInput(field, "an entry is empty")
        if not any(ch.isalnum() for ch in text):
            # "🎤🎤" or "???" would be saved and never match a paper: say so now.
            raise InvalidInput(field, f"{text!r} has no letter or digit, so no paper can match it")
        if not words_of(text):
            # "the" or "about it" would be saved and never match either: ranking skips such words.
            raise InvalidInput(field, f"{text!r} has only words too common to rank by; name a subject")
        seen.setdefault(text.casefold(), text)
    return tuple(seen.values())


def check_timezone(name: str) -> str:
    """An IANA time zone name like Asia/Kolkata, in any case (an old spelling becomes the current one), or
    InvalidInput."""
    text = _clean("timezone", name, max_chars=64)
    if not text:
        raise InvalidInput("timezone", "is empty; choose one, such as Europe/Paris or UTC")
    # People type "europe/paris": matched whatever the case, stored as the canonical name.
    zone = _zone_names_by_casefold().get(text.casefold())
    if zone is None:
        raise InvalidInput("timezone", f"unknown time zone {text!r}; use an IANA name like Europe/Paris")
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput("timezone", f"unknown time zone {text!r}") from None
    return _current_names().get(zone, zone)


@functools.cache
def current_zone_names() -> tuple[str, ...]:
    """The zones a person picks from: one per place, under its current name (zone.tab), sorted."""
    return tuple(sorted(set(_zone_tab()) | {"UTC"}))


@functools.cache
def _zone_tab() -> tuple[str, ...]:
    text = (resources.files("tzdata.zoneinfo") / "zone.tab").read_text(encoding="utf-8")
    return tuple(line.split("\t")[2] for line in text.splitlines() if line and not line.startswith("#"))


@functools.cache
def _current_names() -> dict[str, str]:
    # Browsers still report retired spellings (Chromium says Asia/Calcutta). tzdata.zi links each old
    # name to its zone ("L Asia/Kolkata Asia/Calcutta"); names zone.tab still lists stay as they are.
    text = (resources.files("tzdata.zoneinfo") / "tzdata.zi").read_text(encoding="utf-8")
    listed = set(_zone_tab())
    links = {}
    for line in text.splitlines():
        if line.startswith("L "):
            _, target, alias = line.split()
            if alias not in listed and target in listed:
                links[alias] = target
    return links


def check_hour(hour: int) -> int:
    """A delivery hour 0..23."""
    if not 0 <= hour <= 23:
        raise InvalidInput("hour", f"must be between 0 and 23, got {hour}")
    return hour


def check_cadence(cadence: str) -> str:
    """'daily' or 'weekly'."""
    if cadence not in CADENCES:
        raise InvalidInput("cadence", f"must be one of {', '.join(CADENCES)}")
    return cadence


def parse_weekday(value: str | int) -> int:
    """A weekday as 0 (Monday) .. 6, from a name like 'mon', 'tues' or 'Monday', or an int 0..6.

    Typed text must be a name: '5' could mean Friday or Saturday, so it is refused. Ints come
    from code (a stored value, or the web form's select, whose options are numbered from Monday).
    """
    if isinstance(value, int):
        if 0 <= value <= 6:
            return value
        raise InvalidInput("weekday", "must be 0 (Monday) to 6 (Sunday)")
    if not isinstance(value, str):
        raise InvalidInput("weekday", "must be text")
    text = value.strip().lower()
    for number, name in enumerate(_FULL_WEEKDAYS):
        if len(text) >= 3 and name.startswith(text):
            return number
    raise InvalidInput("weekday", f"unknown weekday {value[:20]!r}; use {', '.join(WEEKDAYS)}")


def check_per_email(count: int) -> int:
    """Papers per email, 1..30."""
    if not 1 <= count <= MAX_PER_EMAIL:
        raise InvalidInput("per_email", f"must be between 1 and {MAX_PER_EMAIL}, got {count}")
    return count


def clean_topic_set(
    topics: Sequence[str], excludes: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Topics and exclusions cleaned, and refused where an exclusion would exclude a topic itself."""
    cleaned, terms = clean_topics(topics), clean_excludes(excludes)
    for term in terms:
        for topic in cleaned:
            if term.casefold() == topic.casefold():
                # Every paper on that topic would be excluded: the reader surely meant one or the other.
                raise InvalidInput("excludes", f"{term!r} is also a topic: a paper on it would be excluded")
            if excludes_topic(term, topic):
                raise InvalidInput(
                    "excludes",
                    f"{term!r} reads as part of the topic {topic!r} (word forms match alike): "
                    "a paper on it would be excluded",
                )
    return cleaned, terms


def preferences(
    topics: Sequence[str],
    excludes: Sequence[str] = (),
    *,
    timezone: str,
    hour: int,
    cadence: str = "daily",
    weekday: str | int = 0,
    per_email: int = 10,
) -> Preferences:
    """Validate every preference at once; the first problem raises InvalidInput."""
    cleaned, terms = clean_topic_set(topics, excludes)
    return Preferences(
        topics=cleaned,
        excludes=terms,
        timezone=check_timezone(timezone),
        hour=check_hour(hour),
        cadence=check_cadence(cadence),
        weekday=parse_weekday(weekday),
        per_email=check_per_email(per_email),
    )


def _clean(field: str, value: str, *, max_chars: int) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, "must be text")
    text = unicodedata.normalize("NFC", value)
    if _CONTROL.search(text):
        raise InvalidInput(field, "must not contain control characters, line breaks or direction overrides")
    text = text.strip()
    if len(text) > max_chars:
        raise InvalidInput(field, f"at most {max_chars} characters, got {len(text)}")
    return text


# Names that load but are no place: "localtime" is whatever the host is set to (present on some hosts
# only), "Factory" is tzdata's placeholder whose abbreviation is "-00". (posixrules is left out of
# available_timezones already.)
PSEUDO_ZONES = frozenset({"localtime", "Factory"})


@functools.cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones()) - PSEUDO_ZONES


@functools.cache
def _zone_names_by_casefold() -> dict[str, str]:
    # No two IANA names differ only in case, so the casefolded name finds exactly one.
    return {zone.casefold(): zone for zone in _zone_names()}
