"""`newsletter send`, `newsletter preview` and `newsletter issue`."""

from __future__ import annotations

import sys
import threading
import webbrowser
from datetime import UTC, date
from pathlib import Path

import click
from rich.progress import Progress

from newsletter import app
from newsletter.cli.common import (
    DateParam,
    Exit,
    Runtime,
    command,
    date_help,
    fail,
    find_subscriber,
    finish_on_signal,
    warn_if_links_are_local,
)
from newsletter.deliver.run import queue_issue, send_issue, waiting_line
from newsletter.deliver.send import retry_line
from newsletter.edition import Edition, EmptyPool
from newsletter.letters import sender_of
from newsletter.mime import message_id
from newsletter.models import Subscriber, counted, gets_issue, not_sent_note
from newsletter.store.ledger import Outcome

TROUBLES_SHOWN = 20  # failed and deferred rows listed by `issue`, each


@click.command()
@click.option("--date", "day", type=DateParam(), help=date_help("Issue date", "today"))
@click.option("--dry-run", is_flag=True, help="Rank and render everything, send and store nothing.")
@click.option("--only", "only_email", help="Send only to this subscriber.")
@click.option(
    "--queue-only", is_flag=True, help="Freeze and queue the issue; leave sending to `newsletter worker`."
)
@command
def send(runtime: Runtime, day: date | None, dry_run: bool, only_email: str | None, queue_only: bool) -> int:
    """Send the issue to every active subscriber who has not had it yet.

    Weekly readers get only the issue of their weekday, unless named with --only. Safe to rerun:
    the ledger holds one row per (issue, subscriber). SIGTERM or Ctrl-C finishes the messages in
    flight and leaves the rest queued. Exit codes: 0 done, 1 no papers for the issue (nothing sent),
    2 usage error, 4 store error, 5 stopped early with the rest queued (relay unreachable, TLS
    failure, the relay refusing our sender or every recipient alike, or that signal).
    """
    store, settings = runtime.store(), runtime.settings()
    issue_date = day or runtime.clock().date()
    # An empty --only (say, an unset "$EMAIL") must not widen to everyone.
    only = find_subscriber(runtime, only_email, "--only") if only_email is not None else None
    if only is not None and only.status != "active":
        fail(f"{only.email} is {only.status}, not active", Exit.USAGE)
    if dry_run:
        # What the real send would stop on first: a DKIM key that cannot be read or used.
        app.build_dkim(settings)
        return _dry_run(runtime, issue_date, only)
    if queue_only:
        try:
            queued = queue_issue(store, settings, issue_date, runtime.clock, only=only)
        except EmptyPool as exc:
            fail(str(exc), Exit.NOTHING_NEW)
        click.echo(queued.line())
        return Exit.OK
    warn_if_links_are_local(settings)
    transport = app.build_transport(settings)
    signer = app.build_signer(settings, store)
    progress = Progress(transient=True, disable=not sys.stderr.isatty())

    def advance(_outcome: Outcome) -> None:
        progress.advance(task)

    with progress, finish_on_signal(threading.Event(), "send") as stopping:
        task = progress.add_task("sending", total=None)
        try:
            queued, summary = send_issue(
                store,
                settings,
                transport,
                signer,
                issue_date,
                runtime.clock,
                only=only,
                on_outcome=advance,
                stopping=stopping,
            )
        except EmptyPool as exc:
            fail(str(exc), Exit.NOTHING_NEW)
            return Exit.NOTHING_NEW
        finally:
            transport.close()
    # Readers skipped at queueing (nothing on their topics) never reach the send loop: count them too.
    summary.skipped += queued.skip
    click.echo(summary.line())
    record = store.issues.find_issue(issue_date)
    if record is not None and (
        waiting := retry_line(*store.history.waiting_retries(runtime.clock(), record.id))
    ):
        click.echo(waiting)
    return Exit.DELIVERY if summary.stopped else Exit.OK


