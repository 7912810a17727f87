"""Retention of the ledger: finished rows of old issues, with the sent-paper records they wrote.

A sent-paper record is what keeps a reader from getting a paper twice, so it goes only with its
ledger row, and only once the paper has not been listed for keep_days: no issue still to come can
hold it (config.py refuses a keep_days shorter than an issue's reach). A ledger row whose papers
are still listed is kept, and looked at again the next day.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, Date, Executable, bindparam, delete, exists, func, or_, select

from newsletter.store.schema import deliveries, insert_ignore, issues, listings, meta, sent_papers

if TYPE_CHECKING:
    from newsletter.store import Store

T = TypeVar("T")
FINISHED = ("sent", "failed", "skipped")  # ledger rows nothing will send again
KEYS_PER_QUERY = 400  # values per IN list, well under every driver's limit
READERS_PER_QUERY = 25  # sent-paper terms per statement: at most 25 x (30 picks + 3 trending) values


@dataclass
class LedgerPruned:
    """The ledger rows and sent-paper records a prune removed, and the rows it kept for their papers."""

    deliveries: int = 0
    sent_papers: int = 0
    held: int = 0  # finished ledger rows kept because a paper of theirs is still listed


def transaction(store: Store, dry_run: bool) -> AbstractContextManager[Connection]:
    """A read transaction for a dry run, else a write transaction."""
    return store.read() if dry_run else store.write()


def prune_ledger(store: Store, horizon: date, dry_run: bool, batch: int) -> LedgerPruned:
    """Finished ledger rows of issues before `horizon`, each with the sent-paper records it wrote."""
    pruned = LedgerPruned()
    with store.read() as conn:
        # An issue with rows still to send keeps all of them: its finished rows say who had it while
        # it is still going out (`issue` counts them), and the next day's prune takes them.
        unfinished = exists().where(
            deliveries.c.issue_id == issues.c.id, deliveries.c.status.not_in(FINISHED)
        )
        old = select(issues.c.id).where(
            issues.c.issue_date < horizon, exists().where(deliveries.c.issue_id == issues.c.id), ~unfinished
        )
        issue_ids = list(conn.execute(old.order_by(issues.c.issue_date)).scalars())
    listed: dict[str, bool] = {}  # paper -> listed on or after the horizon, for the whole run
    for issue_id in issue_ids:
        before = pruned.deliveries
        last = 0
        while True:
            with transaction(store, dry_run) as conn:
                # By (issue, subscriber): the unique key's index, whatever the ledger's size.
                rows = conn.execute(
                    select(
                        deliveries.c.id,
                        deliveries.c.subscriber_id,
                        deliveries.c.status,
                        deliveries.c.picks,
                        deliveries.c.trending,
                    )
                    .where(deliveries.c.issue_id == issue_id, deliveries.c.subscriber_id > last)
                    .order_by(deliveries.c.subscriber_id)
                    .limit(batch)
                ).all()
                if not rows:
                    break
                last = rows[-1].subscriber_id
                _prune_rows(conn, [r for r in rows if r.status in FINISHED], horizon, listed, pruned, dry_run)
            if len(rows) < batch:
                break
        if pruned.deliveries > before and not dry_run:
            # Who had this issue is partly forgotten now: nobody may be queued for it again.
            with store.write() as conn:
                insert_ignore(conn, meta, [{"key": ledger_pruned_key(issue_id), "value": "1"}])
    return pruned


def ledger_pruned_key(issue_id: int) -> str:
    """The meta key that marks an issue whose finished ledger rows the prune removed."""
    return f"ledger-pruned:{issue_id}"


def _prune_rows(
    conn: Connection,
    rows: Sequence[Any],
    horizon: date,
    listed: dict[str, bool],
    pruned: LedgerPruned,
    dry_run: bool,
) -> None:
    """Delete these finished ledger rows and their sent-paper records, keeping those whose papers are live."""
    # What a sent row recorded, as LedgerStore.record wrote it: its picks and its trending papers.
    shown = {
        r.id: list(dict.fromkeys([*(p["arxiv_id"] for p in r.picks), *r.trending]))
        for r in rows
        if r.status == "sent"
    }
    _note_listed(conn, {a for ids in shown.values() for a in ids}, horizon, listed)
    gone = [r for r in rows if not any(listed[a] for a in shown.get(r.id, ()))]
    pruned.held += len(rows) - len(gone)
    recorded = [(r.subscriber_id, shown[r.id]) for r in gone if shown.get(r.id)]
    for chunk in chunks(recorded, READERS_PER_QUERY):
        values: dict[str, Any] = {"horizon": horizon}
        for n, (reader, papers) in enumerate(chunk):
            values[f"s{n}"], values[f"p{n}"] = reader, papers
        found = conn.execute(_sent_records(len(chunk), count=True), values).scalar_one()
        if found and not dry_run:
            conn.execute(_sent_records(len(chunk), count=False), values)
        pruned.sent_papers += found
    ids = [r.id for r in gone]
    if ids and not dry_run:
        conn.execute(delete(deliveries).where(deliveries.c.id.in_(ids), deliveries.c.status.in_(FINISHED)))
    pruned.deliveries += len(ids)


@functools.cache
def _sent_records(readers: int, *, count: bool) -> Executable:
    """Count or delete the sent-paper records of `readers` readers (s0, p0, s1, p1, ...) before `horizon`.

    One term per reader, their papers in one expanding IN: both databases look each pair up in the
    primary key (pairs compared as rows, a tuple IN, had SQLite scan the whole table). Built once
    per size: building the expression for every batch cost more than running it.
    """
    terms = [
        (sent_papers.c.subscriber_id == bindparam(f"s{n}"))
        & sent_papers.c.arxiv_id.in_(bindparam(f"p{n}", expanding=True))
        for n in range(readers)
    ]
    # A paper first sent in a later issue (this row was retried late) keeps that issue's record.
    match = or_(*terms) & (sent_papers.c.issue_date < bindparam("horizon", type_=Date))
    if count:
        return select(func.count()).select_from(sent_papers).where(match)
    return delete(sent_papers).where(match)


def _note_listed(conn: Connection, arxiv_ids: set[str], horizon: date, listed: dict[str, bool]) -> None:
    """Record in `listed` whether each paper was listed on or after `horizon` (a future issue may hold it)."""
    unknown = sorted(arxiv_ids - listed.keys())
    for chunk in chunks(unknown, KEYS_PER_QUERY):
        query = select(listings.c.arxiv_id).where(
            listings.c.arxiv_id.in_(chunk), listings.c.listing_date >= horizon
        )
        live = set(conn.execute(query.distinct()).scalars())
        listed.update((a, a in live) for a in chunk)


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
