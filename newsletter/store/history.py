"""What each reader received: their latest digests, for the manage page and the Atom feed."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from newsletter.store.schema import deliveries, issues

if TYPE_CHECKING:
    from newsletter.store import Store


class HistoryStore:
    """Read-only queries over the delivery ledger, one reader at a time."""

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
