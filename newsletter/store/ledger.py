"""Issues, their frozen paper pools, and the delivery ledger: one row per (issue, subscriber)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Integer, and_, bindparam, func, or_, select, update

from newsletter.models import Subscriber
from newsletter.store.issues import IssueRecord
from newsletter.store.schema import (
    UTCDateTime,
    deliveries,
    insert_ignore,
    issues,
    sent_papers,
    subscribers,
)
from newsletter.store.subscribers import subscriber_from_row

if TYPE_CHECKING:
    from newsletter.store import Store

STATUSES = ("queued", "sending", "sent", "deferred", "failed", "skipped")


@dataclass(frozen=True, slots=True)
class Delivery:
    """A claimed ledger row, with its subscriber as they are right now."""

    id: int
    issue_id: int
    issue_date: date
    subscriber: Subscriber
    status: str
    kind: str
    picks: list[dict[str, Any]]
    trending: list[str]
    message_id: str
    attempts: int
    created_at: datetime
    # The sender holding the row: only it may record an outcome or hand the row back.
    claimed_by: str | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one delivery attempt, to be written to the ledger."""

    delivery: Delivery
    status: str  # sent, deferred, failed or skipped
    reply: str
    next_attempt_at: datetime | None = None
    bounced: bool = False


# Subscriber columns under a prefix, so they never collide with the ledger's own names.
_SUBSCRIBER_COLUMNS = [column.label(f"sub_{column.name}") for column in subscribers.c]


# One statement for a whole group of outcomes, executed as a batch.
_RECORD = (
    update(deliveries)
    # A sender that overran its lease lost the row to another: its late outcome must not undo that
    # one's (a 'sent' turned 'deferred' would be sent yet again).
    .where(
        deliveries.c.id == bindparam("b_id"), deliveries.c.claimed_by.is_not_distinct_from(bindparam("b_by"))
    )
    .values(
        status=bindparam("b_status"),
        last_reply=bindparam("b_reply"),
        attempts=deliveries.c.attempts + bindparam("b_tries", type_=Integer),
        sent_at=func.coalesce(bindparam("b_sent_at", type_=UTCDateTime), deliveries.c.sent_at),
        next_attempt_at=func.coalesce(bindparam("b_next", type_=UTCDateTime), deliveries.c.next_attempt_at),
        updated_at=bindparam("b_now", type_=UTCDateTime),
        claimed_by=None,
        claimed_until=None,
    )
)


def _due(now: datetime) -> Any:
    waiting = and_(deliveries.c.status.in_(("queued", "deferred")), deliveries.c.next_attempt_at <= now)
    # A sender that died mid-batch left rows in 'sending'; once its lease is over they are due again.
    abandoned = and_(deliveries.c.status == "sending", deliveries.c.claimed_until < now)
    return or_(waiting, abandoned)


