"""The one composition root: builds the real HTTP client, database engine and clock from settings."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from httpx_retries import Retry, RetryTransport
from sqlalchemy import create_engine

from newsletter import __version__
from newsletter.config import LOCAL_HOSTS, ConfigError, DatabaseSettings, Settings, SourcesSettings
from newsletter.deliver import Transport
from newsletter.deliver.outbox import OutboxTransport
from newsletter.deliver.smtp import SmtpTransport
from newsletter.dkim import DkimSigner, DkimTransport, load_signer
from newsletter.services import Services
from newsletter.sources.redirects import refuse_unsafe_redirect
from newsletter.store import Store
from newsletter.store.url import database_url
from newsletter.tokens import Signer

USER_AGENT = f"newsletter/{__version__} (self-hosted paper digest; +python-httpx)"
RETRY_STATUSES = (429, 500, 502, 503, 504)


def utcnow() -> datetime:
    """The real clock; everything below the CLI takes `now` as an argument."""
    return datetime.now(UTC)


def open_store(settings: DatabaseSettings, setting: str = "database.url") -> Store:
    """An engine for the configured URL, wrapped in a Store with its schema up to date.

    `setting` names where the URL came from, for the error when its driver is not installed.
    """
    url = database_url(settings.url, setting)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, pool_pre_ping=url.get_backend_name() != "sqlite")
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"{setting}: {url.drivername} needs the {exc.name} package, which is not installed; "
            "for PostgreSQL use postgresql+psycopg://... and ./scripts/bootstrap postgres"
        ) from None
    store = Store(engine)
    store.migrate()
    return store


def build_http_client(
    settings: SourcesSettings, transport: httpx.BaseTransport | None = None
) -> httpx.Client:
    """The client every source uses: timeouts, our User-Agent, bounded retries honouring Retry-After.

    Redirects are followed only within the requested host and never from https to http: the
    response hook checks every hop before httpx follows it. A refused one raises at once, above
    the retrying transport, so it is not retried.
    `transport` is the network; tests pass an `httpx.MockTransport` serving saved pages.
    """
    retry = Retry(
        total=settings.retries,
        backoff_factor=settings.backoff_s,
        status_forcelist=RETRY_STATUSES,
        max_backoff_wait=settings.max_wait_s,
        respect_retry_after_header=True,
    )
    return httpx.Client(
        transport=RetryTransport(transport=transport or httpx.HTTPTransport(), retry=retry),
        timeout=httpx.Timeout(settings.timeout_s),
        headers={"User-Agent": USER_AGENT},
        follow_redirects=True,
        event_hooks={"response": [refuse_unsafe_redirect]},
    )


def build_dkim(settings: Settings) -> DkimSigner | None:
    """The DKIM signer [dkim] configures, or None when it is off; reads and checks the key file."""
    return load_signer(settings.dkim, settings.delivery.from_address)


def build_transport(settings: Settings, dkim: DkimSigner | None = None) -> Transport:
    """The transport [delivery] names (outbox folder or SMTP relay), DKIM-signing when [dkim] has a key.

    `dkim` is a signer built once by the caller; without one, the key is read here (once per transport).
    """
    inner: Transport
    if settings.delivery.transport == "smtp":
        inner = SmtpTransport(settings.smtp)
    else:
        inner = OutboxTransport(Path(settings.delivery.outbox))
    signer = dkim or build_dkim(settings)
    return inner if signer is None else DkimTransport(inner, signer)


def local_links_warning(settings: Settings) -> str | None:
    """A warning when mail goes out through a relay but its links name this machine (web.base_url)."""
    host = urlsplit(settings.web.base_url).hostname or ""
    if settings.delivery.transport != "smtp" or host not in LOCAL_HOSTS:
        return None
    return (
        f"web.base_url is {settings.web.base_url}: the links in the mail sent through the relay "
        "(confirm, manage, unsubscribe) only work on this machine; set NEWSLETTER_WEB_BASE_URL to "
        "the address readers reach"
    )


def build_signer(settings: Settings, store: Store) -> Signer:
    """Signs links with NEWSLETTER_WEB_SECRET_KEY, else with a random key generated once per database."""
    key = settings.web.secret_key or store.meta_value("secret_key", lambda: secrets.token_urlsafe(32))
    return Signer(key)


def build_services(
    settings: Settings,
    store: Store,
    *,
    clock: Callable[[], datetime] = utcnow,
    transport: Callable[[], Transport] | None = None,
    http_transport: httpx.BaseTransport | None = None,
) -> Services:
    """Everything a long-running job needs; tests pass their own clock, mail transport and network."""
    # Read and check the DKIM key now: a bad key stops the service at startup, not at its first email.
    dkim = build_dkim(settings)
    return Services(
        store=store,
        settings=settings,
        clock=clock,
        make_transport=transport or (lambda: build_transport(settings, dkim)),
        make_http_client=lambda: build_http_client(settings.sources, http_transport),
        make_signer=lambda: build_signer(settings, store),
    )
