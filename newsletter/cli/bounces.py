"""`newsletter bounces import FILE` (an mbox, or one saved .eml)."""

from __future__ import annotations

from pathlib import Path

import click

from newsletter.bounces import BounceFileError, apply_bounces, read_mbox
from newsletter.cli.common import Exit, Runtime, command, config_option, fail


@click.group()
@config_option
def bounces() -> None:
    """Read bounce reports (RFC 3464) and stop mailing addresses that hard-bounced."""


@bounces.command("import")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@command
def import_(runtime: Runtime, path: Path) -> int:
    """Import an mbox (or one saved .eml) of delivery status notifications.

    A 5.1.x (bad address) or 5.2.1 (mailbox disabled) failure suppresses the address; other reports,
    5.2.2 (mailbox full) and 5.7.x (policy) among them, are only counted as soft.
    """
    try:
        report = apply_bounces(runtime.store(), read_mbox(path), runtime.clock())
    except BounceFileError as exc:
        fail(str(exc), Exit.USAGE)
        return Exit.USAGE
    click.echo(report.line())
    return Exit.OK
