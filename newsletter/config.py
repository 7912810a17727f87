"""Settings: config.toml plus NEWSLETTER_<SECTION>_<KEY> environment overrides, typed and frozen."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from email.errors import MessageError
from email.headerregistry import Address
from pathlib import Path
from urllib.parse import urlsplit

import idna

from newsletter.config_loader import (
    ConfigError,
    bounded,
    build_settings,
    check_range,
    read_toml,
    secret,
    url_field,
)
from newsletter.config_web import WebSettings
from newsletter.subscribers import MAX_PER_EMAIL, InvalidInput, check_timezone

__all__ = ["ConfigError", "Settings", "load_settings", "secret"]

SOURCE_NAMES = ("hf-trending", "hf-daily", "hf-api")
MAX_RETRY_MINUTES = 10_080.0  # a week, per retry of a deferred message
# Line breaks and other control characters: in a header they would end it early and start another.
HEADER_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# RFC 5322's dot-atom-text, what RFC 2919 builds a List-Id from ("papers.example.org").
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def check_address(where: str, value: str) -> None:
    """ConfigError unless `value` is one bare address (local@domain) that the email headers can carry."""
    try:
        parsed = Address(addr_spec=value)
        whole = bool(parsed.username and parsed.domain) and parsed.addr_spec == value
        if whole and not parsed.domain.isascii():
            # As mail is addressed: a domain that has no IDNA form fails.
            idna.encode(parsed.domain, uts46=True)
    except (ValueError, IndexError, MessageError, UnicodeError):
        whole = False
    if not whole:
        raise ConfigError(f"{where}: must be an email address like papers@example.org, got {value!r}")


# An issue can go out up to two days after its date: a reader west of UTC is still in yesterday,
# and an issue that had started stays due past the reader's midnight.
LATE_ISSUE_DAYS = 2
MAX_KEEP_DAYS = 3650  # ten years


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = url_field("sqlite:///newsletter.db")
    keep_days: int = bounded(180, 0, MAX_KEEP_DAYS)  # 0 keeps everything


@dataclass(frozen=True)
class SourcesSettings:
    enabled: tuple[str, ...] = ("hf-trending",)
    base_url: str = "https://huggingface.co"
    timeout_s: float = bounded(20.0, 0.0, 300.0, above=True)
    retries: int = bounded(3, 0, 10)
    backoff_s: float = bounded(1.0, 0.0, 60.0)
    max_wait_s: float = bounded(60.0, 0.0, 3600.0, above=True)
    api_sort: str = "trending"
    api_limit: int = bounded(100, 1, 100)
    api_max_pages: int = bounded(5, 1, 100)

    def validate(self) -> None:
        unknown = [name for name in self.enabled if name not in SOURCE_NAMES]
        if unknown:
            raise ConfigError(
                f"sources.enabled: unknown source {unknown[0]!r}; choose from {', '.join(SOURCE_NAMES)}"
            )
        if not self.enabled:
            raise ConfigError("sources.enabled: name at least one source")
        if self.api_sort not in ("trending", "publishedAt"):
            raise ConfigError("sources.api_sort: must be 'trending' or 'publishedAt'")
        # Every request is base_url + "/papers/..." or "/api/...": without a scheme and host, each
        # fetch failed as "source unreachable" (exit 3), as if the network were down.
        try:
            parts = urlsplit(self.base_url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:
            usable = False
        if not usable or parts.query or parts.fragment:
            raise ConfigError(
                f"sources.base_url: {self.base_url!r} is not a web address like https://huggingface.co "
                "(http or https, a host, and no query or fragment)"
            )


@dataclass(frozen=True)
class SubscribersSettings:
    default_timezone: str = "UTC"
    default_hour: int = bounded(7, 0, 23)
    default_per_email: int = bounded(10, 1, MAX_PER_EMAIL)

    def validate(self) -> None:
        try:
            check_timezone(self.default_timezone)
        except InvalidInput as exc:
            raise ConfigError(f"subscribers.default_{exc.field}: {exc.message}") from None


@dataclass(frozen=True)
class RankSettings:
    ranker: str = "lexical"
    threshold: float = bounded(0.2, 0.0, 1.0)
    popularity_weight: float = bounded(0.2, 0.0, 1.0)

    def validate(self) -> None:
        if self.ranker not in ("lexical", "hybrid"):
            raise ConfigError("rank.ranker: must be 'lexical' or 'hybrid'")


@dataclass(frozen=True)
class IssueSettings:
    window_days: int = bounded(3, 0, 30)
    weekly_window_days: int = bounded(9, 0, 30)
    empty_day: str = "trending"
    on_stale: str = "late"
    give_up_hours: float = bounded(6.0, 0.0, 168.0, above=True)

    def validate(self) -> None:
        if self.empty_day not in ("trending", "skip"):
            raise ConfigError("issue.empty_day: must be 'trending' or 'skip'")
        if self.on_stale not in ("late", "skip"):
            raise ConfigError("issue.on_stale: must be 'late' or 'skip'")

    @property
    def pool_days(self) -> int:
        """How far back an issue's pool reaches: far enough for weekly readers and for daily ones."""
        return max(self.window_days, self.weekly_window_days)

    def daily_from(self, issue_date: date) -> date:
        """The first listing day a daily reader's picks may come from."""
        return issue_date - timedelta(days=self.window_days)


