"""Leases: one holder at a time for a named role, handed over when the holder stops renewing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import or_, select, update

from newsletter.store.schema import insert_ignore, leases

if TYPE_CHECKING:
    from newsletter.store import Store


class LeaseStore:
    """Take, renew and release leases; the same SQL on SQLite and PostgreSQL."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def acquire(self, name: str, holder: str, now: datetime, ttl_s: float) -> bool:
        """Take or renew `name` for `holder`; False while someone else holds a live lease."""
        expires = now + timedelta(seconds=ttl_s)
        with self._store.write() as conn:
            taken = conn.execute(
                update(leases)
                .where(leases.c.name == name, or_(leases.c.holder == holder, leases.c.expires_at < now))
                .values(holder=holder, expires_at=expires)
            ).rowcount
            if taken:
                return True
            return (
                insert_ignore(
                    conn, leases, [{"name": name, "holder": holder, "expires_at": expires}], count=True
                )
                == 1
            )

    def release(self, name: str, holder: str) -> None:
        """Give the lease up at once, so a standby takes over without waiting for expiry."""
        with self._store.write() as conn:
            conn.execute(
                update(leases)
                .where(leases.c.name == name, leases.c.holder == holder)
                .values(expires_at=datetime(1970, 1, 1, tzinfo=UTC))
            )

    def holder(self, name: str, now: datetime) -> str | None:
        """Who holds a live lease on `name`, if anyone."""
        with self._store.read() as conn:
            row = conn.execute(select(leases).where(leases.c.name == name)).mappings().first()
            return row["holder"] if row and row["expires_at"] > now else None
