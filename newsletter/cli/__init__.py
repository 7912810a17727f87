"""The `newsletter` command: thin commands over the library."""

from __future__ import annotations

import sys

from newsletter.cli.collect import fetch, papers
from newsletter.cli.common import cli

cli.add_command(fetch)
cli.add_command(papers)


def main() -> None:
    """Console-script entry point."""
    sys.exit(cli.main(prog_name="newsletter", standalone_mode=True))
