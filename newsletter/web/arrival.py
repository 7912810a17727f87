"""When a reader's digests come, as the confirmation pages say it: from the scheduler's own rule."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsletter.models import WEEKDAY_NAMES, Subscriber
from newsletter.schedule import first_slot


def day_words(day: date, today: date) -> str:
    """`day` seen from `today`: 'today', 'tomorrow', 'on Friday' within the week, 'next Friday' a week on."""
    ahead = (day - today).days
    name = WEEKDAY_NAMES[day.weekday()]
    if ahead == 0:
        return "today"
    if ahead == 1:
        return "tomorrow"
    if 1 < ahead < 7:
        return f"on {name}"
    if ahead == 7:
        return f"next {name}"
    return f"on {name} {day.day} {day:%B %Y}"


def arrival(sub: Subscriber, now: datetime) -> str:
    """When `sub`'s first digest comes, in their zone, as a sentence; once it has, how often they come."""
    every = f"every {WEEKDAY_NAMES[sub.weekday]}" if sub.cadence == "weekly" else "every day"
    try:
        zone = ZoneInfo(sub.timezone)
        day, start = first_slot(sub, now)
    except (ZoneInfoNotFoundError, ValueError):  # a zone the system's time zone data no longer has
        return f"Your digest arrives {every} at {sub.hour:02d}:00 ({sub.timezone})."
    if start < now:
        return f"Your digest arrives {every} at {sub.hour:02d}:00 ({sub.timezone})."
    # The slot's real local time: an hour that a spring-forward day skips comes just after the jump.
    local = start.astimezone(UTC).astimezone(zone)
    when = day_words(day, now.astimezone(zone).date())
    return f"Your first digest arrives {when} at {local:%H:%M} ({sub.timezone})."
