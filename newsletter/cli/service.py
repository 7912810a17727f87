"""`newsletter run`, `newsletter serve` and `newsletter admin-hash`: the long-running service."""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import signal
import socket
from types import FrameType

import click
import uvicorn
from argon2 import PasswordHasher
from starlette.types import ASGIApp

from newsletter import app
from newsletter.cli.common import (
    Exit,
    Runtime,
    command,
    config_option,
    fail,
    finish_on_signal,
    warn_if_links_are_local,
)
from newsletter.collect import run_fetch
from newsletter.deliver.send import retry_line
from newsletter.deliver.worker import Worker
from newsletter.schedule import LEASE, Runner
from newsletter.services import Services
from newsletter.timetable import build_scheduler
from newsletter.web import create_app

log = logging.getLogger(__name__)
PORT = click.IntRange(1, 65535)
MAX_POLL_S = 3600
MIN_ADMIN_PASSWORD = 12


def services(runtime: Runtime) -> Services:
    settings = runtime.settings()
    warn_if_links_are_local(settings)
    store = runtime.store()
    return app.build_services(settings, store, clock=runtime.clock, http_transport=runtime.transport)


@click.command()
@click.option(
    "--once", is_flag=True, help="One fetch, one delivery tick and the day's prune, then exit (for cron)."
)
@click.option("--host", help="Listen address (default [web] host).")
@click.option("--port", type=PORT, help="Listen port, 1-65535 (default [web] port).")
@command
def run(runtime: Runtime, once: bool, host: str | None, port: int | None) -> int:
    """Run the service: the web app and the scheduler (fetch times, delivery tick) in one process.

    Exit codes with --once: 0 done, 3 every source unreachable (the tick still ran), 5 sending stopped.
    """
    svc = services(runtime)
    runner = Runner(svc, fetch=lambda: run_fetch(svc))
    if once:
        # Ctrl-C or SIGTERM (a cron job's timeout): the messages in flight finish, the rest stays queued.
        with finish_on_signal(svc.stopping, "run"):
            # This fetch is the one the tick would catch up on: a failed one is not tried twice.
            runner.fetched_at = svc.clock()
            outcome = run_fetch(svc)
            click.echo(outcome.line(), err=True)
            report = runner.tick()
            # Once a UTC day, as `run` does: a cron install keeps no more history than a service.
            if not svc.stopping.is_set():  # stopping (a cron job's timeout): only what was in flight
                runner.prune_job()
        if report is None:
            click.echo("run: another scheduler holds the lease; the tick was left to it", err=True)
        runner.release()
        if outcome.all_failed:
            return Exit.UNREACHABLE
        if report is not None and any(s.stopped for s in report.summaries):
            return Exit.DELIVERY
        return Exit.OK
    # The app and its socket first: a web setting it cannot use (an unreachable rate-limit store,
    # a port already taken) stops the service before the scheduler starts anything.
    app = create_app(svc)
    web = svc.settings.web
    address = (host or web.host, web.port if port is None else port)
    sock = listen(*address)
    # APScheduler narrates every job run at INFO; our jobs log their own one-line summaries.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    scheduler = build_scheduler(runner)
    stop_on_sigterm()
    try:
        other = svc.store.leases.holder(LEASE, svc.clock())
        scheduler.start()
        if other is None or other == runner.holder:
            log.info("run: scheduler started; web app on %s", web_url(*address))
        else:
            # Only one scheduler acts on a store: this one waits, and takes over if that one stops.
            log.info(
                "run: another scheduler holds the lease (%s): this one stands by and takes over if it "
                "stops; web app on %s",
                other,
                web_url(*address),
            )
        serve_on(app, sock, *address)
    finally:
        # A running tick finishes the messages in flight and hands the rest back; the lease goes
        # to the next scheduler at once rather than on expiry.
        log.info("run: stopping; waiting for running jobs")
        svc.stopping.set()
        if scheduler.running:
            scheduler.shutdown(wait=True)
        runner.release()
        log.info("run: stopped")
    return Exit.OK


def web_url(host: str, port: int) -> str:
    """Where the app listens, as a URL (an IPv6 address in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def listen(host: str, port: int) -> socket.socket:
    """The web app's listening socket, bound before anything starts, so a taken port is a clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        # create_server appends the address to strerror; a bad host name has only its gai message.
        reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else (exc.strerror or str(exc))
        fail(f"web: cannot listen on {host}:{port}: {reason}", Exit.USAGE)


