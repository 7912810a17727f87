"""Reading the reader forms: posted fields as strings, preferences validated, defaults to show."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from newsletter.models import Subscriber
from newsletter.subscribers import (
    MAX_ADDRESS,
    MAX_EXCLUDES,
    MAX_TOPIC_CHARS,
    MAX_TOPICS,
    InvalidInput,
    Preferences,
    check_cadence,
    check_hour,
    check_per_email,
    parse_weekday,
    preferences,
    split_topic_lines,
)
from newsletter.web.context import FIELD_LABELS, WebContext, zone_names

# A line of the topics box at its longest: a topic or an exclusion ("-" first) of 200 characters,
# and the CRLF a browser ends it with.
TOPIC_LINE_CHARS = MAX_TOPIC_CHARS + len("-") + len("\r\n")
# The most each field of the reader forms holds when it is valid (a select's value, a time zone
# name or the CSRF token are far shorter than their cap). Every other posted field is dropped.
FIELD_CHARS = {
    "email": MAX_ADDRESS,
    "topics": (MAX_TOPICS + MAX_EXCLUDES) * TOPIC_LINE_CHARS,
    "timezone": 64,
    "hour": 64,
    "cadence": 64,
    "weekday": 64,
    "per_email": 64,
    "csrftoken": 256,
}
# A form can hold whatever its fields allow, and no more.
MAX_FORM_CHARS = sum(FIELD_CHARS.values())


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


# The fields a page shows as a select or a number input, each read as `read_preferences` reads it.
CHOICES: dict[str, Callable[[str], object]] = {
    "hour": lambda value: check_hour(_int(value, "hour")),
    "cadence": check_cadence,
    "weekday": lambda value: parse_weekday(_int(value, "weekday")),
    "per_email": lambda value: check_per_email(_int(value, "per_email")),
}


def form_shown(typed: dict[str, str], ctx: WebContext, current: Subscriber | None = None) -> dict[str, Any]:
    """What a reader form shows: the saved values (the defaults for a sign-up), with what was `typed`
    over them, except a select or number field's refused value: the saved one stays there.

    A select shown with a value none of its options has falls back to its first option (a number
    input, to empty): Save would then send a valid value the reader never chose, such as hour 0.
    A valid choice is shown as read ("07" as 7), so its option is the one selected.
    """
    shown = form_defaults(ctx, current)
    for key, value in typed.items():
        if key in shown and key not in CHOICES:
            shown[key] = value
        elif key in shown:
            # Refused: the page marks the field and names why, over the saved value.
            with contextlib.suppress(InvalidInput):
                shown[key] = CHOICES[key](value)
    return shown


class TooLong(InvalidInput):
    """A field longer than any valid value; the message names its limit."""

    def __init__(self, field: str, length: int) -> None:
        cap = FIELD_CHARS[field]
        what = (
            f" in all ({MAX_TOPICS} topics and {MAX_EXCLUDES} exclusions of up to {MAX_TOPIC_CHARS} "
            "characters each)"
            if field == "topics"
            else ""
        )
        super().__init__(field, f"at most {cap:,} characters{what}, got {length:,}")


def signup_again(
    ctx: WebContext, request: Request, typed: dict[str, str], status: int, errors: list[str]
) -> HTMLResponse:
    """The sign-up page again with what was typed (what fits), to fix or send again, and why."""
    shown = form_shown(typed, ctx)
    return ctx.page(
        request,
        "subscribe.html.j2",
        status,
        form=shown,
        zones=zone_names(),
        errors=errors,
        form_submitted=True,
    )


def too_many(ctx: WebContext, request: Request, typed: dict[str, str], wait_s: int) -> HTMLResponse:
    """The sign-up page for a form over the rate limits: as typed, with when to send it again."""
    said = f"Too many sign-ups from this network or for this address: {try_again(wait_s)}."
    refused = signup_again(ctx, request, typed, 429, [said])
    refused.headers["Retry-After"] = str(max(wait_s, 1))
    return refused


def try_again(wait_s: int) -> str:
    """When to send a refused form again: "please try again in 12 minutes"."""
    if wait_s < 60:
        return "please try again in a minute"
    minutes = math.ceil(wait_s / 60)
    if minutes < 90:
        return f"please try again in {minutes} minutes"
    return f"please try again in {round(minutes / 60)} hours"


def page_errors(exc: InvalidInput) -> list[str]:
    """What a form page says of a refused form: the field and why, and what was kept of a long one."""
    errors = [form_error(exc)]
    if isinstance(exc, TooLong):
        label = FIELD_LABELS.get(exc.field, exc.field)
        kept = "only the lines that fit are" if exc.field == "topics" else "it was not"
        errors.append(f"{label}: {kept} kept below; the other fields are as you typed them.")
    return errors


@dataclass(frozen=True)
class PostedForm:
    """A reader form as posted: its fields (an oversized one cut to its whole lines, or dropped), and
    the refusal of the first oversized field, if any."""

    values: dict[str, str]
    too_long: TooLong | None = None


def _fit(field: str, value: str) -> str | None:
    """What is kept of an oversized field: the topics' whole lines that fit; nothing of another one."""
    if field != "topics":
        return None
    kept = value[: FIELD_CHARS[field]]
    return kept[: kept.rfind("\n") + 1].rstrip()


async def posted_form(request: Request) -> PostedForm:
    """A reader form's own fields, as strings (the request gate caps the whole body at 1 MB)."""
    form = await request.form()
    values: dict[str, str] = {}
    too_long: TooLong | None = None
    for key, value in form.items():
        if key not in FIELD_CHARS or not isinstance(value, str):
            continue
        if len(value) <= FIELD_CHARS[key]:
            values[key] = value
            continue
        too_long = too_long or TooLong(key, len(value))
        kept = _fit(key, value)
        if kept is not None:
            values[key] = kept
    return PostedForm(values, too_long)


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
