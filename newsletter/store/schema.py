"""Tables, and the numbered migrations that create and evolve them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Date,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    inspect,
    text,
)
from sqlalchemy.engine import Dialect

log = logging.getLogger(__name__)


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
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
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
)


def _create(*tables: Table) -> Callable[[Connection], None]:
    def step(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return step


def add_column(table: Table, name: str) -> Callable[[Connection], None]:
    """A migration step adding one column of `table`'s current definition, if it is missing."""

    def step(conn: Connection) -> None:
        present = {c["name"] for c in inspect(conn).get_columns(table.name)}
        if name in present:
            return
        column = table.c[name]
        ddl = column.type.compile(dialect=conn.dialect)
        conn.execute(text(f'ALTER TABLE {table.name} ADD COLUMN "{name}" {ddl}'))

    return step


# Migration N brings the schema from version N-1 to N. Append only; never edit a released step.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _create(papers, listings, fetches),
]


def migrate(conn: Connection) -> int:
    """Apply the pending migrations inside the caller's transaction; returns the new version."""
    schema_version.create(conn, checkfirst=True)
    current = conn.execute(schema_version.select()).scalar()
    if current is None:
        conn.execute(schema_version.insert().values(version=0))
        current = 0
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        step(conn)
        conn.execute(schema_version.update().values(version=number))
        log.info("store: migrated schema to version %d", number)
    return len(MIGRATIONS)
