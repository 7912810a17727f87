"""`newsletter subscribers add|list|remove|set-topics|set`."""

from __future__ import annotations

import json
from typing import Any

import click

from newsletter import app
from newsletter.cli.common import (
    Exit,
    Runtime,
    command,
    config_option,
    fail,
    find_subscriber,
    warn_if_links_are_local,
)
from newsletter.deliver import SendError, TransportUnusable
from newsletter.models import CADENCES, STATUSES, WEEKDAYS, Subscriber, counted
from newsletter.notices import deliver_notice, signup_notice
from newsletter.render.environment import make_environment, templates_dir
from newsletter.store.subscribers import DuplicateSubscriber
from newsletter.subscribers import InvalidInput, normalize_email, preferences

TOPIC_HELP = "A topic, e.g. 'LLM reasoning' (exclusions go in --exclude). Repeat."
WEEKDAY_NAMES = ", ".join(WEEKDAYS)


@click.group()
@config_option
def subscribers() -> None:
    """Add, list, change and remove subscribers (admin actions)."""


@subscribers.command("add")
@click.argument("email")
@click.option("--topic", "topics", multiple=True, required=True, help=TOPIC_HELP)
@click.option(
    "--exclude", "excludes", multiple=True, help="Drop papers mentioning this, e.g. 'survey'. Repeat."
)
@click.option("--tz", "timezone", help="IANA time zone, e.g. Asia/Kolkata (default from config; not empty).")
@click.option("--hour", type=int, help="Local delivery hour 0-23 (default from config).")
@click.option("--cadence", type=click.Choice(CADENCES), default="daily", show_default=True)
@click.option("--weekday", help=f"Weekday for weekly digests: {WEEKDAY_NAMES} (default: mon).")
@click.option("--per-email", type=int, help="Papers on the topics per email, 1-30 (default from config).")
@click.option(
    "--pending",
    is_flag=True,
    help="Mail a confirmation link, as the web sign-up does; nothing else is sent until it is followed.",
)
@command
def add(
    runtime: Runtime,
    email: str,
    topics: tuple[str, ...],
    excludes: tuple[str, ...],
    timezone: str | None,
    hour: int | None,
    cadence: str,
    weekday: str | None,
    per_email: int | None,
    pending: bool,
) -> int:
    """Add a subscriber, active at once unless --pending (then sent a confirmation email)."""
    defaults = runtime.settings().subscribers
    try:
        address = normalize_email(email)
        prefs = preferences(
            no_exclusions(topics),
            excludes,
            # An explicit --tz "" is refused, as by `set`, not replaced by the default.
            timezone=defaults.default_timezone if timezone is None else timezone,
            hour=defaults.default_hour if hour is None else hour,
            cadence=cadence,
            weekday="mon" if weekday is None else weekday,
            per_email=defaults.default_per_email if per_email is None else per_email,
        )
        _check_weekday(weekday, cadence)
        subscriber = runtime.store().subscribers.add(
            address, prefs, "pending" if pending else "active", runtime.clock()
        )
    except InvalidInput as exc:
        fail(str(exc), Exit.USAGE)
    except DuplicateSubscriber as exc:
        known = runtime.store().subscribers.by_email(address)
        fail(_already_listed(known) if known else str(exc), Exit.USAGE)
    how_many = counted(len(subscriber.topics), "topic")
    click.echo(f"subscribers: added {subscriber.email} ({subscriber.status}, {how_many})")
    if pending:
        _send_confirmation(runtime, subscriber)
    return Exit.OK


# What to do about an address that is already in the list, by its status.
ALREADY_HINTS = {
    "active": "change what they get with `newsletter subscribers set-topics` or `set`",
    "pending": "they have not confirmed yet; for a new link, "
    "`newsletter subscribers remove` it, then add it again",
    "unsubscribed": "they unsubscribed; if they asked to come back, "
    "`newsletter subscribers remove` it, then add it again",
    "bounced": "mail to it bounced; if it works again, `newsletter subscribers remove` it, then add it again",
}


