"""Subscribers, and the history of which papers each one has been sent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import Connection, delete, exists, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from newsletter.models import Schedule, Subscriber
from newsletter.store.schema import deliveries, insert_ignore, issues, sent_papers, subscribers
from newsletter.store.subscriber_rows import (
    new_row,
    preference_values,
    request_from_value,
    request_value,
)

# Re-exported: these lived here before subscriber_rows.py, and the ledger and tests import them from here.
from newsletter.store.subscriber_rows import subscriber_from_row as subscriber_from_row
from newsletter.store.subscriber_rows import topics_key as topics_key
from newsletter.subscribers import Preferences, email_key

if TYPE_CHECKING:
    from newsletter.store import Store


class ReaderRow(NamedTuple):
    """A subscriber as ranking sees them."""

    id: int
    topics: list[str]
    excludes: list[str]
    per_email: int
    cadence: str
    weekday: int


# The columns of a Schedule, in its order.
SCHEDULE_COLUMNS = (subscribers.c.timezone, subscribers.c.hour, subscribers.c.cadence, subscribers.c.weekday)


class DuplicateSubscriber(ValueError):
    """The address is already subscribed (compared case-insensitively)."""


class SubscriberStore:
    """Queries and writes for subscribers and their sent history."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def add(self, email: str, prefs: Preferences, status: str, now: datetime) -> Subscriber:
        """Create a subscriber; raises DuplicateSubscriber if the address is known."""
        values = new_row(email, prefs, status, now)
        try:
            with self._store.write() as conn:
                new_id = conn.execute(insert(subscribers).values(**values)).inserted_primary_key
                assert new_id is not None
                return self._get(conn, int(new_id[0]))
        except IntegrityError:
            raise DuplicateSubscriber(f"{email} is already subscribed") from None

    def add_many(
        self, entries: Iterable[tuple[str, Preferences]], status: str, now: datetime, batch: int = 10_000
    ) -> int:
        """Bulk-import already validated (email, preferences) pairs; an address already known is skipped."""
        added = 0
        rows: list[dict[str, Any]] = []
        for email, prefs in entries:
            rows.append(new_row(email, prefs, status, now))
            if len(rows) == batch:
                added += self._insert(rows)
                rows = []
        return added + self._insert(rows)

    def _insert(self, rows: list[dict[str, Any]]) -> int:
        """Insert a batch; how many went in (known addresses are skipped)."""
        if not rows:
            return 0
        with self._store.write() as conn:
            return insert_ignore(conn, subscribers, rows, count=True)

    def get(self, subscriber_id: int) -> Subscriber | None:
        with self._store.read() as conn:
            row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).mappings()
            found = row.first()
            return subscriber_from_row(dict(found)) if found else None

    def _get(self, conn: Connection, subscriber_id: int) -> Subscriber:
        row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).mappings().one()
        return subscriber_from_row(dict(row))

    def by_email(self, email: str) -> Subscriber | None:
        """The subscriber with this address, compared case-insensitively."""
        with self._store.read() as conn:
            query = select(subscribers).where(subscribers.c.email_key == email_key(email))
            row = conn.execute(query).mappings().first()
            return subscriber_from_row(dict(row)) if row else None

    def listed(self, status: str | None = None) -> list[Subscriber]:
        """All subscribers in id order, or those with `status`."""
        query = select(subscribers).order_by(subscribers.c.id)
        if status is not None:
            query = query.where(subscribers.c.status == status)
        with self._store.read() as conn:
            return [subscriber_from_row(dict(row)) for row in conn.execute(query).mappings()]

    def recent_emails(self, limit: int) -> list[tuple[str, str]]:
        """The newest `limit` subscribers' (email, status), newest first: a page's suggestions."""
        columns = (subscribers.c.email, subscribers.c.status)
        query = select(*columns).order_by(subscribers.c.id.desc()).limit(limit)
        with self._store.read() as conn:
            return [(email, status) for email, status in conn.execute(query)]

    def iter_status(self, status: str, batch: int = 5000) -> Iterator[Subscriber]:
        """Stream subscribers with `status` in id order, a batch per query, never all at once."""
        last = 0
        while True:
            query = (
                select(subscribers)
                .where(subscribers.c.status == status, subscribers.c.id > last)
                .order_by(subscribers.c.id)
                .limit(batch)
            )
            with self._store.read() as conn:
                rows = [subscriber_from_row(dict(row)) for row in conn.execute(query).mappings()]
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].id

    def schedules(self, status: str) -> list[Schedule]:
        """The distinct delivery schedules of the subscribers with `status`: few, whatever the readers."""
        query = select(*SCHEDULE_COLUMNS).where(subscribers.c.status == status).distinct()
        with self._store.read() as conn:
            return sorted(Schedule(*row) for row in conn.execute(query))

    def unqueued(self, issue_date: date, schedules: Sequence[Schedule], batch: int = 500) -> list[Subscriber]:
        """Active subscribers on one of `schedules` without a ledger row for the issue of `issue_date`."""
        queued = (
            select(deliveries.c.id)
            .join(issues, issues.c.id == deliveries.c.issue_id)
            .where(issues.c.issue_date == issue_date, deliveries.c.subscriber_id == subscribers.c.id)
        )
        found: list[Subscriber] = []
        with self._store.read() as conn:
            # A batch of schedules per query keeps the bound parameters under SQLite's limit.
            for start in range(0, len(schedules), batch):
                query = select(subscribers).where(
                    subscribers.c.status == "active",
                    tuple_(*SCHEDULE_COLUMNS).in_(schedules[start : start + batch]),
                    ~exists(queued),
                )
                found.extend(subscriber_from_row(dict(row)) for row in conn.execute(query).mappings())
        return sorted(found, key=lambda sub: sub.id)

    def iter_readers(self, status: str, batch: int = 5000) -> Iterator[ReaderRow]:
        """Stream just what ranking needs (id, topics, exclusions, papers per email, cadence), in id order."""
        columns = (
            subscribers.c.id,
            subscribers.c.topics,
            subscribers.c.excludes,
            subscribers.c.per_email,
            subscribers.c.cadence,
            subscribers.c.weekday,
        )
        last = 0
        while True:
            query = (
                select(*columns)
                .where(subscribers.c.status == status, subscribers.c.id > last)
                .order_by(subscribers.c.id)
                .limit(batch)
            )
            with self._store.read() as conn:
                rows = [ReaderRow(*row) for row in conn.execute(query)]
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].id

    def counts_by_status(self) -> dict[str, int]:
        query = select(subscribers.c.status, func.count()).group_by(subscribers.c.status)
        with self._store.read() as conn:
            return {status: int(count) for status, count in conn.execute(query)}

    def remove(self, email: str) -> bool:
        """Delete a subscriber and their history; False if there was none."""
        with self._store.write() as conn:
            result = conn.execute(delete(subscribers).where(subscribers.c.email_key == email_key(email)))
            return bool(result.rowcount)

    def set_preferences(self, subscriber_id: int, prefs: Preferences, now: datetime) -> Subscriber:
        """Replace topics, exclusions and delivery choices."""
        with self._store.write() as conn:
            conn.execute(
                update(subscribers)
                .where(subscribers.c.id == subscriber_id)
                .values(updated_at=now, **preference_values(prefs))
            )
            return self._get(conn, subscriber_id)

    def keep_request(self, subscriber_id: int, prefs: Preferences, nonce: str, now: datetime) -> Subscriber:
        """Keep a sign-up for a known reader until the link carrying `nonce` is followed; it replaces
        any sign-up that waited, and changes nothing else about the reader."""
        with self._store.write() as conn:
            conn.execute(
                update(subscribers)
                .where(subscribers.c.id == subscriber_id)
                .values(requested=request_value(prefs, nonce, now))
            )
            return self._get(conn, subscriber_id)

    def apply_request(self, subscriber_id: int, nonce: str, now: datetime) -> Subscriber | None:
        """Activate the reader with the choices of the waiting sign-up whose link carries `nonce`;
        None, changing nothing, if that sign-up no longer waits (replaced, confirmed, or undone)."""
        with self._store.write() as conn:
            # Locked until commit on PostgreSQL (SQLite's write lock is already held): a sign-up
            # replacing this one meanwhile either waits for it or is seen.
            query = select(subscribers.c.requested).where(subscribers.c.id == subscriber_id).with_for_update()
            request = request_from_value(conn.execute(query).scalar())
            if request is None or request.nonce != nonce:
                return None
            # confirmed_at: this confirmation, as set_status("active") stamps it.
            conn.execute(
                update(subscribers)
                .where(subscribers.c.id == subscriber_id)
                .values(
                    status="active",
                    confirmed_at=now,
                    updated_at=now,
                    requested=None,
                    **preference_values(request.prefs),
                )
            )
            return self._get(conn, subscriber_id)

    def set_status(
        self, subscriber_id: int, status: str, now: datetime, conn: Connection | None = None
    ) -> None:
        """Change a subscriber's status; confirming stamps confirmed_at with this confirmation.

        A sign-up that waited is dropped: it was asked of the reader as they were, and a later
        unsubscribe or bounce must not be undone by its link.
        """
        values: dict[str, Any] = {"status": status, "updated_at": now, "requested": None}
        if status == "active":
            # This confirmation's time, not the first one's: a reader back after unsubscribing gets
            # their first digest from their next slot, as a new one does, not today's and yesterday's.
            # (Only confirm() activates a reader, and only a pending one.)
            values["confirmed_at"] = now
        statement = update(subscribers).where(subscribers.c.id == subscriber_id).values(**values)
        if conn is not None:
            conn.execute(statement)
            return
        with self._store.write() as own:
            own.execute(statement)

    def sent_ids(self, subscriber_ids: Iterable[int], arxiv_ids: Sequence[str]) -> dict[int, set[str]]:
        """Which of `arxiv_ids` each subscriber has already been sent."""
        ids = list(subscriber_ids)
        found: dict[int, set[str]] = defaultdict(set)
        if not ids or not arxiv_ids:
            return found
        with self._store.read() as conn:
            for start in range(0, len(ids), 5000):
                query = select(sent_papers.c.subscriber_id, sent_papers.c.arxiv_id).where(
                    sent_papers.c.subscriber_id.in_(ids[start : start + 5000]),
                    sent_papers.c.arxiv_id.in_(list(arxiv_ids)),
                )
                for subscriber_id, arxiv_id in conn.execute(query):
                    found[subscriber_id].add(arxiv_id)
        return found

    def record_sent(
        self, conn: Connection, subscriber_id: int, arxiv_ids: Sequence[str], issue_date: date, now: datetime
    ) -> None:
        """Remember that these papers reached the subscriber, inside the caller's transaction."""
        rows = [
            {"subscriber_id": subscriber_id, "arxiv_id": a, "issue_date": issue_date, "sent_at": now}
            for a in dict.fromkeys(arxiv_ids)
        ]
        insert_ignore(conn, sent_papers, rows)
