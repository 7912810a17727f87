"""Reading the reader forms: posted fields as strings, preferences validated, defaults to show."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from newsletter.models import Subscriber
from newsletter.subscribers import InvalidInput, Preferences, preferences, split_topic_lines
from newsletter.web.context import WebContext

MAX_FORM_CHARS = 20_000


def form_defaults(ctx: WebContext, sub: Subscriber | None = None) -> dict[str, Any]:
    """The preference fields, filled from a subscriber or from the configured defaults."""
    defaults = ctx.svc.settings.subscribers
    if sub is None:
        return {
            "email": "",
            "topics": "",
            "hour": defaults.default_hour,
            "timezone": defaults.default_timezone,
            "cadence": "daily",
            "weekday": 0,
            "per_email": defaults.default_per_email,
        }
    lines = list(sub.topics) + [f"-{term}" for term in sub.excludes]
    return {
        "email": sub.email,
        "topics": "\n".join(lines),
        "hour": sub.hour,
        "timezone": sub.timezone,
        "cadence": sub.cadence,
        "weekday": sub.weekday,
        "per_email": sub.per_email,
    }


# The form's own words for the fields an error names (the CLI names its options instead).
FIELD_LABELS = {
    "email": "Email",
    "topics": "Topics",
    "excludes": "Exclusions (lines starting with -)",
    "timezone": "Time zone",
    "hour": "Delivery hour",
    "cadence": "How often",
    "weekday": "Weekly on",
    "per_email": "Papers per email",
    "date": "Issue date",
    "form": "The form",
}


def form_error(exc: InvalidInput) -> str:
    """A refused field as the page shows it: the field's label, then why."""
    return f"{FIELD_LABELS.get(exc.field, exc.field)}: {exc.message}"


def _int(value: str, field: str) -> int:
    try:
        return int(value.strip())
    except (ValueError, AttributeError):
        raise InvalidInput(field, "must be a whole number") from None


def read_preferences(form: dict[str, str], ctx: WebContext, current: Subscriber | None = None) -> Preferences:
    """Validated preferences from a posted form; InvalidInput names the first bad field.

    A field left out keeps the reader's current value (the configured default for a sign-up);
    a time zone sent empty is refused, never silently replaced.
    """
    shown = form_defaults(ctx, current)
    topics, excludes = split_topic_lines(form.get("topics", "").replace("\r\n", "\n").split("\n"))
    return preferences(
        topics,
        excludes,
        timezone=form.get("timezone", str(shown["timezone"])),
        hour=_int(form.get("hour", str(shown["hour"])), "hour"),
        cadence=form.get("cadence", str(shown["cadence"])),
        weekday=_int(form.get("weekday", str(shown["weekday"])), "weekday"),
        per_email=_int(form.get("per_email", str(shown["per_email"])), "per_email"),
    )


async def posted(request: Request) -> dict[str, str]:
    """The posted form as plain strings; files and repeated keys are ignored."""
    form = await request.form()
    values = {key: value for key, value in form.items() if isinstance(value, str)}
    if sum(len(v) for v in values.values()) > MAX_FORM_CHARS:
        raise InvalidInput("form", "too long")
    return values


async def posted_or_empty(request: Request) -> dict[str, str]:
    """The posted form, or {} when it is too long to read; the handler answers that with a 422."""
    try:
        return await posted(request)
    except InvalidInput:
        return {}