def _already_listed(sub: Subscriber) -> str:
    """Why `add` refuses an address it knows, and what to do instead."""
    hint = ALREADY_HINTS.get(sub.status, "`newsletter subscribers list` shows it")
    return f"{sub.email} is already in the list ({sub.status}); {hint}"


def _send_confirmation(runtime: Runtime, sub: Subscriber) -> None:
    """Mail a pending subscriber the 48-hour link that activates them: the web sign-up's email."""
    settings, store, now = runtime.settings(), runtime.store(), runtime.clock()
    warn_if_links_are_local(settings)
    env = make_environment(templates_dir())
    notice = signup_notice(env, settings, app.build_signer(settings, store), sub, "confirm", now)
    try:
        accepted = deliver_notice(lambda: app.build_transport(settings), settings, notice)
    except (SendError, TransportUnusable) as exc:
        fail(
            f"could not send the confirmation email to {sub.email}: {exc}; they stay pending "
            f"(to try again: newsletter subscribers remove {sub.email}, then add them again)",
            Exit.DELIVERY,
        )
    # The outbox says where it wrote the message ("250 written to outbox/....eml").
    where = f" ({accepted.reply.removeprefix('250 ')})" if settings.delivery.transport == "outbox" else ""
    click.echo(f"subscribers: sent a confirmation email to {sub.email}{where}")


