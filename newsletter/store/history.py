"""What each reader received (latest digests, for the manage page and feed), and what did not go out."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NamedTuple

from sqlalchemy import func, select

from newsletter.store.issues import IssueRecord
from newsletter.store.ledger import STATUSES
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


class Digest(NamedTuple):
    """One email a reader was due: its issue, ledger status, kind and how many papers it listed."""

    issue_date: date
    status: str
    kind: str  # digest (picks on their topics) or trending (an empty day's trending papers)
    papers: int
    sent_at: datetime | None


class SentDigest(NamedTuple):
    """One delivered email: its issue, what it listed, when it went, and the cadence it was sent under."""

    issue_date: date
    picks: list[dict[str, Any]]
    trending: list[str]
    sent_at: datetime | None
    cadence: str | None  # None for emails queued before the ledger kept it


class HistoryStore:
    """Read-only queries over the delivery ledger: a reader's digests, an issue's counts and troubles."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def digests_for(self, subscriber_id: int, limit: int = 5, *, emails_only: bool = False) -> list[Digest]:
        """A subscriber's latest ledger rows, newest first, with what kind of email each was;
        `emails_only` leaves out the days they were skipped (no email: nothing to send, or cancelled)."""
        query = (
            select(
                issues.c.issue_date,
                deliveries.c.status,
                deliveries.c.kind,
                deliveries.c.picks,
                deliveries.c.trending,
                deliveries.c.sent_at,
            )
            .join(issues, issues.c.id == deliveries.c.issue_id)
            .where(deliveries.c.subscriber_id == subscriber_id)
            .order_by(issues.c.issue_date.desc())
            .limit(limit)
        )
        if emails_only:
            query = query.where(deliveries.c.status != "skipped")
        with self._store.read() as conn:
            return [
                # A trending-only email has no picks: what it listed are its trending papers.
                Digest(d, status, kind, len(trending if kind == "trending" else picks), sent_at)
                for d, status, kind, picks, trending, sent_at in conn.execute(query)
            ]

    def sent_digests(self, subscriber_id: int, limit: int = 30) -> list[SentDigest]:
        """A subscriber's delivered digests, newest first."""
        query = (
            select(
                issues.c.issue_date,
                deliveries.c.picks,
                deliveries.c.trending,
                deliveries.c.sent_at,
                deliveries.c.cadence,
            )
            .join(issues, issues.c.id == deliveries.c.issue_id)
            .where(deliveries.c.subscriber_id == subscriber_id, deliveries.c.status == "sent")
            .order_by(issues.c.issue_date.desc())
            .limit(limit)
        )
        with self._store.read() as conn:
            return [
                SentDigest(d, list(picks), list(trending), sent_at, cadence)
                for d, picks, trending, sent_at, cadence in conn.execute(query)
            ]

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

    def waiting_retries(self, now: datetime, issue_id: int | None = None) -> tuple[int, datetime | None]:
        """Deferred rows not due yet at `now` (of one issue, or of all), and the soonest retry."""
        query = select(func.count(), func.min(deliveries.c.next_attempt_at)).where(
            deliveries.c.status == "deferred", deliveries.c.next_attempt_at > now
        )
        if issue_id is not None:
            query = query.where(deliveries.c.issue_id == issue_id)
        with self._store.read() as conn:
            count, soonest = conn.execute(query).one()
        return int(count), soonest

    def unfinished(self, issue: IssueRecord) -> int:
        """The issue's rows still to send: queued, being sent or deferred."""
        counts = self.counts(issue)
        return counts["queued"] + counts["sending"] + counts["deferred"]

    def counts(self, issue: IssueRecord) -> dict[str, int]:
        """Ledger rows of the issue by status."""
        query = (
            select(deliveries.c.status, func.count())
            .where(deliveries.c.issue_id == issue.id)
            .group_by(deliveries.c.status)
        )
        with self._store.read() as conn:
            found = {status: int(n) for status, n in conn.execute(query)}
        return {status: found.get(status, 0) for status in STATUSES}

    def recent_issues(self, limit: int = 10) -> list[tuple[IssueRecord, dict[str, int]]]:
        """The latest issues with their ledger counts, newest first."""
        with self._store.read() as conn:
            rows = conn.execute(select(issues).order_by(issues.c.issue_date.desc()).limit(limit)).mappings()
            records = [IssueRecord(r["id"], r["issue_date"], r["frozen_at"]) for r in rows]
        return [(record, self.counts(record)) for record in records]
