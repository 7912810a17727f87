"""What every command shares: the runtime (settings, store, clock, network), --config and exit codes."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import IntEnum
from pathlib import Path
from types import FrameType
from typing import Any, NoReturn, TypeVar

import click
import httpx
from sqlalchemy.exc import SQLAlchemyError

from newsletter import app
from newsletter.collect import CollectError, ScrapeError, SourceUnreachable
from newsletter.config import ConfigError, Settings, load_settings
from newsletter.config_loader import ENV_CONFIG
from newsletter.dates import parse_issue_date
from newsletter.models import Subscriber
from newsletter.store import Store, store_error
from newsletter.subscribers import InvalidInput

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger(__name__)


class Exit(IntEnum):
    """What the exit code of every command means."""

    OK = 0
    NOTHING_NEW = 1
    USAGE = 2
    UNREACHABLE = 3
    STORE = 4
    DELIVERY = 5


class _Formatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.WARNING:
            return f"{record.levelname.lower()}: {message}"
        return message


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, so captured runs see the count lines."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(_Formatter("%(message)s"))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


@dataclass
class Runtime:
    """The edges a command needs; tests pass their own clock and network transport."""

    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)
    transport: httpx.BaseTransport | None = None
    clock: Callable[[], datetime] = app.utcnow
    config_path: Path | None = None
    _settings: Settings | None = None
    _store: Store | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._resolve_config(), self.environ)
            logging.getLogger().setLevel(self._settings.log.level.upper())
        return self._settings

    def _resolve_config(self) -> Path | None:
        if self.config_path is not None:
            return self.config_path
        if self.environ.get(ENV_CONFIG):
            return Path(self.environ[ENV_CONFIG])
        default = Path("config.toml")
        return default if default.is_file() else None

    def store(self) -> Store:
        if self._store is None:
            # A malformed URL is a config mistake (ConfigError, exit 2), checked by open_store.
            self._store = app.open_store(self.settings().database)
        return self._store

    def http_client(self) -> httpx.Client:
        return app.build_http_client(self.settings().sources, self.transport)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


def _set_config(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value == "":
        # Often an unset shell variable: say so, rather than that "." (what Path("") is) is a directory.
        raise click.BadParameter("the path is empty; name a config file", ctx=ctx, param=param)
    if value is not None:
        ctx.ensure_object(Runtime).config_path = Path(value)


def config_option(func: F) -> F:
    """`--config PATH`, accepted before or after the command name."""
    return click.option(
        "--config",
        type=click.Path(dir_okay=False),
        expose_value=False,
        is_eager=True,
        callback=_set_config,
        help="Config file (default: $NEWSLETTER_CONFIG, else ./config.toml, else built-in defaults).",
    )(func)


def command(func: F) -> F:
    """Wrap a command body: one-line errors with meaningful exit codes instead of tracebacks."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        runtime = click.get_current_context().ensure_object(Runtime)
        try:
            code = func(runtime, *args, **kwargs)
        except (ConfigError, ScrapeError, CollectError) as exc:
            fail(str(exc), Exit.USAGE)
        except SourceUnreachable as exc:
            fail(f"source unreachable: {exc}", Exit.UNREACHABLE)
        except SQLAlchemyError as exc:
            fail(f"store: {store_error(exc)}", Exit.STORE)
        finally:
            runtime.close()
        sys.exit(int(code or Exit.OK))

    return config_option(wrapper)  # type: ignore[return-value]


def fail(message: str, code: Exit) -> NoReturn:
    """Print one clear error line and exit with `code`."""
    click.echo(f"error: {message}", err=True)
    sys.exit(int(code))


def find_subscriber(runtime: Runtime, email: str, field: str = "email") -> Subscriber:
    """The subscriber with this address, however it is spelt, or one clear error (exit 2)."""
    if not email.strip():
        # An unset shell variable ("$EMAIL"): say so, rather than "no subscriber " and nothing.
        fail(f"{field}: the address is empty", Exit.USAGE)
    sub = runtime.store().subscribers.by_email(email)
    if sub is None:
        fail(f"no subscriber {email}", Exit.USAGE)
    return sub


class DateParam(click.ParamType):  # type: ignore[type-arg]
    """A date on the command line: YYYY-MM-DD, 'today' or 'tomorrow' (UTC), within ten years."""

    name = "DATE"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> date:
        if isinstance(value, date):
            return value
        runtime = ctx.ensure_object(Runtime) if ctx else Runtime()
        try:
            return parse_issue_date(str(value), runtime.clock().date())
        except InvalidInput as exc:
            self.fail(exc.message, param, ctx)


def date_help(what: str, default: str | None = None) -> str:
    """The help of a --date option: what the date is, the forms it takes and its default."""
    text = f"{what}: YYYY-MM-DD, today or tomorrow (UTC)."
    return f"{text} Default: {default}." if default else text


def warn_if_links_are_local(settings: Settings) -> None:
    """Warn, before mail goes out through a relay, when its links would name this machine."""
    warning = app.local_links_warning(settings)
    if warning:
        log.warning("%s", warning)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@config_option
@click.version_option(package_name="newsletter")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Trending ML papers from Hugging Face, matched to each subscriber's topics."""
    ctx.ensure_object(Runtime)
    root = logging.getLogger()
    if not any(isinstance(h, _StderrHandler) for h in root.handlers):
        root.addHandler(_StderrHandler())
    root.setLevel(logging.INFO)
    # httpx logs each request at INFO; every stage already says what it fetched in one count line.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@contextlib.contextmanager
def finish_on_signal(stopping: threading.Event, who: str) -> Iterator[threading.Event]:
    """While inside, SIGTERM or Ctrl-C sets `stopping` instead of killing the process mid-send.

    Senders watch the event: the messages in flight finish and the claimed rest goes back to the
    queue at once. The previous handlers come back on the way out.
    """

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: %s; finishing the messages in flight", who, signal.Signals(signum).name)
        stopping.set()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stopping
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