@subscribers.command("list")
@click.option("--status", type=click.Choice(STATUSES), help="Only subscribers with this status.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@command
def list_(runtime: Runtime, status: str | None, as_json: bool) -> int:
    """List subscribers in the order they joined."""
    for sub in runtime.store().subscribers.listed(status):
        click.echo(json.dumps(subscriber_json(sub), ensure_ascii=False) if as_json else _line(sub))
    return Exit.OK


@subscribers.command("remove")
@click.argument("email")
@command
def remove(runtime: Runtime, email: str) -> int:
    """Delete a subscriber and their history."""
    sub = find_subscriber(runtime, email)
    if not runtime.store().subscribers.remove(sub.email):
        fail(f"no subscriber {email}", Exit.USAGE)  # removed by another process meanwhile
    # The address as stored, as `set` says it, not as typed.
    click.echo(f"subscribers: removed {sub.email}")
    return Exit.OK


@subscribers.command("set-topics")
@click.argument("email")
@click.option("--topic", "topics", multiple=True, required=True, help=TOPIC_HELP)
@click.option("--exclude", "excludes", multiple=True, help="An exclusion term. Repeat.")
@command
def set_topics(runtime: Runtime, email: str, topics: tuple[str, ...], excludes: tuple[str, ...]) -> int:
    """Replace a subscriber's topics and exclusions."""
    try:
        no_exclusions(topics)
    except InvalidInput as exc:
        fail(str(exc), Exit.USAGE)
    sub = _update(runtime, email, topics=topics, excludes=excludes)
    click.echo(f"subscribers: {sub.email} now has {counted(len(sub.topics), 'topic')}")
    return Exit.OK


@subscribers.command("set")
@click.argument("email")
@click.option("--tz", "timezone", help="IANA time zone, e.g. Asia/Kolkata.")
@click.option("--hour", type=int, help="Local delivery hour 0-23.")
@click.option("--cadence", type=click.Choice(CADENCES))
@click.option("--weekday", help=f"Weekday for weekly digests: {WEEKDAY_NAMES}.")
@click.option("--per-email", type=int, help="Papers on the topics per email, 1-30.")
@command
def set_schedule(
    runtime: Runtime,
    email: str,
    timezone: str | None,
    hour: int | None,
    cadence: str | None,
    weekday: str | None,
    per_email: int | None,
) -> int:
    """Change when and how much a subscriber gets; what is not given stays as it is."""
    given = {
        "timezone": timezone,
        "hour": hour,
        "cadence": cadence,
        "weekday": weekday,
        "per_email": per_email,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        fail("nothing to change: give --tz, --hour, --cadence, --weekday or --per-email", Exit.USAGE)
    sub = _update(runtime, email, **changes)
    # Saved either way; a reader who gets no mail must not read as one who does.
    will = "now gets" if sub.status == "active" else f"is {sub.status} (no mail is sent); would get"
    click.echo(f"subscribers: {sub.email} {will} up to {sub.per_email} papers, {_when(sub)}")
    return Exit.OK


def no_exclusions(topics: tuple[str, ...]) -> tuple[str, ...]:
    """`topics` unchanged, or InvalidInput for one that starts with '-', which the web form reads as
    an exclusion: storing it as a topic would match the very papers the reader meant to drop."""
    for topic in topics:
        text = topic.strip()
        if text.startswith("-"):
            term = text.lstrip("-").strip()
            hint = f"starts with '-', which marks an exclusion: use --exclude {term[:40]!r}"
            raise InvalidInput("topics", f"{text[:40]!r} {hint}")
    return topics


def _check_weekday(weekday: object, cadence: str) -> None:
    """A weekday for a daily reader would change nothing: say so rather than store it silently."""
    if weekday is not None and cadence != "weekly":
        fail("--weekday is for weekly digests: add --cadence weekly", Exit.USAGE)


def _update(runtime: Runtime, email: str, **changes: object) -> Subscriber:
    """The subscriber with `changes` applied, validated like a new subscriber's, and saved."""
    store = runtime.store()
    sub = find_subscriber(runtime, email)
    current: dict[str, object] = {
        "topics": sub.topics,
        "excludes": sub.excludes,
        "timezone": sub.timezone,
        "hour": sub.hour,
        "cadence": sub.cadence,
        "weekday": sub.weekday,
        "per_email": sub.per_email,
    }
    wanted: dict[str, Any] = {**current, **changes}
    try:
        prefs = preferences(wanted.pop("topics"), wanted.pop("excludes"), **wanted)
    except InvalidInput as exc:
        fail(str(exc), Exit.USAGE)
    _check_weekday(changes.get("weekday"), prefs.cadence)
    return store.subscribers.set_preferences(sub.id, prefs, runtime.clock())


def _when(sub: Subscriber) -> str:
    """'daily at 07:00 Europe/Paris' or 'weekly on Fri at 08:00 Asia/Tokyo'."""
    day = f"weekly on {WEEKDAYS[sub.weekday].capitalize()}" if sub.cadence == "weekly" else "daily"
    return f"{day} at {sub.hour:02d}:00 {sub.timezone}"


def _line(sub: Subscriber) -> str:
    topics = "; ".join(sub.topics)
    excludes = f"  (-{', -'.join(sub.excludes)})" if sub.excludes else ""
    when = f"{sub.timezone} {sub.hour:02d}:00"
    if sub.cadence == "weekly":
        when += f", weekly on {WEEKDAYS[sub.weekday].capitalize()}"
    return f"{sub.email:<32} {sub.status:<12} {when}  {topics}{excludes}"


def subscriber_json(sub: Subscriber) -> dict[str, object]:
    """A subscriber as a JSON-ready dict."""
    return {
        "id": sub.id,
        "email": sub.email,
        "status": sub.status,
        "topics": list(sub.topics),
        "excludes": list(sub.excludes),
        "timezone": sub.timezone,
        "hour": sub.hour,
        "cadence": sub.cadence,
        "weekday": sub.weekday,
        "per_email": sub.per_email,
        "created_at": sub.created_at.isoformat(),
        "confirmed_at": sub.confirmed_at.isoformat() if sub.confirmed_at else None,
        # A sign-up waiting for its link, which changes none of the above until it is followed.
        "requested_at": sub.request.requested_at.isoformat() if sub.request else None,
    }
