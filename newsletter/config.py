"""Settings: config.toml plus NEWSLETTER_<SECTION>_<KEY> environment overrides, typed and frozen."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from newsletter.config_loader import (
    ConfigError,
    bounded,
    build_settings,
    read_toml,
    secret,
    url_field,
)
from newsletter.config_mail import LOCAL_HOSTS, DeliverySettings, DkimSettings, SmtpSettings
from newsletter.config_web import WebSettings
from newsletter.subscribers import MAX_PER_EMAIL, InvalidInput, check_timezone

__all__ = [
    "LOCAL_HOSTS",
    "ConfigError",
    "DeliverySettings",
    "DkimSettings",
    "Settings",
    "SmtpSettings",
    "load_settings",
    "secret",
]

SOURCE_NAMES = ("hf-trending", "hf-daily", "hf-api")
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
    # At least 6: the issue date and the 6 days before it are a weekly reader's whole week.
    weekly_window_days: int = bounded(9, 6, 30)
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
