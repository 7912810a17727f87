"""`newsletter copy-store`: move an install's data into another database (SQLite to PostgreSQL)."""

from __future__ import annotations

import click

from newsletter import app
from newsletter.cli.common import Exit, Runtime, command, fail
from newsletter.config import DatabaseSettings
from newsletter.deliver.send import worker_name
from newsletter.models import counted
from newsletter.schedule import LEASE
from newsletter.store.copy import StoreCopyError, copy_rows, row_counts
from newsletter.store.url import database_url

# The copy holds the scheduler's lease, renewed after each table, so a scheduler started meanwhile only
# stands by. Were the copy killed, a scheduler would wait at most this long before taking over.
COPY_LEASE_S = 900


@click.command("copy-store")
@click.option(
    "--to",
    "target_url",
    required=True,
    help="SQLAlchemy URL of an empty database, e.g. postgresql+psycopg://newsletter@db/newsletter "
    "(a password is better given as PGPASSWORD).",
)
@command
def copy_store(runtime: Runtime, target_url: str) -> int:
    """Copy every subscriber, paper, issue and delivery into another, empty, database.

    The target's schema is created first; the copy is one transaction there, checked table by
    table. Stop the service first. Point NEWSLETTER_DATABASE_URL at the target afterwards.
    Exit codes: 0 copied; 2 a scheduler is running, or the target is not empty, is the same
    database, or is not a database URL; 4 a database error.
    """
    source = runtime.store()
    holder = f"copy-store:{worker_name()}"
    if not source.leases.acquire(LEASE, holder, runtime.clock(), COPY_LEASE_S):
        running = source.leases.holder(LEASE, runtime.clock())
        # Rows written after the copy began would be lost: the service must be stopped first.
        fail(f"a scheduler is running on this store ({running}): stop `newsletter run` first", Exit.USAGE)
    try:
        copied, landed, shown = _copy(runtime, target_url, holder)
    finally:
        source.leases.release(LEASE, holder)
    if landed != copied:
        wrong = [t for t in copied if landed.get(t) != copied[t]]
        differ = ", ".join(f"{t} {copied[t]} copied, {landed.get(t)} found" for t in wrong)
        fail(f"the copy does not match: {differ}", Exit.STORE)
    click.echo(
        f"copy-store: {counted(sum(copied.values()), 'row')} in {len(copied)} tables copied to {shown}; "
        "set NEWSLETTER_DATABASE_URL to it and restart"
    )
    return Exit.OK


def _copy(runtime: Runtime, target_url: str, holder: str) -> tuple[dict[str, int], dict[str, int], str]:
    """Copy the store into `target_url`: the rows copied and found there per table, and the URL shown."""
    source = runtime.store()
    url = database_url(target_url, "--to")
    shown = url.render_as_string(hide_password=True)
    if url == source.engine.url:
        fail("--to names the database the store already uses", Exit.USAGE)
    target = app.open_store(DatabaseSettings(url=target_url), setting="--to")
    try:
        with source.read() as reading, target.write() as writing:

            def said(table: str, rows: int) -> None:
                click.echo(f"copy-store: {table}: {counted(rows, 'row')}", err=True)
                source.leases.acquire(LEASE, holder, runtime.clock(), COPY_LEASE_S)

            copied = copy_rows(reading, writing, on_table=said)
        with target.read() as conn:
            landed = row_counts(conn)
    except StoreCopyError as exc:
        fail(str(exc), Exit.USAGE)
    finally:
        target.dispose()
    return copied, landed, shown