@dataclass(frozen=True)
class DeliverySettings:
    transport: str = "outbox"
    outbox: str = "outbox"
    from_address: str = "papers@newsletter.invalid"
    from_name: str = "Trending Papers"
    reply_to: str = ""
    list_id: str = "papers.newsletter.invalid"
    postal_line: str = "Sent by a self-hosted newsletter. Reply to this email to reach its operator."
    batch_size: int = bounded(50, 1, 10_000)
    retry_minutes: tuple[str, ...] = ("1", "5", "15", "60")
    retry_deadline_hours: float = bounded(24.0, 0.0, 720.0, above=True)
    max_connection_failures: int = bounded(5, 1, 1000)
    lease_s: int = bounded(300, 2, 86_400)
    admin_email: str = ""

    def validate(self) -> None:
        if self.transport not in ("outbox", "smtp"):
            raise ConfigError("delivery.transport: must be 'outbox' or 'smtp'")
        if not self.outbox.strip():
            raise ConfigError("delivery.outbox: name the folder for the outbox's files, such as 'outbox'")
        # Each goes into a header of every email (or is where alerts go): one that does not parse
        # would stop the first send with a traceback, or go out as a broken header.
        for name in ("from_address", "reply_to", "admin_email"):
            address = getattr(self, name)
            if address or name == "from_address":
                check_address(f"delivery.{name}", address)
        if HEADER_CONTROL.search(self.from_name):
            raise ConfigError("delivery.from_name: must not contain line breaks or other control characters")
        if not DOT_ATOM.fullmatch(self.list_id):
            raise ConfigError(
                f"delivery.list_id: {self.list_id!r} is not a List-Id; use a domain you control, "
                "like papers.example.org"
            )
        try:
            minutes = [float(m) for m in self.retry_minutes]
        except ValueError:
            raise ConfigError("delivery.retry_minutes: must be numbers of minutes") from None
        if not minutes:
            raise ConfigError("delivery.retry_minutes: give at least one positive number of minutes")
        for value in minutes:
            check_range("delivery.retry_minutes", value, 0.0, MAX_RETRY_MINUTES, above=True)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """The backoff schedule in seconds."""
        return tuple(float(m) * 60 for m in self.retry_minutes)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
