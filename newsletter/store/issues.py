"""Issues: one edition per date, its pool frozen when sending starts, and the papers kept out of it."""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, delete, insert, select, update

from newsletter.models import PoolPaper
from newsletter.store.schema import insert_ignore, issue_papers, issue_skips, issues, meta
from newsletter.store.serialize import paper_from_json, paper_to_json

if TYPE_CHECKING:
    from newsletter.store import Store


@dataclass(frozen=True, slots=True)
class IssueRecord:
    id: int
    issue_date: date
    frozen_at: datetime | None


class IssueStore:
    """Queries and writes for issues, their frozen pools and their skipped papers."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def wait(self, issue_date: date, now: datetime) -> datetime:
        """Note that the scheduler holds this issue for want of fresh papers; since when it does."""
        return datetime.fromisoformat(self._store.meta_value(_waiting(issue_date), now.isoformat))

    def waiting_since(self, issue_date: date) -> datetime | None:
        """When the scheduler began holding this issue for want of fresh papers, if it ever did."""
        with self._store.read() as conn:
            found = conn.execute(select(meta.c.value).where(meta.c.key == _waiting(issue_date))).scalar()
        return None if found is None else datetime.fromisoformat(found)

    def issue(self, issue_date: date, now: datetime) -> IssueRecord:
        """The issue of `issue_date`, created on first use."""
        with self._store.write() as conn:
            insert_ignore(conn, issues, [{"issue_date": issue_date, "created_at": now}])
            row = conn.execute(select(issues).where(issues.c.issue_date == issue_date)).mappings().one()
            return IssueRecord(row["id"], row["issue_date"], row["frozen_at"])

    def closed_by_retention(self, issue_date: date, keep_days: int) -> str | None:
        """Why nobody may be queued for this issue any more, or None: the prune removed ledger rows
        of it, so who had it is partly forgotten, and a reader queued now could get it twice. An old
        day sent for the first time, or to more readers after a first --only, is not closed."""
        record = self.find_issue(issue_date)
        if record is None or record.frozen_at is None:
            return None
        with self._store.read() as conn:
            key = f"ledger-pruned:{record.id}"  # retention_ledger.ledger_pruned_key
            if conn.execute(select(meta.c.key).where(meta.c.key == key)).scalar() is None:
                return None
        return (
            f"the issue of {issue_date} went out {record.frozen_at:%Y-%m-%d}, and the prune has removed "
            f"part of its history ([database] keep_days = {keep_days}): nobody is queued for it again"
        )

    def find_issue(self, issue_date: date) -> IssueRecord | None:
        with self._store.read() as conn:
            row = conn.execute(select(issues).where(issues.c.issue_date == issue_date)).mappings().first()
            return IssueRecord(row["id"], row["issue_date"], row["frozen_at"]) if row else None

    def freeze(self, issue: IssueRecord, pool: Sequence[PoolPaper], now: datetime) -> list[PoolPaper]:
        """Snapshot the pool once; later calls (any process) get the first snapshot back."""
        with self._store.write() as conn:
            locked = select(issues.c.frozen_at).where(issues.c.id == issue.id).with_for_update()
            if conn.execute(locked).scalar() is None:
                if pool:
                    conn.execute(
                        insert(issue_papers),
                        [
                            {
                                "issue_id": issue.id,
                                "arxiv_id": p.paper.arxiv_id,
                                "paper": paper_to_json(p.paper),
                                "listed_on": p.listed_on,
                            }
                            for p in pool
                        ],
                    )
                conn.execute(update(issues).where(issues.c.id == issue.id).values(frozen_at=now))
            return self._snapshot(conn, issue)

    def snapshot(self, issue: IssueRecord) -> list[PoolPaper]:
        """The frozen pool, by arxiv_id."""
        with self._store.read() as conn:
            return self._snapshot(conn, issue)

    def _snapshot(self, conn: Connection, issue: IssueRecord) -> list[PoolPaper]:
        columns = (issue_papers.c.paper, issue_papers.c.listed_on)
        query = select(*columns).where(issue_papers.c.issue_id == issue.id)
        # A pool frozen before listing days were kept held only the daily window: date it the issue's.
        pool = [
            PoolPaper(paper_from_json(paper), listed_on or issue.issue_date)
            for paper, listed_on in conn.execute(query)
        ]
        return sorted(pool, key=lambda p: p.paper.arxiv_id)

    def staleness(self, issue_date: date, last_fetch: datetime | None, pool: AbstractSet[str]) -> str:
        """Why the issue of `issue_date`, drawing on the papers `pool`, would repeat the last one ("" if not).

        With no successful fetch since the previous issue was frozen the sources may be down, and
        an issue whose papers were all in the previous one would only carry what readers already
        had. A pool with any paper the previous issue lacked (papers imported for a past or future
        day, say) is not a repeat.
        """
        query = (
            select(issues)
            .where(issues.c.issue_date < issue_date, issues.c.frozen_at.is_not(None))
            .order_by(issues.c.issue_date.desc())
            .limit(1)
        )
        with self._store.read() as conn:
            previous = conn.execute(query).mappings().first()
            if previous is None or (last_fetch is not None and last_fetch >= previous["frozen_at"]):
                return ""
            held = select(issue_papers.c.arxiv_id).where(issue_papers.c.issue_id == previous["id"])
            if set(pool) - set(conn.execute(held).scalars()):
                return ""
        return (
            f"no successful fetch since the issue of {previous['issue_date']} was frozen "
            f"({previous['frozen_at']:%Y-%m-%d %H:%M} UTC): the sources may be down"
        )

    def skip_paper(self, issue_date: date, arxiv_id: str, now: datetime) -> None:
        """Keep a paper out of an issue that is not frozen yet."""
        row = {"issue_date": issue_date, "arxiv_id": arxiv_id, "created_at": now}
        with self._store.write() as conn:
            insert_ignore(conn, issue_skips, [row])

    def unskip_paper(self, issue_date: date, arxiv_id: str) -> bool:
        """Put a skipped paper back into an issue that is not frozen yet; False if it was not skipped."""
        with self._store.write() as conn:
            row = (issue_skips.c.issue_date == issue_date) & (issue_skips.c.arxiv_id == arxiv_id)
            gone = conn.execute(delete(issue_skips).where(row))
            return bool(gone.rowcount)

    def skipped_papers(self, issue_date: date) -> set[str]:
        with self._store.read() as conn:
            query = select(issue_skips.c.arxiv_id).where(issue_skips.c.issue_date == issue_date)
            return set(conn.execute(query).scalars())


def _waiting(issue_date: date) -> str:
    return f"waiting-since:{issue_date}"
