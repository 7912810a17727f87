"""All SQL lives in this package: a SQLite file by default, PostgreSQL by URL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event, select, text

from newsletter.store.embeddings import EmbeddingCache
from newsletter.store.history import HistoryStore
from newsletter.store.issues import IssueStore
from newsletter.store.leases import LeaseStore
from newsletter.store.ledger import LedgerStore
from newsletter.store.migrations import migrate
from newsletter.store.papers import PaperStore
from newsletter.store.schema import insert_ignore, meta
from newsletter.store.subscribers import SubscriberStore

__all__ = ["Store", "store_error"]


def store_error(exc: BaseException) -> str:
    """A database error in one line: its kind and the driver's first line (the rest is SQL and a link)."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


class Store:
    """The database behind every stage; create it with an engine from `newsletter.app`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        if engine.dialect.name == "sqlite":
            _configure_sqlite(engine)
        self.papers = PaperStore(self)
        self.subscribers = SubscriberStore(self)
        self.issues = IssueStore(self)
        self.ledger = LedgerStore(self)
        self.history = HistoryStore(self)
        self.leases = LeaseStore(self)

    def embedding_cache(self, kind: str, model: str) -> EmbeddingCache:
        """A VectorCache for the ranker, kept in this database."""
        return EmbeddingCache(self, kind, model)

    def migrate(self) -> int:
        """Create or upgrade the schema; safe to call from several processes at once."""
        with self.write() as conn:
            if self.engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(7243101)"))
            return migrate(conn)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; on SQLite it takes the write lock at BEGIN, not halfway through."""
        with self.engine.connect() as conn:
            conn.execution_options(newsletter_immediate=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read-only transaction, a consistent snapshot."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def meta_value(self, key: str, factory: Callable[[], str]) -> str:
        """A value kept in the database, created by `factory` on first use (first writer wins)."""
        with self.write() as conn:
            found = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar()
            if found is None:
                insert_ignore(conn, meta, [{"key": key, "value": factory()}])
                found = conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar_one()
            return str(found)

    def bump_counter(self, key: str) -> int:
        """Add one to the number kept under `key` (0 if none yet) and return the new number."""
        with self.write() as conn:
            insert_ignore(conn, meta, [{"key": key, "value": "0"}])
            # Locked until commit on PostgreSQL (SQLite's write lock is already held): two processes
            # bumping at once get two numbers.
            found = conn.execute(select(meta.c.value).where(meta.c.key == key).with_for_update()).scalar_one()
            number = int(found) + 1
            conn.execute(meta.update().where(meta.c.key == key).values(value=str(number)))
            return number

    def counter(self, key: str) -> int:
        """The number kept under `key`, 0 if none yet."""
        with self.read() as conn:
            return int(conn.execute(select(meta.c.value).where(meta.c.key == key)).scalar() or 0)

    def claim_once(self, key: str, value: str) -> bool:
        """True for the first caller to claim `key` (any process), False ever after."""
        with self.write() as conn:
            return insert_ignore(conn, meta, [{"key": key, "value": value}], count=True) == 1

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and cannot take the write lock
    # up front; SQLAlchemy's documented recipe hands BEGIN to us instead.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("newsletter_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