def stop_on_sigterm() -> None:
    """Make SIGTERM (systemd's, docker's stop) end the service as Ctrl-C does: cleanly, with exit code 0.

    uvicorn catches the signal to shut the web app down, then raises it again once done; this handler
    turns that into SystemExit, so the caller's `finally` runs instead of the process dying on the spot.
    """

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, stop)


def serve_on(app: ASGIApp, sock: socket.socket, host: str, port: int) -> None:
    """Serve `app` with uvicorn on the already bound `sock`."""
    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])


@click.command()
@click.option("--host", help="Listen address (default [web] host).")
@click.option("--port", type=PORT, help="Listen port, 1-65535 (default [web] port).")
@command
def serve(runtime: Runtime, host: str | None, port: int | None) -> int:
    """Run the web app alone, without the scheduler."""
    svc = services(runtime)
    web = svc.settings.web
    app = create_app(svc)
    address = (host or web.host, web.port if port is None else port)
    sock = listen(*address)
    stop_on_sigterm()
    log.info("serve: web app on %s", web_url(*address))
    try:
        serve_on(app, sock, *address)
    finally:
        log.info("serve: stopped")
    return Exit.OK


@click.command("admin-hash")
@click.option(
    "--password",
    help=f"At least {MIN_ADMIN_PASSWORD} characters; read from a prompt (twice) if not given.",
)
@config_option
def admin_hash(password: str | None) -> None:
    """Print an argon2 hash to put in NEWSLETTER_WEB_ADMIN_PASSWORD_HASH.

    The password needs at least 12 characters, not all the same one. No config is read: --config is
    accepted and unused.
    """
    if password is None:
        try:
            password = str(click.prompt("Admin password", hide_input=True, confirmation_prompt=True))
        except click.Abort:
            # End of input (an empty pipe, or Ctrl-D): not "Aborted!" and exit 1, which means "nothing new".
            click.echo(err=True)
            fail("no password given: type it at the prompt, or pass --password", Exit.USAGE)
    if len(password) < MIN_ADMIN_PASSWORD:
        raise click.BadParameter(f"use at least {MIN_ADMIN_PASSWORD} characters", param_hint="--password")
    if len(set(password)) < 2:
        # Twelve spaces, or one key held down: long enough to count, yet the first guess.
        raise click.BadParameter("use more than one distinct character", param_hint="--password")
    click.echo(PasswordHasher().hash(password))


def _poll_seconds(_ctx: click.Context, _param: click.Parameter, value: float) -> float:
    # Zero or less would spin the CPU; nan and inf would break the wait between polls.
    if not (math.isfinite(value) and 0 < value <= MAX_POLL_S):
        raise click.BadParameter(f"must be more than 0 and at most {MAX_POLL_S} seconds, got {value}")
    return value


@click.command()
@click.option("--until-done", is_flag=True, help="Exit once no row is queued, being sent, or due.")
@click.option(
    "--poll",
    "poll_s",
    type=float,
    default=5.0,
    show_default=True,
    callback=_poll_seconds,
    help=f"Seconds between polls, more than 0 and at most {MAX_POLL_S}.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@command
def worker(runtime: Runtime, until_done: bool, poll_s: float, as_json: bool) -> int:
    """Send queued digests; start several, on one or many machines, against one PostgreSQL database.

    SIGTERM or Ctrl-C: the messages in flight finish, the claimed rest goes back to the queue at once.
    Exit codes: 0 done (or stopped that way), 5 stopped with the rest queued (relay unreachable, TLS
    failure, or the relay refusing our sender or every recipient alike).
    """
    svc = services(runtime)
    runner = Worker(svc)
    log.info("worker %s: started", runner.name)
    with finish_on_signal(svc.stopping, f"worker {runner.name}"):
        summary = runner.run(until_done=until_done, poll_s=poll_s)
    click.echo(json.dumps(dataclasses.asdict(summary)) if as_json else summary.line())
    if (
        until_done
        and not as_json
        and (waiting := retry_line(*svc.store.history.waiting_retries(svc.clock())))
    ):
        click.echo(waiting)
    if svc.stopping.is_set():
        log.info("worker %s: stopped", runner.name)
        return Exit.OK
    return Exit.DELIVERY if summary.stopped else Exit.OK