def _dry_run(runtime: Runtime, issue_date: date, only: Subscriber | None) -> int:
    store, settings = runtime.store(), runtime.settings()
    closed = store.issues.closed_by_retention(issue_date, settings.database.keep_days)
    edition = Edition.open(store, settings, issue_date, runtime.clock(), freeze=False)
    if not edition.pool:
        fail(edition.empty_line(), Exit.NOTHING_NEW)
    if closed:  # the real send queues nobody new, and says so
        assert edition.issue is not None
        waiting = store.history.unfinished(edition.issue)
        if not waiting:
            fail(closed, Exit.NOTHING_NEW)
        click.echo(f"dry run: {closed}; {counted(waiting, 'email')} queued before would still go")
        return Exit.OK
    if edition.issue is None or edition.issue.frozen_at is None:
        # The verdict the real send would reach when it freezes the pool.
        pool = {p.arxiv_id for p in edition.pool}
        stale = store.issues.staleness(issue_date, store.papers.last_success(), pool)
        if stale:
            fail(stale, Exit.NOTHING_NEW)
    signer = app.build_signer(settings, store)
    active = [only] if only else list(store.subscribers.iter_status("active"))
    due = [s for s in active if only or gets_issue(s.cadence, s.weekday, issue_date)]
    # Readers an earlier run queued (or sent) are not queued again: the real send would skip them.
    known = store.ledger.queued_subscribers(edition.issue, [s.id for s in due]) if edition.issue else set()
    subscribers = [s for s in due if s.id not in known]
    plans = edition.plan(subscribers)
    sizes = [len(edition.letters.render(plan, signer).html) for plan in plans if plan.kind != "skip"]
    kinds = {kind: sum(1 for p in plans if p.kind == kind) for kind in ("digest", "trending", "skip")}
    largest = max(sizes, default=0)
    other_day = len(active) - len(due)
    notes = [waiting_line(other_day)] if other_day else []
    if known:
        notes.append(f"{counted(len(known), 'reader')} already queued by an earlier run")
    said = f" ({'; '.join(notes)})" if notes else ""
    click.echo(
        f"dry run: would send {counted(kinds['digest'], 'digest')} and "
        f"{counted(kinds['trending'], 'trending-only email')}, "
        f"skip {kinds['skip']}{said}; largest HTML {largest / 1024:.1f} KB; nothing sent or stored"
    )
    return Exit.OK


@click.command()
@click.option("--email", required=True, help="The subscriber.")
@click.option(
    "--date",
    "day",
    type=DateParam(),
    default="tomorrow",
    help=date_help("Issue date", "tomorrow"),
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file; a name ending in .eml gets the whole message, headers and both parts "
    "(as sent, before any DKIM signature), for a mail client to open.",
)
@click.option("--text", "as_text", is_flag=True, help="The plain-text part instead of the HTML.")
@click.option("--open", "open_browser", is_flag=True, help="Open the result in a browser.")
@command
def preview(
    runtime: Runtime, email: str, day: date, out: Path | None, as_text: bool, open_browser: bool
) -> int:
    """Render exactly what `send` would deliver to one subscriber."""
    whole = out is not None and out.suffix.lower() == ".eml"
    if whole and as_text:
        fail("--text: an .eml file holds both parts; leave out --text, or name a .txt file", Exit.USAGE)
    sub = find_subscriber(runtime, email, "--email")
    store, settings = runtime.store(), runtime.settings()
    edition = Edition.open(store, settings, day, runtime.clock(), freeze=False)
    if not edition.pool:
        fail(edition.empty_line(), Exit.NOTHING_NEW)
    plan = edition.preview_plan(sub)
    note = not_sent_note(sub, day)
    if note:
        click.echo(f"preview: note: {note}", err=True)
    if plan.kind == "skip":
        click.echo(f"preview: {sub.email} gets no email on {day}: {edition.no_email_reason()}", err=True)
        return Exit.NOTHING_NEW
    signer = app.build_signer(settings, store)
    rendered = edition.letters.render(plan, signer)
    body = (rendered.text if as_text else rendered.html).encode("utf-8")
    if whole:
        # The Message-ID the ledger row has, or will get: the same message, as a mail client shows it.
        issue = store.issues.find_issue(day)
        queued = store.ledger.deliveries_of(issue, sub.id) if issue is not None else []
        msg_id = queued[0].message_id if queued else message_id(day.isoformat(), sub.id, sender_of(settings))
        body = edition.letters.message(plan, msg_id, runtime.clock(), signer)
    click.echo(f"subject: {rendered.subject}", err=True)
    if out is None and not open_browser:
        # Bytes, not text: the CRLF line ends of the MIME part must reach the file unchanged.
        sys.stdout.flush()
        sys.stdout.buffer.write(body)
        sys.stdout.buffer.flush()
        return Exit.OK
    target = out or Path(f"preview-{day.isoformat()}-{sub.id}.{'txt' if as_text else 'html'}")
    try:
        target.write_bytes(body)
    except OSError as exc:
        fail(f"--out: cannot write {target}: {exc.strerror or exc}", Exit.USAGE)
    click.echo(f"preview: wrote {target}", err=True)
    # webbrowser.open says False when no browser could be started (no display, none installed).
    if open_browser and not webbrowser.open(target.resolve().as_uri()):
        click.echo(f"preview: no browser could be opened; the preview is in {target.resolve()}", err=True)
    return Exit.OK


