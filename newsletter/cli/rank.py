"""`newsletter picks` and `newsletter rank-eval`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import click

from newsletter.cli.common import DateParam, Exit, Runtime, command, date_help, fail, find_subscriber
from newsletter.edition import EmptyPool, subscriber_picks
from newsletter.models import not_sent_note
from newsletter.rank import make_scorer
from newsletter.rank.evaluate import evaluate, load_eval_papers, load_eval_topics


@click.command()
@click.option("--email", required=True, help="The subscriber.")
@click.option("--date", "day", type=DateParam(), help=date_help("Issue date", "today"))
@click.option("--ranker", type=click.Choice(["lexical", "hybrid"]), help="Override [rank] ranker.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per pick.")
@command
def picks(runtime: Runtime, email: str, day: date | None, ranker: str | None, as_json: bool) -> int:
    """Show the papers a subscriber would get, with scores and reasons."""
    store = runtime.store()
    sub = find_subscriber(runtime, email, "--email")
    settings = runtime.settings()
    issue_date = day or runtime.clock().date()
    other = ranker if ranker != settings.rank.ranker else None  # the configured one is no override
    try:
        chosen = subscriber_picks(store, settings, sub, issue_date, runtime.clock(), ranker=other)
    except EmptyPool as exc:
        fail(str(exc), Exit.NOTHING_NEW)
        return Exit.NOTHING_NEW
    note = not_sent_note(sub, issue_date)
    if note:
        click.echo(f"picks: note: {note}", err=True)
    issue = store.issues.find_issue(issue_date)
    for delivery in store.ledger.deliveries_of(issue, sub.id) if issue and not other else ():
        # Once queued, the reader's papers are fixed: say so, and why they differ from a fresh ranking.
        status = f"the email of {issue_date} to {sub.email} is {delivery.status}"
        click.echo(f"picks: note: {status}; these are its papers", err=True)
    for rank, pick in enumerate(chosen, start=1):
        if as_json:
            row = {
                "rank": rank,
                "arxiv_id": pick.paper.arxiv_id,
                "title": pick.paper.title,
                "score": pick.score,
                "relevance": pick.relevance,
                "topic": pick.topic,
                "matched": list(pick.matched),
            }
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{rank:>2}. {pick.score:.3f}  {pick.paper.arxiv_id}  {pick.paper.title}")
            click.echo(f"      why: {pick.reason()}")
    if not chosen:
        click.echo(f"picks: nothing on {sub.email}'s topics for {issue_date}", err=True)
    return Exit.OK


@click.command("rank-eval")
@click.option("--papers", "papers_path", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--topics", "topics_path", required=True, type=click.Path(path_type=Path, dir_okay=False))
@click.option("--ranker", type=click.Choice(["lexical", "hybrid"]), default="lexical", show_default=True)
@command
def rank_eval(runtime: Runtime, papers_path: Path, topics_path: Path, ranker: str) -> int:
    """Score a ranker on labelled papers: mean nDCG@10 and P@10 as JSON.

    Only topics with at least 3 relevant papers count. Exit codes: 0 scored, 2 a file is missing,
    malformed or empty, or no topic has 3 relevant papers.
    """
    try:
        papers, categories = load_eval_papers(papers_path)
        topics = load_eval_topics(topics_path)
        result = evaluate(make_scorer(ranker), papers, categories, topics)
    except FileNotFoundError as exc:
        fail(f"{exc.filename}: no such file", Exit.USAGE)
    except OSError as exc:
        fail(f"{exc.filename}: cannot be read: {exc.strerror or exc}", Exit.USAGE)
    except ValueError as exc:
        fail(str(exc), Exit.USAGE)
    click.echo(json.dumps(result, indent=2))
    return Exit.OK
