"""One send run: freeze the edition, queue a ledger row per subscriber, and drain the queue."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime

from newsletter.config import Settings
from newsletter.deliver import Transport
from newsletter.deliver.send import SendLoop, SendSummary
from newsletter.edition import Edition
from newsletter.models import Subscriber
from newsletter.store import Store
from newsletter.store.ledger import Outcome
from newsletter.tokens import Signer

log = logging.getLogger(__name__)
CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Queued:
    """What queueing did: new rows by kind."""

    digest: int = 0
    trending: int = 0
    skip: int = 0

    def line(self) -> str:
        return f"queue: {self.digest} digests, {self.trending} trending-only, {self.skip} skipped (no match)"


def enqueue(edition: Edition, subscribers: Iterable[Subscriber], now: datetime) -> Queued:
    """Plan and queue every subscriber without a row for this issue, a chunk at a time."""
    assert edition.issue is not None
    counts = {"digest": 0, "trending": 0, "skip": 0}
    iterator = iter(subscribers)
    while chunk := list(itertools.islice(iterator, CHUNK)):
        known = edition.store.ledger.queued_subscribers(edition.issue, [s.id for s in chunk])
        fresh = [s for s in chunk if s.id not in known]
        plans = edition.plan(fresh)
        edition.store.ledger.enqueue([edition.ledger_row(plan, now) for plan in plans])
        for plan in plans:
            counts[plan.kind] += 1
            if plan.kind == "skip":
                log.info(
                    "queue: %s has nothing on their topics; skipped (empty_day = skip)", plan.subscriber.email
                )
    return Queued(**counts)


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
) -> tuple[Queued, SendSummary]:
    """Queue every active subscriber (or `only`) for `issue_date`, then send what is due."""
    edition = Edition.open(store, settings, issue_date, clock(), freeze=True)
    subscribers: Iterable[Subscriber] = [only] if only else store.subscribers.iter_status("active")
    queued = enqueue(edition, subscribers, clock())
    log.info(queued.line())
    loop = SendLoop(
        edition=edition,
        transport=transport,
        signer=signer,
        clock=clock,
        connections=settings.smtp.pool_size if settings.delivery.transport == "smtp" else 1,
        only_subscriber=only.id if only else None,
        on_outcome=on_outcome,
    )
    return queued, loop.run()
