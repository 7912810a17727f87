"""Copy a whole store into another database: how an install moves from SQLite to PostgreSQL.

Rows go through SQLAlchemy and the column types of schema.py, so timestamps, JSON and binary
columns arrive as the target's own types. The target must be empty (its schema just created); the
copy is one transaction there, so it lands whole or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import Connection, RowMapping, Table, func, insert, select

from newsletter.store.schema import leases, metadata, schema_version

CHUNK = 2000
# Not data: the schema's own version (each store has it already) and who runs the scheduler now.
SKIPPED = (schema_version, leases)


class StoreCopyError(Exception):
    """The copy cannot start: the target holds data, or the two schemas differ."""


def tables() -> list[Table]:
    """Every data table, parents before children, so foreign keys hold at each insert."""
    return [t for t in metadata.sorted_tables if t not in SKIPPED]


def row_counts(conn: Connection) -> dict[str, int]:
    """Rows per data table."""
    return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in tables()}


def copy_rows(
    source: Connection, target: Connection, on_table: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every data table from `source` into the empty `target`; the rows copied per table."""
    versions = [c.execute(select(schema_version.c.version)).scalar() for c in (source, target)]
    if versions[0] != versions[1]:
        raise StoreCopyError(f"schema versions differ: source {versions[0]}, target {versions[1]}")
    held = {name: n for name, n in row_counts(target).items() if n}
    if held:
        listed = ", ".join(f"{name} {n}" for name, n in sorted(held.items()))
        raise StoreCopyError(f"the target already holds data ({listed}); copy only into an empty database")
    copied: dict[str, int] = {}
    for table in tables():
        query = select(table).order_by(*table.primary_key.columns).execution_options(yield_per=CHUNK)
        rows = source.execute(query).mappings()
        copied[table.name] = 0
        for chunk in _chunks(rows):
            target.execute(insert(table), chunk)
            copied[table.name] += len(chunk)
        if on_table is not None:
            on_table(table.name, copied[table.name])
    if target.dialect.name == "postgresql":
        _advance_sequences(target)
    return copied


def _chunks(rows: Iterable[RowMapping]) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while chunk := [dict(row) for row in islice(iterator, CHUNK)]:
        yield chunk


def _advance_sequences(conn: Connection) -> None:
    """Rows came with their ids: move each id sequence past them, or the next insert would collide."""
    for table in tables():
        if "id" in table.c and table.c.id.autoincrement is True:
            top = func.max(table.c.id)
            sequence = func.pg_get_serial_sequence(table.name, "id")
            conn.execute(select(func.setval(sequence, func.coalesce(top, 1), top.is_not(None))))
