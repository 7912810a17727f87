"""`newsletter prune`: delete the history `[database] keep_days` no longer keeps, now."""

from __future__ import annotations

import click

from newsletter.cli.common import Exit, Runtime, command
from newsletter.store.retention import prune as prune_store


@click.command()
@click.option("--dry-run", is_flag=True, help="Count what would be removed; remove nothing.")
@command
def prune(runtime: Runtime, dry_run: bool) -> int:
    """Remove old delivery history, fetch log rows and expired sign-ups, as `run` does daily.

    What goes: ledger rows and sent-paper records of issues older than [database] keep_days (never
    a row still to be sent, nor the record of a paper that is still listed), those issues' paper
    pools, fetch log rows, and sign-ups left unconfirmed a week past their link's 48 hours. Papers
    and readers who confirmed stay. Safe beside a running service. Exit codes: 0 done, 2 usage or
    config error, 4 store error.
    """
    keep_days = runtime.settings().database.keep_days
    if keep_days == 0:
        click.echo("prune: [database] keep_days is 0, so everything is kept; nothing removed")
        return Exit.OK
    pruned = prune_store(runtime.store(), keep_days, runtime.clock(), dry_run=dry_run)
    click.echo(pruned.line(dry_run))
    return Exit.OK
