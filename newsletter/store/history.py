"""What each reader received: their latest digests, for the manage page and the Atom feed."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import func, select

from newsletter.store.schema import deliveries, issues, subscribers

if TYPE_CHECKING:
    from newsletter.store import Store


class Trouble(NamedTuple):
    """A ledger row that did not go out: who, the relay's last reply, and when it is tried again."""

    email: str
    status: str
    last_reply: str
    attempts: int
    next_attempt_at: datetime


class HistoryStore:
    """Read-only queries over the delivery ledger: a reader's digests, an issue's troubles."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def recent_for(self, subscriber_id: int, limit: int = 5) -> list[tuple[date, str, int, datetime | None]]:
        """A subscriber's latest digests: (issue date, status, papers, sent at), newest first."""
        query = (
            select(issues.c.issue_date, deliveries.c.status, deliveries.c.picks, deliveries.c.sent_at)
            .join(issues, issues.c.id == deliveries.c.issue_id)
            .where(deliveries.c.subscriber_id == subscriber_id)
            .order_by(issues.c.issue_date.desc())
            .limit(limit)
        )
        with self._store.read() as conn:
            return [(d, status, len(picks), sent_at) for d, status, picks, sent_at in conn.execute(query)]

    def sent_digests(
        self, subscriber_id: int, limit: int = 30
    ) -> list[tuple[date, list[dict[str, Any]], datetime | None]]:
        """A subscriber's delivered digests: (issue date, picks, sent at), newest first."""
        query = (
            select(issues.c.issue_date, deliveries.c.picks, deliveries.c.sent_at)
            .join(issues, issues.c.id == deliveries.c.issue_id)
            .where(deliveries.c.subscriber_id == subscriber_id, deliveries.c.status == "sent")
            .order_by(issues.c.issue_date.desc())
            .limit(limit)
        )
        with self._store.read() as conn:
            return [(d, list(picks), sent_at) for d, picks, sent_at in conn.execute(query)]

    def troubles(self, issue_id: int, status: str, limit: int = 20) -> list[Trouble]:
        """Up to `limit` rows of the issue in `status` (failed, deferred), the oldest reply first."""
        query = (
            select(
                subscribers.c.email,
                deliveries.c.status,
                func.coalesce(deliveries.c.last_reply, ""),
                deliveries.c.attempts,
                deliveries.c.next_attempt_at,
            )
            .join(subscribers, subscribers.c.id == deliveries.c.subscriber_id)
            .where(deliveries.c.issue_id == issue_id, deliveries.c.status == status)
            .order_by(deliveries.c.updated_at, deliveries.c.id)
            .limit(limit)
        )
        with self._store.read() as conn:
            return [Trouble(*row) for row in conn.execute(query)]