MIN_RATE = 0.01  # messages per second, when rate_per_s limits at all: one each 100 s
MAX_RATE = 1000.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = bounded(587, 1, 65535)
    security: str = "starttls"
    pool_size: int = bounded(4, 1, 64)
    timeout_s: float = bounded(30.0, 0.0, 600.0, above=True)
    rate_per_s: float = bounded(0.0, 0.0, MAX_RATE)
    user: str = secret()
    password: str = secret()

    def validate(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            # An empty host deferred every message as "cannot connect to :587" and stopped the send (exit 5).
            raise ConfigError(
                f"smtp.host: {self.host!r} is not a host name; name the relay, like smtp.example.org"
            )
        if self.security not in ("starttls", "ssl", "none"):
            raise ConfigError("smtp.security: must be 'starttls', 'ssl' or 'none'")
        if self.security == "none" and self.host not in LOCAL_HOSTS:
            raise ConfigError(
                f"smtp.security = 'none' is allowed only for localhost, not {self.host!r}: "
                "mail would cross the network in plaintext"
            )
        if 0 < self.rate_per_s < MIN_RATE:  # a pause of years between two messages, or an overflow
            raise ConfigError(
                f"smtp.rate_per_s: must be 0 (no limit) or between {MIN_RATE:g} and {MAX_RATE:g}, "
                f"got {self.rate_per_s}"
            )


@dataclass(frozen=True)
class ScheduleSettings:
    fetch_times: tuple[str, ...] = ("06:00", "18:00")
    tick_minutes: int = bounded(5, 1, 60)
    misfire_grace_s: int = bounded(600, 1, 86_400)
    lease_s: int = bounded(60, 10, 3600)

    def validate(self) -> None:
        seen: set[tuple[int, int]] = set()
        for text in self.fetch_times:
            parts = text.split(":")
            if len(parts) != 2 or not all(p.isdigit() for p in parts):
                raise ConfigError(f"schedule.fetch_times: {text!r} is not HH:MM")
            if not (0 <= int(parts[0]) <= 23 and 0 <= int(parts[1]) <= 59):
                raise ConfigError(f"schedule.fetch_times: {text!r} is not a time of day")
            # One fetch job per time: a time given twice stopped `newsletter run` with a traceback.
            at = (int(parts[0]), int(parts[1]))
            if at in seen:
                raise ConfigError(f"schedule.fetch_times: {at[0]:02d}:{at[1]:02d} is given twice")
            seen.add(at)


@dataclass(frozen=True)
class DkimSettings:
    key_path: str = ""  # PEM RSA private key; "" leaves DKIM signing off
    selector: str = ""
    domain: str = ""  # the d= domain; "" means the domain of delivery.from_address

    def validate(self) -> None:
        # The key file itself is read and checked once at startup, by app.build_dkim (newsletter/dkim.py).
        if self.key_path and not self.selector:
            raise ConfigError(
                "dkim.selector: required when dkim.key_path is set "
                "(the public key is published at <selector>._domainkey.<domain>)"
            )
        for name in ("selector", "domain"):
            value = getattr(self, name)
            if value and (any(c.isspace() for c in value) or "@" in value):
                raise ConfigError(f"dkim.{name}: {value!r} is not a DNS name")


@dataclass(frozen=True)
class LogSettings:
    level: str = "INFO"

    def validate(self) -> None:
        if self.level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ConfigError("log.level: must be DEBUG, INFO, WARNING or ERROR")


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    sources: SourcesSettings = field(default_factory=SourcesSettings)
    subscribers: SubscribersSettings = field(default_factory=SubscribersSettings)
    rank: RankSettings = field(default_factory=RankSettings)
    issue: IssueSettings = field(default_factory=IssueSettings)
    delivery: DeliverySettings = field(default_factory=DeliverySettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    web: WebSettings = field(default_factory=WebSettings)
    schedule: ScheduleSettings = field(default_factory=ScheduleSettings)
    log: LogSettings = field(default_factory=LogSettings)
    dkim: DkimSettings = field(default_factory=DkimSettings)

    def validate(self) -> None:
        """Rules across sections: the history kept must outlast what an issue can still hold."""
        keep, needed = self.database.keep_days, self.issue.pool_days + LATE_ISSUE_DAYS
        if 0 < keep < needed:
            # The sent history must cover every paper an issue could still hold, or a reader gets it twice.
            widest = (
                "weekly_window_days"
                if self.issue.weekly_window_days >= self.issue.window_days
                else "window_days"
            )
            raise ConfigError(
                f"database.keep_days: {keep} is too short: readers could be sent papers they already had, "
                f"since an issue's papers reach back {self.issue.pool_days} days (issue.{widest}) and an "
                f"issue can go out {LATE_ISSUE_DAYS} days after its date; use 0 (keep everything) or at "
                f"least {needed}"
            )


def load_settings(path: Path | None, environ: Mapping[str, str] = os.environ) -> Settings:
    """Read config.toml (when given and present) and apply environment overrides."""
    settings: Settings = build_settings(Settings, read_toml(path) if path is not None else {}, environ)
    return settings
