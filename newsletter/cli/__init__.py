"""The `newsletter` command: thin commands over the library."""

from __future__ import annotations

import sys

from newsletter.cli.bounces import bounces
from newsletter.cli.collect import fetch, papers
from newsletter.cli.common import cli
from newsletter.cli.deliver import issue_status, preview, send
from newsletter.cli.prune import prune
from newsletter.cli.rank import picks, rank_eval
from newsletter.cli.service import admin_hash, run, serve, worker
from newsletter.cli.store import copy_store
from newsletter.cli.subscribers import subscribers

for _command in (
    fetch,
    papers,
    subscribers,
    picks,
    rank_eval,
    send,
    preview,
    issue_status,
    run,
    serve,
    admin_hash,
    worker,
    bounces,
    copy_store,
    prune,
):
    cli.add_command(_command)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="newsletter", standalone_mode=True))
