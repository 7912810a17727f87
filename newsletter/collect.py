"""The collect stage: fetch or read a document, scrape it, and store it in one transaction."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import httpx

from newsletter.config import SourcesSettings
from newsletter.models import FetchReport, Listing, counted
from newsletter.scrape import ScrapeError, ScrapeResult, parse_api, parse_document, parse_page
from newsletter.services import Services
from newsletter.sources import hf
from newsletter.sources.hf import SourceUnreachable
from newsletter.store import Store

log = logging.getLogger(__name__)

__all__ = [
    "CollectError",
    "FetchOutcome",
    "ScrapeError",
    "SourceUnreachable",
    "collect_source",
    "fetch_sources",
    "import_file",
    "last_fetch_slot",
    "missed_fetch",
    "run_fetch",
]


class CollectError(Exception):
    """Input that cannot be imported (unreadable file); nothing was stored."""


@dataclass(frozen=True, slots=True)
class _Parsed:
    listings: list[Listing]
    method: str
    skipped: int
    pages: int


def collect_source(
    client: httpx.Client,
    store: Store,
    settings: SourcesSettings,
    name: str,
    day: date | None,
    now: datetime,
) -> FetchReport:
    """Fetch one source from the network and store what it lists."""

    def parse() -> _Parsed:
        if name == hf.API:
            return _fetch_api_pages(client, settings, day)
        request = hf.request_for(name, settings.base_url, day)
        result = parse_page(hf.fetch_text(client, request), day)
        return _Parsed(result.listings, result.method, result.skipped, 1)

    return _store_parsed(store, name, name, parse, now)


def _fetch_api_pages(client: httpx.Client, settings: SourcesSettings, day: date | None) -> _Parsed:
    listings: list[Listing] = []
    seen: set[str] = set()
    skipped = 0
    pages = 0
    for page in range(settings.api_max_pages):
        request = hf.request_for(
            hf.API, settings.base_url, day, sort=settings.api_sort, limit=settings.api_limit, page=page
        )
        result: ScrapeResult = parse_api(hf.fetch_text(client, request), day)
        pages += 1
        # The trending order shifts between requests, so a paper can reach two pages: the first
        # listing is kept (stored twice, it stopped the whole fetch on the store's unique key).
        fresh = [li for li in result.listings if li.paper.arxiv_id not in seen]
        seen.update(li.paper.arxiv_id for li in fresh)
        listings.extend(fresh)
        skipped += result.skipped
        # A short page ends the day; a full page with nothing new means the API ignored `p`.
        if len(result.listings) + result.skipped < settings.api_limit or not fresh:
            break
    else:
        log.warning("scrape: hf-api stopped after api_max_pages=%d full pages", settings.api_max_pages)
    return _Parsed(listings, "api json", skipped, pages)


def import_file(store: Store, path: Path, day: date | None, now: datetime) -> FetchReport:
    """Import a saved papers page or a saved API response, as if it had been fetched."""

    def parse() -> _Parsed:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise CollectError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise CollectError(f"{path}: cannot be read: {exc}") from None
        try:
            result = parse_document(text, day)
        except ScrapeError as exc:
            raise ScrapeError(f"{path}: {exc}") from None
        except RecursionError:
            raise ScrapeError(f"{path}: document nested too deeply to read") from None
        return _Parsed(result.listings, result.method, result.skipped, 1)

    return _store_parsed(store, "file", f"file {path.name}", parse, now)


def _store_parsed(
    store: Store, source: str, label: str, parse: Callable[[], _Parsed], now: datetime
) -> FetchReport:
    """Run `parse`, then write every listing and the fetch log row in one transaction."""
    try:
        parsed = parse()
    except (SourceUnreachable, ScrapeError, CollectError) as exc:
        with store.write() as conn:
            # A file's errors start with its path already; a source's name says which one failed.
            error = f"file {exc}" if source == "file" else f"{label}: {exc}"
            store.papers.record_fetch(conn, now, now, None, source, error=error)
        raise
    # A source that gives no date is dated by the day we saw the listing.
    items = [(item.paper, item.listing_date or now.date()) for item in parsed.listings]
    with store.write() as conn:
        counts = store.papers.upsert(conn, items, source, now)
        report = FetchReport(
            source=label,
            pages=parsed.pages,
            method=parsed.method,
            papers=len(items),
            new=counts.new,
            updated=counts.updated,
            skipped=parsed.skipped,
            relisted=counts.relisted,
        )
        store.papers.record_fetch(conn, now, now, report, source)
    log.info(report.line())
    return report


@dataclass(frozen=True, slots=True)
class FetchOutcome:
    """Every source's report, and the sources that failed ("hf-trending: source unreachable")."""

    reports: list[FetchReport]
    failures: list[str]
    unreachable: bool = False  # some source could not be reached (not just answered unreadably)

    @property
    def all_failed(self) -> bool:
        """Nothing was fetched: every source failed. One failing among several is not an outage."""
        return bool(self.failures) and not self.reports

    def line(self) -> str:
        papers = sum(r.papers for r in self.reports)
        new = sum(r.new for r in self.reports)
        failed = f"; failed: {'; '.join(self.failures)}" if self.failures else ""
        return f"fetch: {counted(len(self.reports), 'source')} ok, {papers} papers, {new} new{failed}"


def fetch_sources(
    client: httpx.Client,
    store: Store,
    settings: SourcesSettings,
    names: Sequence[str],
    day: date,
    now: datetime,
) -> FetchOutcome:
    """Fetch `names` in turn (dated sources for `day`); one failing source does not stop the others."""
    reports: list[FetchReport] = []
    failures: list[str] = []
    unreachable = False
    for name in names:
        listing_day = None if name == hf.TRENDING else day
        try:
            reports.append(collect_source(client, store, settings, name, listing_day, now))
        except SourceUnreachable as exc:
            failures.append(f"{name}: source unreachable")
            unreachable = True
            log.error("source unreachable: %s: %s", name, exc)
        except ScrapeError as exc:
            failures.append(f"{name}: unreadable")
            log.error("source unreadable: %s: %s", name, exc)
    return FetchOutcome(reports, failures, unreachable)


def run_fetch(svc: Services, day: date | None = None) -> FetchOutcome:
    """Fetch every enabled source; one failing source does not stop the others."""
    settings, now = svc.settings.sources, svc.clock()
    with svc.make_http_client() as client:
        return fetch_sources(client, svc.store, settings, settings.enabled, day or now.date(), now)


def last_fetch_slot(now: datetime, fetch_times: Iterable[str]) -> datetime | None:
    """The most recent configured fetch time (UTC) at or before `now`, within the last day."""
    slots = []
    for text in fetch_times:
        hour, minute = (int(part) for part in text.split(":"))
        for day in (now.date(), now.date() - timedelta(days=1)):
            at = datetime.combine(day, time(hour, minute), tzinfo=now.tzinfo)
            if at <= now:
                slots.append(at)
    return max(slots, default=None)


def missed_fetch(
    store: Store, fetch_times: Iterable[str], now: datetime, attempted: datetime | None
) -> datetime | None:
    """The last fetch time, if no fetch was `attempted` since and none has succeeded since; else None."""
    due = last_fetch_slot(now, fetch_times)
    if due is None or (attempted is not None and attempted >= due):
        return None
    last = store.papers.last_success()
    return due if last is None or last < due else None
