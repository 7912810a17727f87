"""What every web handler shares: services, templates, rate limits, and small request helpers."""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import math
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from limits import RateLimitItem, parse_many
from limits.errors import ConfigurationError, StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from newsletter.config import ConfigError
from newsletter.edition import Edition
from newsletter.services import Services
from newsletter.subscribers import current_zone_names

log = logging.getLogger(__name__)


def zone_names() -> tuple[str, ...]:
    """The time zones the forms suggest: current names only."""
    return current_zone_names()


class RateLimits:
    """Moving-window limits, counted where `[web] rate_limits` says: this process's memory by
    default, or a Redis (or MongoDB) that every process of the service shares.

    Keys start with `namespace`, so two services sharing one Redis keep their counts apart. If
    the shared store fails, a hit is refused (a 429) and logged, never let through uncounted.
    """

    def __init__(self, storage_url: str = "memory://", namespace: str = "") -> None:
        _check_client(storage_url)
        try:
            storage = storage_from_string(storage_url, wrap_exceptions=True)
        except ConfigurationError as exc:  # a bad option
            raise ConfigError(f"web.rate_limits: {exc}") from None
        if not storage.check():
            raise ConfigError(f"web.rate_limits: cannot reach {redact(storage_url)}")
        self._where = redact(storage_url)
        self._storage = storage
        self._limiter = MovingWindowRateLimiter(storage)
        self._namespace = namespace

    def allow(self, rule: str, *key: str) -> bool:
        """Count one hit; False once any of the rule's limits is exceeded."""
        return self._all(self._limiter.hit, rule, key)

    def wait_s(self, rule: str, *key: str) -> int:
        """Seconds until a refused key may try again (0 if it may now, or the store cannot tell)."""
        waits = [0.0]
        try:
            for item in parse_many(rule):
                stats = self._limiter.get_window_stats(item, self._namespace, *key)
                if stats.remaining == 0:
                    waits.append(stats.reset_time - time.time())
        except StorageError:
            return 0
        return max(0, math.ceil(max(waits)))

    def has_room(self, rule: str, *key: str) -> bool:
        """Whether one more hit would be allowed, without counting one."""
        return self._all(self._limiter.test, rule, key)

    def _all(self, check: Callable[..., bool], rule: str, key: tuple[str, ...]) -> bool:
        items: list[RateLimitItem] = parse_many(rule)
        try:
            return all(check(item, self._namespace, *key) for item in items)
        except StorageError as exc:
            log.error(
                "web: rate limit store %s failed (%s); refusing %s", self._where, exc.storage_error, key[0]
            )
            return False

    def reachable(self) -> bool:
        """Whether the store answers (memory always does)."""
        return bool(self._storage.check())


def redact(storage_url: str) -> str:
    """The URL with any password masked, for messages and logs."""
    parts = urlsplit(storage_url)
    if not parts.password:
        return storage_url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


# The form's own words for the fields an error names ("Time zone: unknown time zone"; the CLI names
# its options instead).
FIELD_LABELS = {
    "email": "Email",
    "topics": "Topics",
    "excludes": "Exclusions (lines starting with -)",
    "timezone": "Time zone",
    "hour": "Delivery hour",
    "cadence": "How often",
    "weekday": "Weekly on",
    "per_email": "Papers on your topics per email",
    "date": "Issue date",
    "form": "The form",
}
# The field each error names, by that label: its id in the page, which the page marks as refused
# (templates/web/_invalid.html.j2). Exclusions are typed in the topics box; "The form" is no field.
ERROR_FIELDS = {
    label: "topics" if field == "excludes" else field
    for field, label in FIELD_LABELS.items()
    if field != "form"
}


@dataclass
class WebContext:
    svc: Services
    env: jinja2.Environment
    limits: RateLimits = field(default_factory=RateLimits)
    _editions: dict[tuple[date, datetime | None], tuple[float, Edition]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def locked_out(self, ip: str) -> bool:
        """Whether `ip` has used up `[web] login_limit_ip` on wrong passwords and API tokens: then even
        the right one is refused, so a guess that hits learns nothing."""
        return not self.limits.has_room(self.svc.settings.web.login_limit_ip, "login-ip", limit_key(ip))

    def wrong_guess(self, ip: str) -> None:
        """Count a wrong admin password or API token from `ip` (right ones are never counted)."""
        self.limits.allow(self.svc.settings.web.login_limit_ip, "login-ip", limit_key(ip))

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Render a template of templates/web with the shared context."""
        token = request.scope.get("csrftoken")
        base: dict[str, Any] = {
            "brand": self.svc.settings.delivery.from_name,
            "csrftoken": token() if callable(token) else "",
            "errors": [],
            "notice": "",
            "error_fields": ERROR_FIELDS,
        }
        html = self.env.get_template(f"web/{name}").render({**base, **context})
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)

    def message(
        self, request: Request, heading: str, message: str, status: int = 200, **extra: Any
    ) -> HTMLResponse:
        return self.page(
            request, "message.html.j2", status, heading=heading, message=message, link=extra.get("link")
        )

    def live_edition(self, issue_date: date) -> Edition:
        """A recent unfrozen view of the issue for the live topic preview.

        Rebuilt at most once a minute, and at once after a fetch (by any process) has succeeded,
        so a new install's preview fills in as soon as its first papers arrive.
        """
        now = time.monotonic()
        key = (issue_date, self.svc.store.papers.last_success())
        with self._lock:
            cached = self._editions.get(key)
            if cached is None or now - cached[0] > 60:
                svc = self.svc
                edition = Edition.open(
                    svc.store, svc.settings, issue_date, svc.clock(), freeze=False, ranker="lexical"
                )
                cached = (now, edition)
                self._editions = {key: cached}
            return cached[1]


# Our pages load nothing from elsewhere; the admin preview frames are sandboxed srcdoc. Scripts run
# only from our own files (/js/), never inline, so markup slipped into a page cannot run. Inline style
# stays allowed: the emails framed in the admin preview carry it on every element.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; frame-src 'self' about:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_key(ip: str) -> str:
    """What a per-address limit counts: an IPv4 address, or an IPv6 address's /64 network.

    Any IPv6 host is given a whole /64, so counting its 2^64 addresses apart would set no limit at all.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip  # not an address ("unknown", a test client's name): counted as it is
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class PersonalRoute(APIRoute):
    """A page reached by a reader's own token, or an admin page: sent with `Cache-Control: no-store`, so
    no cache keeps it and Back (after unsubscribing or signing out) fetches it again (a back/forward
    cache: see _fresh_on_back)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def not_stored(request: Request) -> Response:
            response = await handler(request)
            response.headers["Cache-Control"] = "no-store"
            return response

        return not_stored


# The client package each shared store needs; `limits` names it only once the store half exists,
# and that half then prints a traceback as it is collected.
_CLIENTS = {"redis": "redis", "valkey": "valkey", "mongodb": "pymongo"}


def _check_client(storage_url: str) -> None:
    """A clear error, with how to install it, when the store's client package is missing."""
    scheme = storage_url.partition("://")[0].partition("+")[0]
    scheme = scheme.removesuffix("s") if scheme in ("rediss", "valkeys") else scheme  # over TLS
    client = _CLIENTS.get(scheme)
    if client is None or importlib.util.find_spec(client) is not None:
        return
    how = "./scripts/bootstrap redis" if scheme == "redis" else f".venv/bin/pip install 'limits[{scheme}]'"
    raise ConfigError(f"web.rate_limits: {scheme}:// needs the {client} package; install it with {how}")
