"""The one-line texts of an email, subject and inbox preheader, and how they name its period."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from newsletter.models import Paper, Pick, Subscriber
from newsletter.render.filters import printable, short_date, shorten

SUBJECT_LIMIT = 90
PREHEADER_LIMIT = 140
SEPARATOR = " · "


@dataclass(frozen=True, slots=True)
class Period:
    """How an email names the time it covers: a daily reader's day, or a weekly reader's week."""

    when: str  # "today" or "this week"
    headline: str  # after "N papers on your topics": "" or " this week"

    @classmethod
    def of(cls, subscriber: Subscriber) -> Period:
        return WEEK if subscriber.cadence == "weekly" else DAY


DAY = Period("today", "")
WEEK = Period("this week", " this week")


def subject_line(
    issue_date: date, picks: Sequence[Pick], trending: Sequence[Paper], period: Period = DAY
) -> str:
    """The subject: "Your papers for Tue 25 Nov · <top title>", or "Nothing on your topics today · <…>".

    A weekly reader's reads "Your week of papers to Tue 25 Nov" and "Nothing on your topics this week".
    """
    if picks:
        lead = f"{'Your week of papers to' if period is WEEK else 'Your papers for'} {short_date(issue_date)}"
        top = picks[0].paper.title
    else:
        lead, top = f"Nothing on your topics {period.when}", trending[0].title if trending else ""
    top = printable(top)
    if not top.strip():
        return lead
    return lead + SEPARATOR + shorten(top, SUBJECT_LIMIT - len(lead) - len(SEPARATOR))


def preheader_line(picks: Sequence[Pick], trending: Sequence[Paper], period: Period = DAY) -> str:
    """The inbox preview text, naming the top paper."""
    if picks:
        return shorten(printable(f"Top pick: {picks[0].paper.title}"), PREHEADER_LIMIT)
    if trending:
        return shorten(printable(f"Trending {period.when}: {trending[0].title}"), PREHEADER_LIMIT)
    return f"Nothing on your topics {period.when}"
