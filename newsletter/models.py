"""Typed records that cross every boundary; no I/O here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from newsletter.subscribers import Preferences

HF_BASE = "https://huggingface.co"
STATUSES = ("pending", "active", "unsubscribed", "bounced")
CADENCES = ("daily", "weekly")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def counted(n: int, one: str, many: str = "") -> str:
    """'1 topic', '1,234 topics': a count with its noun, plural unless n is 1 (`many` for irregular ones)."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as a source described it; a field the source did not give stays empty."""

    arxiv_id: str
    title: str
    abstract: str = ""
    authors: tuple[str, ...] = ()
    upvotes: int | None = None
    published_at: datetime | None = None
    submitted_at: datetime | None = None
    thumbnail: str | None = None
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    num_comments: int | None = None
    organization: str | None = None

    @property
    def hf_url(self) -> str:
        return f"{HF_BASE}/papers/{self.arxiv_id}"

    @property
    def arxiv_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"


@dataclass(frozen=True, slots=True)
class Listing:
    """A paper as seen on a source's listing; the date is None when the source gives none."""

    paper: Paper
    listing_date: date | None


@dataclass(frozen=True, slots=True)
class PoolPaper:
    """A paper of an issue's pool, with the last day it was listed on up to the issue date."""

    paper: Paper
    listed_on: date


@dataclass(frozen=True, slots=True)
class FetchReport:
    """What one source fetch or file import did, for the count line and the dashboard."""

    source: str
    pages: int
    method: str
    papers: int
    new: int
    updated: int
    skipped: int
    relisted: int = 0  # known papers listed on a new day: they enter that day's issue

    def line(self) -> str:
        """The one count line of the scrape stage."""
        relisted = f", {self.relisted} listed again" if self.relisted else ""
        skipped = f", {self.skipped} skipped" if self.skipped else ""
        return (
            f"scrape: {self.source}, {counted(self.pages, 'page')}, {self.papers} papers ({self.method}), "
            f"{self.new} new, {self.updated} updated{relisted}{skipped}"
        )

    @property
    def changed(self) -> bool:
        """Whether the store gained anything: a paper, a change to one, or a listing day."""
        return bool(self.new or self.updated or self.relisted)


def gets_issue(cadence: str, weekday: int, day: date) -> bool:
    """Whether a reader gets the issue of `day`: daily readers every day, weekly ones on `weekday`."""
    return cadence != "weekly" or day.weekday() == weekday


def not_sent_note(subscriber: Subscriber, issue_date: date) -> str | None:
    """Why a preview of this issue is not what the reader gets, or None when they get it.

    They are not active (pending, unsubscribed, bounced), or they read weekly, on another day.
    """
    if subscriber.status != "active":
        status = f"{subscriber.email} is {subscriber.status}"
        return f"{status}: no issue is sent to them; this is what it would hold"
    if gets_issue(subscriber.cadence, subscriber.weekday, issue_date):
        return None
    weekday = WEEKDAY_NAMES[subscriber.weekday]
    return (
        f"{subscriber.email} reads weekly, on {weekday}s: the issue of {issue_date} "
        f"({WEEKDAY_NAMES[issue_date.weekday()]}) is not sent to them; this is what it would hold"
    )


class Schedule(NamedTuple):
    """When a reader's digest goes out: at `hour` in `timezone`, daily or on `weekday` (0 is Monday)."""

    timezone: str
    hour: int
    cadence: str
    weekday: int


@dataclass(frozen=True, slots=True)
class SignupRequest:
    """A sign-up for a reader already known (who unsubscribed), waiting for its confirmation link.

    It changes nothing about the reader until that link, and no other, is followed: `nonce` is in
    that link alone, and a newer sign-up replaces it. What it asks for is the reader's choices then.
    """

    nonce: str
    requested_at: datetime
    prefs: Preferences


@dataclass(frozen=True, slots=True)
class Subscriber:
    """A reader: where to send, what they want, and when."""

    id: int
    email: str
    status: str
    topics: tuple[str, ...]
    excludes: tuple[str, ...]
    timezone: str
    hour: int
    cadence: str
    weekday: int
    per_email: int
    created_at: datetime
    confirmed_at: datetime | None = None
    # A sign-up waiting for its link; the fields above stay as they are until it is followed.
    request: SignupRequest | None = None

    @property
    def schedule(self) -> Schedule:
        return Schedule(self.timezone, self.hour, self.cadence, self.weekday)


@dataclass(frozen=True, slots=True)
class Pick:
    """A paper chosen for a subscriber, with its score and why it was chosen."""

    paper: Paper
    score: float
    relevance: float
    topic: str
    matched: tuple[str, ...]

    def reason(self) -> str:
        """The "why you got this" line."""
        if self.matched:
            return f"matches your topic “{self.topic}”: {', '.join(self.matched)}"
        return f"close in meaning to your topic “{self.topic}”"
