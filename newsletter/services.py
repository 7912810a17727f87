"""The edges a long-running job needs, built once by `newsletter.app` and passed in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import httpx

from newsletter.config import Settings
from newsletter.deliver import Transport
from newsletter.store import Store
from newsletter.tokens import Signer


@dataclass
class Services:
    """Store, settings, clock, and factories for the network, mail transport and link signer."""

    store: Store
    settings: Settings
    clock: Callable[[], datetime]
    make_transport: Callable[[], Transport]
    make_http_client: Callable[[], httpx.Client]
    make_signer: Callable[[], Signer]
    # Set on SIGTERM: senders finish the messages in flight, hand the rest back, and return.
    stopping: threading.Event = field(default_factory=threading.Event)
    _signer: Signer | None = field(default=None, init=False)

    def transport(self) -> Transport:
        return self.make_transport()

    def signer(self) -> Signer:
        if self._signer is None:
            self._signer = self.make_signer()
        return self._signer

    def connections(self) -> int:
        """Parallel sends: the SMTP pool size, or one for the outbox."""
        return self.settings.smtp.pool_size if self.settings.delivery.transport == "smtp" else 1