@click.command("issue")
@click.option("--date", "day", type=DateParam(), default="today", help=date_help("Issue date", "today"))
@command
def issue_status(runtime: Runtime, day: date) -> int:
    """Show an issue's status and its ledger counts."""
    store = runtime.store()
    settings = runtime.settings().issue
    record = store.issues.find_issue(day)
    if record is not None and record.frozen_at is not None:
        listed = store.issues.snapshot(record)
    else:
        listed = store.papers.pool(day, settings.pool_days)
    skipped = store.issues.skipped_papers(day)
    pool = [p for p in listed if p.paper.arxiv_id not in skipped]
    daily = sum(p.listed_on >= settings.daily_from(day) for p in pool)
    withheld = f" ({len(listed) - len(pool)} skipped)" if len(listed) > len(pool) else ""
    size = f"{len(pool)} papers{withheld}, {daily} of them in the daily window"
    since = store.issues.waiting_since(day) if record is None or record.frozen_at is None else None
    # Held by the scheduler for want of fresh papers ([issue] on_stale), the operator alerted.
    waiting = f"waiting for fresh papers since {since.astimezone(UTC):%Y-%m-%d %H:%M} UTC" if since else ""
    if record is None:
        click.echo(f"issue {day}: {waiting or 'not started'}; so far {size}")
        return Exit.OK
    counts = store.history.counts(record)
    state = f"frozen at {record.frozen_at:%Y-%m-%d %H:%M} UTC" if record.frozen_at else waiting or "open"
    click.echo(f"issue {day}: {state}; {size}")
    click.echo("  " + ", ".join(f"{status} {n:,}" for status, n in counts.items()))
    keep_days = runtime.settings().database.keep_days
    if store.issues.closed_by_retention(day, keep_days):
        # Counts of 0 here are not a failed issue: its finished rows are gone.
        click.echo(f"  the prune has removed its finished rows ([database] keep_days = {keep_days})")
    # Who did not get it, and what the relay said: what an operator asks next.
    for status in ("failed", "deferred"):
        shown = store.history.troubles(record.id, status, TROUBLES_SHOWN) if counts[status] else []
        for row in shown:
            reply = " ".join(row.last_reply.split())[:120] or "no reply recorded"
            retry = f"; next try {row.next_attempt_at:%Y-%m-%d %H:%M} UTC" if status == "deferred" else ""
            click.echo(f"  {status} {row.email}: {reply} ({counted(row.attempts, 'attempt')}{retry})")
        if counts[status] > len(shown):
            click.echo(f"  ... and {counts[status] - len(shown)} more {status}")
    return Exit.OK
