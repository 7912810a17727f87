"""`newsletter run`, `newsletter serve` and `newsletter admin-hash`: the long-running service."""

from __future__ import annotations

import dataclasses
import json
import logging

import click
import uvicorn
from argon2 import PasswordHasher

from newsletter import app
from newsletter.cli.common import Exit, Runtime, command
from newsletter.collect import run_fetch
from newsletter.deliver.worker import Worker
from newsletter.schedule import Runner, build_scheduler
from newsletter.services import Services
from newsletter.web import create_app

log = logging.getLogger(__name__)


def services(runtime: Runtime) -> Services:
    return app.build_services(
        runtime.settings(), runtime.store(), clock=runtime.clock, http_transport=runtime.transport
    )


@click.command()
@click.option("--once", is_flag=True, help="One fetch and one delivery tick, then exit (for cron).")
@click.option("--host", help="Listen address (default [web] host).")
@click.option("--port", type=int, help="Listen port (default [web] port).")
@command
def run(runtime: Runtime, once: bool, host: str | None, port: int | None) -> int:
    """Run the service: the web app and the scheduler (fetch times, delivery tick) in one process.

    Exit codes with --once: 0 done, 3 every source unreachable (the tick still ran), 5 sending stopped.
    """
    svc = services(runtime)
    runner = Runner(svc, fetch=lambda: run_fetch(svc))
    if once:
        outcome = run_fetch(svc)
        click.echo(outcome.line(), err=True)
        report = runner.tick()
        if report is None:
            click.echo("run: another scheduler holds the lease; the tick was left to it", err=True)
        runner.release()
        if outcome.failures and not outcome.reports:
            return Exit.UNREACHABLE
        if report is not None and any(s.stopped for s in report.summaries):
            return Exit.DELIVERY
        return Exit.OK
    # The app first: a web setting it cannot use (an unreachable rate-limit store) stops the
    # service before the scheduler starts anything.
    app = create_app(svc)
    # APScheduler narrates every job run at INFO; our jobs log their own one-line summaries.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(runner)
    scheduler.start()
    web = svc.settings.web
    log.info("run: scheduler started; web app on http://%s:%d", host or web.host, port or web.port)
    try:
        uvicorn.run(app, host=host or web.host, port=port or web.port, log_level="warning")
    finally:
        scheduler.shutdown(wait=True)
        runner.release()
    return Exit.OK


@click.command()
@click.option("--host", help="Listen address (default [web] host).")
@click.option("--port", type=int, help="Listen port (default [web] port).")
@command
def serve(runtime: Runtime, host: str | None, port: int | None) -> int:
    """Run the web app alone, without the scheduler."""
    svc = services(runtime)
    web = svc.settings.web
    uvicorn.run(create_app(svc), host=host or web.host, port=port or web.port, log_level="warning")
    return Exit.OK


@click.command("admin-hash")
@click.password_option("--password", prompt="Admin password", help="Read from a prompt if not given.")
def admin_hash(password: str) -> None:
    """Print an argon2 hash to put in NEWSLETTER_WEB_ADMIN_PASSWORD_HASH."""
    if len(password) < 12:
        raise click.BadParameter("use at least 12 characters", param_hint="--password")
    click.echo(PasswordHasher().hash(password))


@click.command()
@click.option("--until-done", is_flag=True, help="Exit once no row is queued, being sent, or due.")
@click.option("--poll", "poll_s", type=float, default=5.0, show_default=True, help="Seconds between polls.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@command
def worker(runtime: Runtime, until_done: bool, poll_s: float, as_json: bool) -> int:
    """Send queued digests; start several, on one or many machines, against one PostgreSQL database.

    Exit codes: 0 done, 5 stopped (relay unreachable or TLS failure).
    """
    runner = Worker(services(runtime))
    log.info("worker %s: started", runner.name)
    summary = runner.run(until_done=until_done, poll_s=poll_s)
    click.echo(json.dumps(dataclasses.asdict(summary)) if as_json else summary.line())
    return Exit.DELIVERY if summary.stopped else Exit.OK