class LedgerStore:
    """Queries and writes for issues and deliveries."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def skip_readers(
        self, issue: IssueRecord, subscriber_ids: Sequence[int], reason: str, now: datetime
    ) -> None:
        """Close the issue for these readers without sending (an issue given up on)."""
        rows = [
            {
                "issue_id": issue.id,
                "subscriber_id": subscriber_id,
                "status": "skipped",
                "kind": "skip",
                "picks": [],
                "trending": [],
                "message_id": "",
                "attempts": 0,
                "next_attempt_at": now,
                "last_reply": reason,
                "created_at": now,
                "updated_at": now,
            }
            for subscriber_id in subscriber_ids
        ]
        with self._store.write() as conn:
            insert_ignore(conn, deliveries, rows)

    def queued_subscribers(self, issue: IssueRecord, subscriber_ids: Sequence[int]) -> set[int]:
        """Which of these subscribers already have a row for the issue."""
        found: set[int] = set()
        with self._store.read() as conn:
            for start in range(0, len(subscriber_ids), 5000):
                query = select(deliveries.c.subscriber_id).where(
                    deliveries.c.issue_id == issue.id,
                    deliveries.c.subscriber_id.in_(list(subscriber_ids[start : start + 5000])),
                )
                found.update(conn.execute(query).scalars())
        return found

    def enqueue(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ledger rows; a row that exists already (another scheduler won) is left as it is."""
        with self._store.write() as conn:
            insert_ignore(conn, deliveries, list(rows))

    def claim(
        self,
        issue: IssueRecord,
        worker: str,
        now: datetime,
        lease_s: int,
        limit: int,
        only_subscriber: int | None = None,
    ) -> list[Delivery]:
        """Reserve up to `limit` due rows for `worker`; SKIP LOCKED lets several workers share a queue."""
        with self._store.write() as conn:
            query = (
                select(deliveries.c.id)
                .where(deliveries.c.issue_id == issue.id, _due(now))
                .order_by(deliveries.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if only_subscriber is not None:
                query = query.where(deliveries.c.subscriber_id == only_subscriber)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return []
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id.in_(ids))
                .values(status="sending", claimed_by=worker, claimed_until=now + timedelta(seconds=lease_s))
            )
            rows = conn.execute(
                select(deliveries, *_SUBSCRIBER_COLUMNS)
                .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                .where(deliveries.c.id.in_(ids))
                .order_by(deliveries.c.id)
            ).mappings()
            return [self._delivery(row, issue) for row in rows]

    def _delivery(self, row: Any, issue: IssueRecord) -> Delivery:
        subscriber = subscriber_from_row({c.name: row[f"sub_{c.name}"] for c in subscribers.c})
        # Named by the cadence it was queued under: a reader who switches since gets it as chosen.
        subscriber = replace(subscriber, cadence=row["cadence"] or subscriber.cadence)
        return Delivery(
            id=row["id"],
            issue_id=issue.id,
            issue_date=issue.issue_date,
            subscriber=subscriber,
            status=row["status"],
            kind=row["kind"],
            picks=list(row["picks"]),
            trending=list(row["trending"]),
            message_id=row["message_id"],
            attempts=row["attempts"],
            created_at=row["created_at"],
            claimed_by=row["claimed_by"],
        )

    def deliveries_of(self, issue: IssueRecord, subscriber_id: int) -> list[Delivery]:
        """The ledger row of one subscriber for one issue, if any (without claiming it)."""
        with self._store.read() as conn:
            rows = conn.execute(
                select(deliveries, *_SUBSCRIBER_COLUMNS)
                .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
                .where(deliveries.c.issue_id == issue.id, deliveries.c.subscriber_id == subscriber_id)
            ).mappings()
            return [self._delivery(row, issue) for row in rows]

    def record(self, outcomes: Sequence[Outcome], now: datetime) -> None:
        """Write a group of outcomes in one transaction; a paper counts as sent only here."""
        if not outcomes:
            return
        rows = [
            {
                "b_id": o.delivery.id,
                "b_by": o.delivery.claimed_by,
                "b_status": o.status,
                "b_reply": o.reply[:1000],
                "b_tries": 0 if o.status == "skipped" else 1,
                "b_sent_at": now if o.status == "sent" else None,
                "b_next": o.next_attempt_at,
                "b_now": now,
            }
            for o in outcomes
        ]
        sent = [
            {
                "subscriber_id": o.delivery.subscriber.id,
                "arxiv_id": arxiv_id,
                "issue_date": o.delivery.issue_date,
                "sent_at": now,
            }
            for o in outcomes
            if o.status == "sent"
            # Every paper the email showed, its trending ones too: none is sent to this reader again.
            for arxiv_id in dict.fromkeys([*(p["arxiv_id"] for p in o.delivery.picks), *o.delivery.trending])
        ]  # fmt: skip
        bounced = [o.delivery.subscriber.id for o in outcomes if o.bounced]
        with self._store.write() as conn:
            conn.execute(_RECORD, rows)
            # Another sender may have delivered the same row after a lease ran out: keep the first.
            insert_ignore(conn, sent_papers, sent)
            if bounced:
                conn.execute(
                    update(subscribers)
                    .where(subscribers.c.id.in_(bounced), subscribers.c.status == "active")
                    .values(status="bounced", updated_at=now)
                )

    def release(self, claimed: Sequence[Delivery], now: datetime) -> None:
        """Hand claimed rows that were never attempted back to the queue."""
        if not claimed:
            return
        by_holder: dict[str | None, list[int]] = {}
        for delivery in claimed:
            by_holder.setdefault(delivery.claimed_by, []).append(delivery.id)
        with self._store.write() as conn:
            for holder, ids in by_holder.items():
                # Only rows still ours: one whose lease ran out may be another sender's, in flight.
                conn.execute(
                    update(deliveries)
                    .where(
                        deliveries.c.id.in_(ids),
                        deliveries.c.status == "sending",
                        deliveries.c.claimed_by.is_not_distinct_from(holder),
                    )
                    .values(status="queued", claimed_by=None, claimed_until=None, updated_at=now)
                )

    def issues_with_due_rows(self, now: datetime) -> list[IssueRecord]:
        """Issues that have rows to send now (new, retries that are due, or abandoned claims)."""
        query = (
            select(issues)
            .where(issues.c.id.in_(select(deliveries.c.issue_id).where(_due(now)).distinct()))
            .order_by(issues.c.issue_date)
        )
        with self._store.read() as conn:
            return [
                IssueRecord(r["id"], r["issue_date"], r["frozen_at"]) for r in conn.execute(query).mappings()
            ]

    def has_unfinished(self, now: datetime) -> bool:
        """True while any row is queued, being sent (under any lease), or a retry that is due."""
        query = (
            select(deliveries.c.id)
            .where(or_(deliveries.c.status.in_(("queued", "sending")), _due(now)))
            .limit(1)
        )
        with self._store.read() as conn:
            return conn.execute(query).first() is not None
