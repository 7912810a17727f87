"""What every web handler shares: services, templates, rate limits, and small request helpers."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from newsletter.edition import Edition
from newsletter.services import Services
from newsletter.subscribers import current_zone_names


def zone_names() -> tuple[str, ...]:
    """The time zones the forms suggest: current names only."""
    return current_zone_names()


class RateLimits:
    """Moving-window limits kept in memory, per process."""

    def __init__(self) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def allow(self, rule: str, *key: str) -> bool:
        """Count one hit; False once any of the rule's limits is exceeded."""
        items: list[RateLimitItem] = parse_many(rule)
        return all(self._limiter.hit(item, *key) for item in items)


@dataclass
class WebContext:
    svc: Services
    env: jinja2.Environment
    limits: RateLimits = field(default_factory=RateLimits)
    _editions: dict[date, tuple[float, Edition]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Render a template of templates/web with the shared context."""
        token = request.scope.get("csrftoken")
        base: dict[str, Any] = {
            "brand": self.svc.settings.delivery.from_name,
            "csrftoken": token() if callable(token) else "",
            "errors": [],
            "notice": "",
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
        """A recent unfrozen view of the issue for the live topic preview, rebuilt at most once a minute."""
        now = time.monotonic()
        with self._lock:
            cached = self._editions.get(issue_date)
            if cached is None or now - cached[0] > 60:
                svc = self.svc
                edition = Edition.open(
                    svc.store, svc.settings, issue_date, svc.clock(), freeze=False, ranker="lexical"
                )
                cached = (now, edition)
                self._editions = {issue_date: cached}
            return cached[1]


# Our pages load nothing from elsewhere; the admin preview frames are sandboxed srcdoc.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self' 'unsafe-inline'; frame-src 'self' about:; frame-ancestors 'none'; "
        "form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
