"""`newsletter run`, `newsletter serve` and `newsletter admin-hash`: the long-running service."""

from __future__ import annotations

import logging

import click
import uvicorn
from argon2 import PasswordHasher

from newsletter import app
from newsletter.cli.common import Exit, Runtime, command
from newsletter.collect import run_fetch
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
        else:
            click.echo(report.line())
        runner.release()
        if outcome.failures and not outcome.reports:
            return Exit.UNREACHABLE
        if report is not None and any(s.stopped for s in report.summaries):
            return Exit.DELIVERY
        return Exit.OK
    scheduler = build_scheduler(runner)
    scheduler.start()
    web = svc.settings.web
    log.info("run: scheduler started; web app on http://%s:%d", host or web.host, port or web.port)
    try:
        uvicorn.run(create_app(svc), host=host or web.host, port=port or web.port, log_level="warning")
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
