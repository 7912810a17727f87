"""One send run: freeze the edition, queue a ledger row per subscriber, and drain the queue."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from newsletter.config import Settings
from newsletter.deliver import Transport
from newsletter.deliver.send import SendLoop, SendSummary
from newsletter.edition import Edition, EmptyPool, Reader
from newsletter.models import Subscriber, counted, gets_issue
from newsletter.store import Store
from newsletter.store.ledger import Outcome
from newsletter.tokens import Signer

log = logging.getLogger(__name__)
CHUNK = 5000


def waiting_line(other_day: int) -> str:
    """How many weekly readers an issue left for their own weekday."""
    return f"{counted(other_day, 'weekly reader')} {'waits' if other_day == 1 else 'wait'} for their weekday"


@dataclass(frozen=True, slots=True)
class Queued:
    """What queueing did: new rows by kind."""

    digest: int = 0
    trending: int = 0
    skip: int = 0
    seconds: float = 0.0
    other_day: int = 0  # weekly readers whose weekday the issue is not on: not queued
    already: int = 0  # readers queued for this issue by an earlier run: not queued again
    closed: str = ""  # why nobody new may be queued (the issue is past keep_days), if so

    def line(self) -> str:
        if self.closed:
            return f"queue: nobody new: {self.closed}"
        waiting = f"; {waiting_line(self.other_day)}" if self.other_day else ""
        earlier = ""
        if self.already:
            earlier = f"; {counted(self.already, 'reader')} already queued by an earlier run"
        return (
            f"queue: {counted(self.digest, 'digest')}, {self.trending:,} trending-only, "
            f"{self.skip:,} skipped (no match){waiting}{earlier}"
        )


@dataclass
class TickReport:
    """What one scheduler tick did: readers queued, issues left waiting for papers, each send run."""

    queued: int = 0
    no_email: int = 0  # of `queued`: nothing on their topics, and no trending fallback for them
    waiting: list[str] = field(default_factory=list)
    summaries: list[SendSummary] = field(default_factory=list)

    @property
    def sent(self) -> int:
        return sum(s.sent for s in self.summaries)

    def line(self) -> str:
        totals = {
            k: sum(getattr(s, k) for s in self.summaries) for k in ("sent", "deferred", "failed", "skipped")
        }
        wait = f"; waiting for papers: {', '.join(self.waiting)}" if self.waiting else ""
        reasons = sorted({s.stopped for s in self.summaries if s.stopped})
        stopped = f"; stopped: {'; '.join(reasons)}" if reasons else ""
        # Their rows are queued as skipped and never sent: without this, queued and sent disagree.
        quiet = f" ({self.no_email} without an email: nothing on their topics)" if self.no_email else ""
        return (
            f"tick: {self.queued:,} queued{quiet}, {totals['sent']:,} sent, {totals['deferred']:,} deferred, "
            f"{totals['failed']:,} failed, {totals['skipped']:,} skipped{wait}{stopped}"
        )


def enqueue(edition: Edition, readers: Iterable[Reader], now: datetime) -> Queued:
    """Choose and queue every reader without a row for this issue, a chunk at a time."""
    assert edition.issue is not None
    started = time.perf_counter()
    counts = {"digest": 0, "trending": 0, "skip": 0}
    already = 0
    iterator = iter(readers)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        known = edition.store.ledger.queued_subscribers(edition.issue, [r.id for r in chunk])
        fresh = [r for r in chunk if r.id not in known]
        already += len(chunk) - len(fresh)
        rows = edition.queue_rows(fresh, now)
        edition.store.ledger.enqueue(rows)
        for row in rows:
            counts[row["kind"]] += 1
            if row["kind"] == "skip":
                log.info("queue: subscriber %d skipped: %s", row["subscriber_id"], row["last_reply"])
    return Queued(
        counts["digest"], counts["trending"], counts["skip"], time.perf_counter() - started, already=already
    )


def _queue(
    store: Store, settings: Settings, issue_date: date, clock: Callable[[], datetime], only: Subscriber | None
) -> tuple[Queued, Edition]:
    started = time.perf_counter()
    closed = store.issues.closed_by_retention(issue_date, settings.database.keep_days)
    edition = Edition.open(store, settings, issue_date, clock(), freeze=True)
    if not edition.pool:  # sent long ago and pruned since: nobody gets a row, let alone its papers
        raise EmptyPool(edition.empty_line(), listed=True)
    if closed:
        assert edition.issue is not None
        if not store.history.unfinished(edition.issue):
            raise EmptyPool(closed, listed=True)
        # Rows queued before still go out; nobody new is queued.
        return Queued(closed=closed), edition
    other_day = 0

    def on_the_day(readers: Iterable[Reader]) -> Iterator[Reader]:
        nonlocal other_day
        for reader in readers:
            if gets_issue(reader.cadence, reader.weekday, issue_date):
                yield reader
            else:
                other_day += 1

    # `only` is the admin's explicit choice; everyone else gets the issues of their cadence.
    subscribers: Iterable[Reader] = [only] if only else on_the_day(store.subscribers.iter_readers("active"))
    queued = enqueue(edition, subscribers, clock())
    # Opening the edition (freezing the pool) counts toward ranking time too.
    queued = replace(queued, seconds=time.perf_counter() - started, other_day=other_day)
    return queued, edition


def queue_issue(
    store: Store,
    settings: Settings,
    issue_date: date,
    clock: Callable[[], datetime],
    *,
    only: Subscriber | None = None,
) -> Queued:
    """Freeze the issue and queue a ledger row per active subscriber due it (or `only`); send nothing.

    Daily readers are due every issue, weekly readers the issue of their weekday. The caller
    reports the count line (`Queued.line()`), so it is said once.
    """
    return _queue(store, settings, issue_date, clock, only)[0]


def send_issue(
    store: Store,
    settings: Settings,
    transport: Transport,
    signer: Signer,
    issue_date: date,
    clock: Callable[[], datetime],
    *,
    only: Subscriber | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
    stopping: threading.Event | None = None,
) -> tuple[Queued, SendSummary]:
    """Queue every active subscriber due the issue (or `only`), then send what is due.

    Once `stopping` is set, the messages in flight finish and the rest stays queued.
    """
    queued, edition = _queue(store, settings, issue_date, clock, only)
    log.info(queued.line())
    loop = SendLoop(
        edition=edition,
        transport=transport,
        signer=signer,
        clock=clock,
        connections=settings.smtp.pool_size if settings.delivery.transport == "smtp" else 1,
        only_subscriber=only.id if only else None,
        on_outcome=on_outcome,
        stopping=stopping,
    )
    return queued, loop.run()
