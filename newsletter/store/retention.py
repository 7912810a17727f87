"""Retention: the history `[database] keep_days` no longer keeps, deleted a short batch at a time.

Deleted: finished ledger rows (sent, failed, skipped) of issues older than keep_days, with the
sent-paper records they wrote; the frozen pools and skipped papers of those issues once no row of
theirs waits to be sent; fetch log rows; sign-ups never confirmed, a week after their link
expired, and likewise a known reader's waiting sign-up (cleared; the reader stays); and the
scheduler's notes on old issues (when it began to wait for papers, which alerts it raised).
Kept: papers, listings, embeddings, every reader who ever confirmed, and each issue's row (its
date and when it froze, a few bytes a day), so that `send --date` for a pruned day finds the issue
already sent rather than sending it again.

The ledger's part, and why a sent-paper record may go, is in retention_ledger.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, exists, func, select, update

from newsletter.models import counted
from newsletter.store.retention_ledger import FINISHED, prune_ledger, transaction
from newsletter.store.schema import (
    deliveries,
    fetches,
    insert_ignore,
    issue_papers,
    issue_skips,
    issues,
    meta,
    subscribers,
)
from newsletter.store.subscriber_rows import request_from_value
from newsletter.tokens import MAX_AGE_S

if TYPE_CHECKING:
    from newsletter.store import Store

BATCH = 1000  # rows read (and deleted) per transaction: short locks, bounded memory
CONFIRM_LINK = timedelta(seconds=MAX_AGE_S["confirm"])
PENDING_GRACE = timedelta(days=7)  # after the link expired: a late click says "expired", not "unknown"
PRUNED_ON = "retention:pruned-on"


@dataclass
class Pruned:
    """What a prune removed (or, in a dry run, would remove), by table."""

    deliveries: int = 0
    sent_papers: int = 0
    issue_papers: int = 0
    issue_skips: int = 0
    fetches: int = 0
    pending: int = 0
    notes: int = 0  # the scheduler's notes (meta rows) on issues before the horizon
    requests: int = 0  # expired sign-ups waiting on known readers: cleared, not removed
    held: int = 0  # finished ledger rows kept because a paper of theirs is still listed

    @property
    def removed(self) -> int:
        """How many rows went (or would go), all tables together."""
        return (
            self.deliveries
            + self.sent_papers
            + self.issue_papers
            + self.issue_skips
            + self.fetches
            + self.pending
            + self.notes
        )

    def line(self, dry_run: bool = False) -> str:
        """The one count line of `newsletter prune` and of the scheduler."""
        counts = [
            counted(self.deliveries, "delivery", "deliveries"),
            counted(self.sent_papers, "sent-paper record"),
            f"{counted(self.issue_papers + self.issue_skips, 'pooled paper')} of old issues",
            counted(self.fetches, "fetch", "fetches"),
            counted(self.pending, "pending sign-up"),
        ]
        if self.notes:
            counts.append(f"{counted(self.notes, 'scheduler note')} on old issues")
        listed = ", ".join(counts)
        line = f"prune: dry run: would remove {listed}" if dry_run else f"prune: {listed} removed"
        if self.requests:
            cleared = "would be cleared" if dry_run else "cleared"
            line += f"; {counted(self.requests, 'expired sign-up request')} of known readers {cleared}"
        if self.held:
            its = "its papers are" if self.held == 1 else "their papers are"
            line += f"; {counted(self.held, 'delivery', 'deliveries')} kept while {its} still listed"
        return f"{line}; nothing removed" if dry_run else line


def prune(
    store: Store, keep_days: int, now: datetime, *, dry_run: bool = False, batch: int = BATCH
) -> Pruned:
    """Delete what keep_days no longer keeps, one batch per transaction; `dry_run` only counts it."""
    pruned = Pruned()
    if keep_days == 0:  # keep everything
        return pruned
    horizon = now.astimezone(UTC).date() - timedelta(days=keep_days)
    ledger = prune_ledger(store, horizon, dry_run, batch)
    pruned.deliveries, pruned.sent_papers, pruned.held = ledger.deliveries, ledger.sent_papers, ledger.held
    _prune_pools(store, horizon, pruned, dry_run)
    _prune_fetches(store, now - timedelta(days=keep_days), pruned, dry_run, batch)
    _prune_pending(store, now - CONFIRM_LINK - PENDING_GRACE, pruned, dry_run, batch)
    _clear_requests(store, now - CONFIRM_LINK - PENDING_GRACE, pruned, dry_run)
    _prune_notes(store, horizon, pruned, dry_run)
    if not dry_run:
        with store.write() as conn:
            _set_meta(conn, PRUNED_ON, now.astimezone(UTC).date().isoformat())
    return pruned


def pruned_on(store: Store) -> date | None:
    """The UTC day of the last prune (not a dry run), if any: the scheduler prunes once a day."""
    with store.read() as conn:
        found = conn.execute(select(meta.c.value).where(meta.c.key == PRUNED_ON)).scalar()
    return None if found is None else date.fromisoformat(found)


def _prune_pools(store: Store, horizon: date, pruned: Pruned, dry_run: bool) -> None:
    """The frozen pools and skipped papers of issues before `horizon` that have nothing left to send."""
    unfinished = exists().where(deliveries.c.issue_id == issues.c.id, deliveries.c.status.not_in(FINISHED))
    with store.read() as conn:
        pooled = exists().where(issue_papers.c.issue_id == issues.c.id)
        query = select(issues.c.id).where(issues.c.issue_date < horizon, pooled, ~unfinished)
        pool_ids = list(conn.execute(query.order_by(issues.c.issue_date)).scalars())
        busy = select(issues.c.issue_date).where(unfinished)
        skipped = select(issue_skips.c.issue_date).where(
            issue_skips.c.issue_date < horizon, issue_skips.c.issue_date.not_in(busy)
        )
        skip_days = list(conn.execute(skipped.distinct().order_by(issue_skips.c.issue_date)).scalars())
    # One issue per transaction: a pool holds the papers of a few days, a few hundred rows at most.
    for issue_id in pool_ids:
        with transaction(store, dry_run) as conn:
            of_issue = issue_papers.c.issue_id == issue_id
            pruned.issue_papers += conn.execute(
                select(func.count()).select_from(issue_papers).where(of_issue)
            ).scalar_one()
            if not dry_run:
                conn.execute(delete(issue_papers).where(of_issue))
    for day in skip_days:
        with transaction(store, dry_run) as conn:
            of_day = issue_skips.c.issue_date == day
            pruned.issue_skips += conn.execute(
                select(func.count()).select_from(issue_skips).where(of_day)
            ).scalar_one()
            if not dry_run:
                conn.execute(delete(issue_skips).where(of_day))


def _prune_fetches(store: Store, cutoff: datetime, pruned: Pruned, dry_run: bool, batch: int) -> None:
    """Fetch log rows started before `cutoff`, but never the last successful fetch.

    The scheduler reads the last success to tell fresh papers from stale ones, and /healthz shows it.
    """
    with store.read() as conn:
        last_ok = conn.execute(
            select(func.max(fetches.c.finished_at)).where(fetches.c.error.is_(None))
        ).scalar()
    old = fetches.c.started_at < cutoff
    if last_ok is not None:
        old = old & (fetches.c.error.is_not(None) | (fetches.c.finished_at < last_ok))
    pruned.fetches += _prune_by_id(store, fetches, old, dry_run, batch)


def _prune_pending(store: Store, cutoff: datetime, pruned: Pruned, dry_run: bool, batch: int) -> None:
    """Sign-ups never confirmed whose last sign-up (and link) predates `cutoff`.

    updated_at is when the address last signed up (request_signup stamps it, and the link is mailed
    after), so an address that signs up again is kept. A reader who ever confirmed has
    confirmed_at set, and their history with it: they are kept, whatever their status.
    """
    stale = (
        (subscribers.c.status == "pending")
        & subscribers.c.confirmed_at.is_(None)
        & (subscribers.c.updated_at < cutoff)
    )
    pruned.pending += _prune_by_id(store, subscribers, stale, dry_run, batch)


def _clear_requests(store: Store, cutoff: datetime, pruned: Pruned, dry_run: bool) -> None:
    """Clear the sign-ups waiting on known readers (subscribers.requested) that were asked before
    `cutoff`: their link has expired, so nothing can apply them any more. The readers stay as they are.
    """
    with transaction(store, dry_run) as conn:
        # Few rows ever wait (a reader who unsubscribed, then signed up again), and the request's time
        # lives inside its JSON value: read them all, under the write lock, and compare here.
        waiting = select(subscribers.c.id, subscribers.c.requested).where(
            subscribers.c.requested.is_not(None)
        )
        stale = [
            row.id
            for row in conn.execute(waiting.with_for_update())
            if _requested_before(row.requested, cutoff)
        ]
        pruned.requests += len(stale)
        if stale and not dry_run:
            conn.execute(update(subscribers).where(subscribers.c.id.in_(stale)).values(requested=None))


def _requested_before(value: Any, cutoff: datetime) -> bool:
    request = request_from_value(value)
    return request is not None and request.requested_at < cutoff


def _prune_notes(store: Store, horizon: date, pruned: Pruned, dry_run: bool) -> None:
    """The scheduler's notes on issues before `horizon`: when it began to wait for an issue's papers
    (`waiting-since:DATE`) and which alerts it raised about it (`alert:KIND:DATE`), a few a day."""
    with transaction(store, dry_run) as conn:
        keyed = meta.c.key.like("waiting-since:%") | meta.c.key.like("alert:%")
        old = [
            key
            for key in conn.execute(select(meta.c.key).where(keyed)).scalars()
            if _dated_before(key, horizon)
        ]
        pruned.notes += len(old)
        if old and not dry_run:
            conn.execute(delete(meta).where(meta.c.key.in_(old)))


def _dated_before(key: str, horizon: date) -> bool:
    """Whether a note's key ends in a date (":YYYY-MM-DD") before `horizon`."""
    try:
        return date.fromisoformat(key.rpartition(":")[2]) < horizon
    except ValueError:
        return False  # not a dated note: kept


def _prune_by_id(store: Store, table: Any, condition: Any, dry_run: bool, batch: int) -> int:
    """Delete the rows of `table` that meet `condition`, `batch` ids per transaction; how many."""
    removed, last = 0, 0
    while True:
        with transaction(store, dry_run) as conn:
            query = select(table.c.id).where(condition, table.c.id > last).order_by(table.c.id).limit(batch)
            ids = list(conn.execute(query).scalars())
            if not ids:
                return removed
            last = ids[-1]
            if dry_run:
                removed += len(ids)
            else:
                # The condition again: a sign-up that came back since the read above stays.
                removed += conn.execute(delete(table).where(table.c.id.in_(ids), condition)).rowcount
        if len(ids) < batch:
            return removed


def _set_meta(conn: Connection, key: str, value: str) -> None:
    insert_ignore(conn, meta, [{"key": key, "value": value}])
    conn.execute(update(meta).where(meta.c.key == key).values(value=value))
