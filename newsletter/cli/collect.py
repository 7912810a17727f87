"""`newsletter fetch` and `newsletter papers`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from newsletter.cli.common import DateParam, Exit, Runtime, command, date_help, fail
from newsletter.collect import fetch_sources, import_file
from newsletter.config import SOURCE_NAMES
from newsletter.models import FetchReport, counted
from newsletter.sources.hf import TRENDING
from newsletter.store.papers import StoredPaper


@click.command()
@click.option("--source", type=click.Choice(SOURCE_NAMES), help="Fetch only this source.")
@click.option("--date", "day", type=DateParam(), help=date_help("Listing date (hf-daily, hf-api, --file)"))
@click.option(
    "--file",
    "path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Import a saved papers page or API response instead of fetching.",
)
@command
def fetch(runtime: Runtime, source: str | None, day: date | None, path: Path | None) -> int:
    """Fetch trending papers (or import a saved file) into the store.

    Exit codes: 0 papers new, updated or listed on a new day, 1 nothing new, 2 usage or input error
    (or every source answered something unreadable), 3 no source could be reached, 4 store error.
    One failing source among several is reported on stderr; the exit code is the others'.
    """
    settings = runtime.settings()
    now = runtime.clock()
    if path is not None:
        if source is not None:
            fail("--file and --source cannot be combined", Exit.USAGE)
        return _exit_for([import_file(runtime.store(), path, day, now)])
    names = [source] if source else list(settings.sources.enabled)
    if day is not None and names == [TRENDING]:
        fail("hf-trending has no date; use --source hf-daily or hf-api with --date", Exit.USAGE)
    if day is None:
        day = now.date()
    with runtime.http_client() as client:
        # Each failing source is named on stderr as `run` names it ("error: source unreachable: ...").
        outcome = fetch_sources(client, runtime.store(), settings.sources, names, day, now)
    if outcome.all_failed:
        # Nothing fetched: 3 when a source could not be reached, else 2 (what came back was unreadable).
        return Exit.UNREACHABLE if outcome.unreachable else Exit.USAGE
    if outcome.failures:
        done = counted(len(outcome.reports), "source")
        click.echo(f"fetch: {done} fetched; failed: {'; '.join(outcome.failures)}", err=True)
    return _exit_for(outcome.reports)


def _exit_for(reports: list[FetchReport]) -> int:
    """0 when something changed, else 1; one failing source among several does not make it 3."""
    if not any(r.changed for r in reports):
        click.echo("fetch: nothing new", err=True)
        return Exit.NOTHING_NEW
    return Exit.OK


@click.command()
@click.option("--date", "day", type=DateParam(), help=date_help("Only papers listed on this date"))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@command
def papers(runtime: Runtime, day: date | None, as_json: bool) -> int:
    """List the stored papers, most upvoted first."""
    rows = runtime.store().papers.listed(day)
    for row in rows:
        click.echo(json.dumps(paper_json(row), ensure_ascii=False) if as_json else _paper_line(row))
    if not rows:
        # Said on stderr: stdout stays an empty listing for scripts.
        where = f"listed on {day}" if day else "stored yet"
        click.echo(f"papers: none {where} (`newsletter fetch` fetches them)", err=True)
    return Exit.OK


def _paper_line(row: StoredPaper) -> str:
    votes = "-" if row.paper.upvotes is None else str(row.paper.upvotes)
    return f"{row.paper.arxiv_id:<12} {votes:>5}  {row.paper.title}"


def paper_json(row: StoredPaper) -> dict[str, object]:
    """A stored paper as a JSON-ready dict."""
    p = row.paper
    return {
        "arxiv_id": p.arxiv_id,
        "title": p.title,
        "abstract": p.abstract,
        "authors": list(p.authors),
        "upvotes": p.upvotes,
        "published_at": p.published_at.isoformat() if p.published_at else None,
        "submitted_at": p.submitted_at.isoformat() if p.submitted_at else None,
        "hf_url": p.hf_url,
        "arxiv_url": p.arxiv_url,
        "pdf_url": p.pdf_url,
        "thumbnail": p.thumbnail,
        "github_repo": p.github_repo,
        "github_stars": p.github_stars,
        "project_page": p.project_page,
        "ai_summary": p.ai_summary,
        "ai_keywords": list(p.ai_keywords),
        "num_comments": p.num_comments,
        "organization": p.organization,
        "first_seen_at": row.first_seen_at.isoformat(),
        "first_source": row.first_source,
        "first_listing_date": row.first_listing_date.isoformat(),
    }
