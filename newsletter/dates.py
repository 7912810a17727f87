"""Dates a person types for an issue or a listing: YYYY-MM-DD, 'today' or 'tomorrow'; pure, no I/O."""

from __future__ import annotations

import re
from datetime import date, timedelta

from newsletter.subscribers import InvalidInput

# A date this far away means a typo; and dates near year 1 overflow the pool's window of days.
MAX_YEARS_AWAY = 10
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_issue_date(text: str, today: date) -> date:
    """'today', 'tomorrow' or a YYYY-MM-DD date within ten years of `today`, or InvalidInput."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    try:
        # Only the documented form: Python's fromisoformat also takes 20250530 and 2025-W22-5.
        if not ISO_DAY.fullmatch(text.strip()):
            raise ValueError(text)
        day = date.fromisoformat(text.strip())
    except ValueError:
        message = f"{text[:40]!r} is not a date like 2025-05-30, today or tomorrow"
        raise InvalidInput("date", message) from None
    return check_issue_date(day, today)


def check_issue_date(day: date, today: date) -> date:
    """`day` itself if it is within ten calendar years of `today`, else InvalidInput."""
    if not _years_from(today, -MAX_YEARS_AWAY) <= day <= _years_from(today, MAX_YEARS_AWAY):
        raise InvalidInput("date", f"{day} is more than ten years away")
    return day


def _years_from(today: date, years: int) -> date:
    """The same day `years` calendar years away; from 29 February, the nearest day that exists on the
    side of `today` (28 February ahead, 1 March back), so the window never grows by a day."""
    year = min(max(today.year + years, date.min.year), date.max.year)
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February in a year that has none
        return date(year, 2, 28) if years > 0 else date(year, 3, 1)
