"""Schema migrations: each step brings the tables of schema.py from one version to the next."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Connection, Table, inspect, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from newsletter.store.schema import (
    deliveries,
    embeddings,
    fetches,
    issue_papers,
    issue_skips,
    issues,
    leases,
    listings,
    meta,
    papers,
    schema_version,
    sent_papers,
    subscribers,
)

log = logging.getLogger(__name__)


class SchemaTooNew(SQLAlchemyError):
    """The database was migrated by a newer release; this code would misread or corrupt it."""


def _create(*tables: Table) -> Callable[[Connection], None]:
    def step(conn: Connection) -> None:
        for table in tables:
            table.create(conn, checkfirst=True)

    return step


def _add_column(table: Table, name: str) -> Callable[[Connection], None]:
    """Add a column the table has gained since it was created; a newer database already has it."""

    def step(conn: Connection) -> None:
        if name not in {column["name"] for column in inspect(conn).get_columns(table.name)}:
            kind = table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}"))

    return step


def _in_turn(*steps: Callable[[Connection], None]) -> Callable[[Connection], None]:
    """One migration made of several steps, run in this order."""

    def step(conn: Connection) -> None:
        for each in steps:
            each(conn)

    return step


def _fill_cadences(conn: Connection) -> None:
    """Each ledger row's cadence, for rows queued before it was kept: the reader's cadence now, the
    best record there is, and no later switch of theirs renames those emails."""
    reader = select(subscribers.c.cadence).where(subscribers.c.id == deliveries.c.subscriber_id)
    conn.execute(
        update(deliveries).where(deliveries.c.cadence.is_(None)).values(cadence=reader.scalar_subquery())
    )


def _widen(table: Table, name: str) -> Callable[[Connection], None]:
    """Lengthen a text column to what schema.py now declares; on PostgreSQL only (SQLite enforces none)."""

    def step(conn: Connection) -> None:
        if conn.dialect.name == "postgresql":
            kind = table.c[name].type.compile(dialect=conn.dialect)
            conn.execute(text(f"ALTER TABLE {table.name} ALTER COLUMN {name} TYPE {kind}"))

    return step


def _create_index(table: Table, name: str) -> Callable[[Connection], None]:
    """Create an index schema.py now declares; a database created since already has it."""

    def step(conn: Connection) -> None:
        (index,) = [index for index in table.indexes if index.name == name]
        index.create(conn, checkfirst=True)

    return step


def _sql(statement: str) -> Callable[[Connection], None]:
    def step(conn: Connection) -> None:
        conn.execute(text(statement))

    return step


# Migration N brings the schema from version N-1 to N. Append only; never edit a released step.
MIGRATIONS: list[Callable[[Connection], None]] = [
    _create(papers, listings, fetches),
    _create(subscribers, sent_papers, embeddings),
    _create(issues, issue_papers, issue_skips, deliveries, meta),
    _create(leases),
    # Every lookup goes by subscriber first (the primary key); the arxiv_id index only slowed sending.
    _sql("DROP INDEX IF EXISTS ix_sent_papers_arxiv"),
    _add_column(issue_papers, "listed_on"),
    _add_column(fetches, "relisted"),
    # A sender's name (host:pid:random) outgrew 64 characters on long host names: every claim failed.
    _widen(deliveries, "claimed_by"),
    # A reader's manage page and feed, and deleting a reader, scanned the whole ledger.
    _create_index(deliveries, "ix_deliveries_subscriber"),
    # A sign-up for a reader who unsubscribed overwrote their settings before its link was followed.
    _add_column(subscribers, "requested"),
    # A reader who switched to weekly saw their old daily emails renamed weeks in their feed.
    _in_turn(_add_column(deliveries, "cadence"), _fill_cadences),
]


def migrate(conn: Connection) -> int:
    """Apply the pending migrations inside the caller's transaction; returns the new version."""
    schema_version.create(conn, checkfirst=True)
    current = conn.execute(schema_version.select()).scalar()
    if current is None:
        conn.execute(schema_version.insert().values(version=0))
        current = 0
    latest = len(MIGRATIONS)
    if current > latest:
        # Another machine upgraded first: rows this code writes would miss what the newer steps
        # added (as version 5's frozen pools lacked listed_on), so it stops instead.
        raise SchemaTooNew(
            f"the database is at schema version {current}, newer than this newsletter knows "
            f"({latest}): upgrade newsletter here too; every process on one database must run "
            "the same release"
        )
    for number, step in enumerate(MIGRATIONS[current:], start=current + 1):
        step(conn)
        conn.execute(schema_version.update().values(version=number))
    if current == 0:
        # Named in full: a new database where one was expected is most often a mistyped path.
        where = conn.engine.url.render_as_string(hide_password=True)
        log.info("store: created the schema (version %d) in a new database, %s", latest, where)
    elif current < latest:
        log.info("store: migrated the schema from version %d to %d", current, latest)
    return latest
