"""Delivery: the Transport protocol, its SMTP and outbox implementations, and the ledger-driven send loop."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# 550-class replies that say the mailbox does not exist or refuses us: the address bounced.
BOUNCE_CODES = frozenset({550, 551, 553})


class SendError(Exception):
    """A message the server did not accept; `permanent` for 5xx, else worth retrying later."""

    def __init__(self, reply: str, *, code: int | None = None, connection: bool = False) -> None:
        super().__init__(reply)
        self.reply = reply
        self.code = code
        # A failure of the link rather than of this message: counts toward the circuit breaker.
        self.connection = connection

    @property
    def permanent(self) -> bool:
        return self.code is not None and 500 <= self.code < 600

    @property
    def bounced(self) -> bool:
        return self.code in BOUNCE_CODES


class TransportUnusable(Exception):
    """The transport cannot work at all (TLS unavailable or failing, bad credentials): stop the run."""


@dataclass(frozen=True, slots=True)
class Accepted:
    """The server's reply to the final '.', kept in the ledger."""

    reply: str


class Transport(Protocol):
    """Where messages go. `send` may be called from several threads at once."""

    def send(self, sender: str, recipient: str, message: bytes, message_id: str) -> Accepted:
        """Hand over one message; raises SendError when it was not accepted."""
        ...

    def close(self) -> None:
        """Release connections or files."""
        ...
