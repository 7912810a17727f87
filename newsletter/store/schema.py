"""The tables, their column types, and the insert helper every dialect shares; migrations.py evolves them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as naive UTC and read back as aware UTC, the same on SQLite and PostgreSQL."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


metadata = MetaData()
# 64-bit ids on PostgreSQL; SQLite only autoincrements a column typed exactly INTEGER.
ID = BigInteger().with_variant(Integer, "sqlite")

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
)

papers = Table(
    "papers",
    metadata,
    Column("arxiv_id", String(32), primary_key=True),
    Column("title", Text, nullable=False),
    Column("abstract", Text, nullable=False, default=""),
    Column("authors", JSON, nullable=False),
    Column("upvotes", Integer),
    Column("published_at", UTCDateTime),
    Column("submitted_at", UTCDateTime),
    Column("thumbnail", Text),
    Column("github_repo", Text),
    Column("github_stars", Integer),
    Column("project_page", Text),
    Column("ai_summary", Text),
    Column("ai_keywords", JSON, nullable=False),
    Column("num_comments", Integer),
    Column("organization", Text),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("first_source", String(32), nullable=False),
    Column("first_listing_date", Date, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

listings = Table(
    "listings",
    metadata,
    Column("arxiv_id", String(32), primary_key=True),
    Column("listing_date", Date, primary_key=True),
    Column("source", String(32), nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
)

fetches = Table(
    "fetches",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime, nullable=False),
    Column("source", String(64), nullable=False),
    Column("method", Text, nullable=False, default=""),
    Column("pages", Integer, nullable=False, default=0),
    Column("papers", Integer, nullable=False, default=0),
    Column("new", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("skipped", Integer, nullable=False, default=0),
    Column("error", Text),
    # Known papers listed on a new day; added by migration 7, so NULL on the rows logged before it.
    Column("relisted", Integer, default=0),
)


subscribers = Table(
    "subscribers",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("email", Text, nullable=False),
    # Case-folded address: uniqueness is case-insensitive.
    Column("email_key", String(320), nullable=False, unique=True),
    Column("status", String(16), nullable=False),
    Column("topics", JSON, nullable=False),
    Column("excludes", JSON, nullable=False),
    # Digest of (topics, excludes): subscribers with the same key are ranked once, together.
    Column("topics_key", String(64), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("hour", Integer, nullable=False),
    Column("cadence", String(8), nullable=False),
    Column("weekday", Integer, nullable=False),
    Column("per_email", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("confirmed_at", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    # A sign-up for a reader already known, waiting for its link: the choices it asks for, the
    # nonce its link carries and when; NULL when none waits. Nothing above changes until the link is
    # followed. Added by migration 10.
    Column("requested", JSON(none_as_null=True)),
    Index("ix_subscribers_status_topics", "status", "topics_key"),
)

sent_papers = Table(
    "sent_papers",
    metadata,
    Column("subscriber_id", ID, ForeignKey("subscribers.id", ondelete="CASCADE"), primary_key=True),
    Column("arxiv_id", String(32), primary_key=True),
    Column("issue_date", Date, nullable=False),
    Column("sent_at", UTCDateTime, nullable=False),
)

embeddings = Table(
    "embeddings",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("model", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("vector", LargeBinary, nullable=False),
)


issues = Table(
    "issues",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("issue_date", Date, nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    # Set when sending starts: from then on the preview and the send use the snapshot.
    Column("frozen_at", UTCDateTime),
)

# The frozen pool: each paper as it was when sending started.
issue_papers = Table(
    "issue_papers",
    metadata,
    Column("issue_id", ID, ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True),
    Column("arxiv_id", String(32), primary_key=True),
    Column("paper", JSON, nullable=False),
    # The last day the paper was listed on, up to the issue date: daily readers get only the
    # latest window_days of the pool, weekly readers all of it. NULL in pools frozen before
    # this column existed, which held only the daily window.
    Column("listed_on", Date),
)

# Papers an admin removed from an issue before it was frozen.
issue_skips = Table(
    "issue_skips",
    metadata,
    Column("issue_date", Date, primary_key=True),
    Column("arxiv_id", String(32), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", ID, primary_key=True, autoincrement=True),
    Column("issue_id", ID, ForeignKey("issues.id", ondelete="CASCADE"), nullable=False),
    Column("subscriber_id", ID, ForeignKey("subscribers.id", ondelete="CASCADE"), nullable=False),
    # queued, sending, sent, deferred, failed, skipped
    Column("status", String(16), nullable=False),
    # digest (papers on their topics) or trending (an empty day's "here is what is trending")
    Column("kind", String(16), nullable=False),
    # The reader's cadence when the row was queued, which names the email ("Your week of papers"),
    # whatever they choose later; NULL on rows queued before migration 11 (read: their cadence now).
    Column("cadence", String(8)),
    Column("picks", JSON, nullable=False),
    Column("trending", JSON, nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    # host:pid:random of the sender; host names alone run to 64 characters. Migration 8 widened it.
    Column("claimed_by", String(128)),
    Column("claimed_until", UTCDateTime),
    Column("last_reply", Text),
    Column("sent_at", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("issue_id", "subscriber_id", name="uq_deliveries_issue_subscriber"),
    Index("ix_deliveries_due", "issue_id", "status", "next_attempt_at"),
    # A reader's history (the manage page, the feed) and deleting a reader go by subscriber alone.
    Index("ix_deliveries_subscriber", "subscriber_id"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


# Who may act alone (the scheduler): taken when free or stale, renewed while alive.
leases = Table(
    "leases",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)


def insert_ignore(conn: Connection, table: Table, rows: list[dict[str, Any]], *, count: bool = False) -> int:
    """Insert rows, skipping any that would break a unique key; the same race-free SQL on both databases.

    With `count`, returns how many rows went in (RETURNING: drivers disagree on rowcount here).
    """
    if not rows:
        return 0
    statement: Any
    if conn.dialect.name == "postgresql":
        statement = postgresql.insert(table).on_conflict_do_nothing()
    else:
        statement = sqlite.insert(table).on_conflict_do_nothing()
    if not count:
        conn.execute(statement, rows)
        return 0
    statement = statement.returning(*table.primary_key.columns)
    return len(conn.execute(statement, rows[0] if len(rows) == 1 else rows).all())
