"""Delivery: the Transport protocol, its SMTP and outbox implementations, and the ledger-driven send loop."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

# 550-class replies that say the mailbox does not exist or refuses us: the address bounced.
BOUNCE_CODES = frozenset({550, 551, 553})
_ENHANCED = re.compile(r"\b\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b")


def address_gone(status: str) -> bool:
    """Whether an RFC 3463 status says the address itself is bad, so no more mail should go to it.

    5.1.x (no such mailbox, bad domain...) and 5.2.1 (mailbox disabled) do. A full mailbox
    (5.2.2), a too-large message (5.3.4) or a policy or spam refusal (5.7.x) fail that one
    message but leave the address alone. SMTP replies and bounce reports share this rule.
    """
    return status.startswith("5.1.") or status == "5.2.1"


def enhanced_status(reply: str) -> str | None:
    """The RFC 3463 status of an SMTP reply ("RCPT: 550 5.1.1 No such user" -> "5.1.1"), if it gives one."""
    match = _ENHANCED.search(reply)
    return match.group(1) if match else None


class SendError(Exception):
    """A message the server did not accept; `permanent` for 5xx, else worth retrying later."""

    def __init__(
        self, reply: str, *, code: int | None = None, connection: bool = False, stage: str | None = None
    ) -> None:
        super().__init__(reply)
        self.reply = reply
        self.code = code
        # The SMTP command the reply answered ("MAIL", "RCPT", "DATA"), when there was one.
        self.stage = stage
        # A failure of the link rather than of this message: counts toward the circuit breaker.
        self.connection = connection

    @property
    def permanent(self) -> bool:
        return self.code is not None and 500 <= self.code < 600

    @property
    def bounced(self) -> bool:
        """A refusal of the address: 550/551/553, unless its enhanced status blames something else.

        After DATA only an enhanced status that blames the address (5.1.x, 5.2.1) counts: the
        recipient was already taken at RCPT, so a refusal of the message is far more often about
        its content (a spam filter's bare "550") than about the address.
        """
        if self.code not in BOUNCE_CODES:
            return False
        status = enhanced_status(self.reply)
        if status is None:
            return self.stage != "DATA"
        return address_gone(status)


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
