"""Papers and their listings: upserted by arXiv id, never duplicated."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, RowMapping, func, insert, select, update

from newsletter.models import FetchReport, Paper, PoolPaper
from newsletter.store.schema import fetches, insert_ignore, listings, papers

if TYPE_CHECKING:
    from newsletter.store import Store

# Fields a re-fetch may refresh; a value the new source lacks never erases a stored one.
PAPER_FIELDS = (
    "title",
    "abstract",
    "authors",
    "upvotes",
    "published_at",
    "submitted_at",
    "thumbnail",
    "github_repo",
    "github_stars",
    "project_page",
    "ai_summary",
    "ai_keywords",
    "num_comments",
    "organization",
)


@dataclass(frozen=True, slots=True)
class StoredPaper:
    """A paper plus what the store knows about its sightings."""

    paper: Paper
    first_seen_at: datetime
    first_source: str
    first_listing_date: date


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    new: int
    updated: int
    relisted: int = 0  # known papers listed on a day they were not listed before


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """One row of the fetch log, as the admin dashboard shows it."""

    started_at: datetime
    finished_at: datetime
    source: str
    method: str
    pages: int
    papers: int
    new: int
    updated: int
    skipped: int
    error: str | None
    relisted: int | None  # None on fetches logged before the count was kept


def _paper_values(paper: Paper) -> dict[str, Any]:
    values = {name: getattr(paper, name) for name in PAPER_FIELDS}
    values["authors"] = list(paper.authors)
    values["ai_keywords"] = list(paper.ai_keywords)
    return values


def _is_empty(value: Any) -> bool:
    return value is None or value == "" or value == []


def paper_from_row(row: RowMapping) -> Paper:
    """A stored row back as a Paper."""
    return Paper(
        arxiv_id=row["arxiv_id"],
        title=row["title"],
        abstract=row["abstract"],
        authors=tuple(row["authors"]),
        upvotes=row["upvotes"],
        published_at=row["published_at"],
        submitted_at=row["submitted_at"],
        thumbnail=row["thumbnail"],
        github_repo=row["github_repo"],
        github_stars=row["github_stars"],
        project_page=row["project_page"],
        ai_summary=row["ai_summary"],
        ai_keywords=tuple(row["ai_keywords"]),
        num_comments=row["num_comments"],
        organization=row["organization"],
    )


class PaperStore:
    """Queries and writes for papers, listings and the fetch log."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def upsert(
        self, conn: Connection, items: list[tuple[Paper, date]], source: str, now: datetime
    ) -> UpsertCounts:
        """Insert new papers and refresh known ones, inside the caller's transaction."""
        ids = [paper.arxiv_id for paper, _ in items]
        existing = {
            row["arxiv_id"]: row
            for row in conn.execute(select(papers).where(papers.c.arxiv_id.in_(ids))).mappings()
        }
        known_listings = {
            (row.arxiv_id, row.listing_date)
            for row in conn.execute(
                select(listings.c.arxiv_id, listings.c.listing_date).where(listings.c.arxiv_id.in_(ids))
            )
        }
        new = updated = relisted = 0
        for paper, listing_date in items:
            values = _paper_values(paper)
            row = existing.get(paper.arxiv_id)
            if row is None:
                conn.execute(
                    insert(papers).values(
                        arxiv_id=paper.arxiv_id,
                        first_seen_at=now,
                        first_source=source,
                        first_listing_date=listing_date,
                        updated_at=now,
                        **values,
                    )
                )
                new += 1
            else:
                changes = {k: v for k, v in values.items() if not _is_empty(v) and row[k] != v}
                if changes:
                    conn.execute(
                        update(papers)
                        .where(papers.c.arxiv_id == paper.arxiv_id)
                        .values(updated_at=now, **changes)
                    )
                    updated += 1
            if (paper.arxiv_id, listing_date) not in known_listings:
                listing = {"arxiv_id": paper.arxiv_id, "listing_date": listing_date, "source": source}
                insert_ignore(conn, listings, [{**listing, "first_seen_at": now}])
                known_listings.add((paper.arxiv_id, listing_date))
                relisted += row is not None
        return UpsertCounts(new=new, updated=updated, relisted=relisted)

    def record_fetch(
        self,
        conn: Connection,
        started_at: datetime,
        finished_at: datetime,
        report: FetchReport | None,
        source: str,
        error: str | None = None,
    ) -> None:
        """Log one fetch (or its failure) for the dashboard."""
        counts: dict[str, Any] = {}
        if report is not None:
            counts = {
                "method": report.method,
                "pages": report.pages,
                "papers": report.papers,
                "new": report.new,
                "updated": report.updated,
                "skipped": report.skipped,
                "relisted": report.relisted,
            }
        conn.execute(
            insert(fetches).values(
                started_at=started_at, finished_at=finished_at, source=source, error=error, **counts
            )
        )

    def recent_fetches(self, limit: int = 10) -> list[FetchRecord]:
        """The last fetches, newest first."""
        query = select(fetches).order_by(fetches.c.id.desc()).limit(limit)
        with self._store.read() as conn:
            return [
                FetchRecord(**{k: v for k, v in row.items() if k != "id"})
                for row in conn.execute(query).mappings()
            ]

    def last_success(self) -> datetime | None:
        """When a fetch last succeeded, if ever."""
        query = select(func.max(fetches.c.finished_at)).where(fetches.c.error.is_(None))
        with self._store.read() as conn:
            value: datetime | None = conn.execute(query).scalar()
        return value

    def listed(self, listing_date: date | None = None) -> list[StoredPaper]:
        """Stored papers, most upvoted first; only those listed on `listing_date` when given."""
        query = select(papers)
        if listing_date is not None:
            listed = select(listings.c.arxiv_id).where(listings.c.listing_date == listing_date)
            query = query.where(papers.c.arxiv_id.in_(listed))
        query = query.order_by(func.coalesce(papers.c.upvotes, -1).desc(), papers.c.arxiv_id)
        with self._store.read() as conn:
            return [
                StoredPaper(
                    paper=paper_from_row(row),
                    first_seen_at=row["first_seen_at"],
                    first_source=row["first_source"],
                    first_listing_date=row["first_listing_date"],
                )
                for row in conn.execute(query).mappings()
            ]

    def pool(self, issue_date: date, window_days: int) -> list[PoolPaper]:
        """The papers listed from `window_days` days before `issue_date` up to it, by arxiv_id.

        Each comes with the last of those days it was listed on.
        """
        start = issue_date - timedelta(days=window_days)
        listed = (
            select(listings.c.arxiv_id, func.max(listings.c.listing_date).label("listed_on"))
            .where(listings.c.listing_date.between(start, issue_date))
            .group_by(listings.c.arxiv_id)
            .subquery()
        )
        query = (
            select(papers, listed.c.listed_on)
            .join(listed, listed.c.arxiv_id == papers.c.arxiv_id)
            .order_by(papers.c.arxiv_id)
        )
        with self._store.read() as conn:
            return [
                PoolPaper(paper_from_row(row), row["listed_on"]) for row in conn.execute(query).mappings()
            ]

    def by_ids(self, arxiv_ids: set[str]) -> dict[str, Paper]:
        """The stored papers with these ids."""
        if not arxiv_ids:
            return {}
        query = select(papers).where(papers.c.arxiv_id.in_(sorted(arxiv_ids)))
        with self._store.read() as conn:
            return {row["arxiv_id"]: paper_from_row(row) for row in conn.execute(query).mappings()}

    def listing_dates(self, arxiv_id: str) -> list[date]:
        """Every date on which a source listed the paper."""
        query = (
            select(listings.c.listing_date)
            .where(listings.c.arxiv_id == arxiv_id)
            .order_by(listings.c.listing_date)
        )
        with self._store.read() as conn:
            return list(conn.execute(query).scalars())
