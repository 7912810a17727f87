"""A real SMTP server on loopback (aiosmtpd), scriptable per recipient and per attempt.

Actions, consumed one per attempt for a recipient (then "ok" forever):
  ok               accept (250)
  421              answer RCPT with 421 and close the connection
  451 / 552        answer the final "." with 451 (try later) / 552 (too big)
  452 / 550        answer RCPT with 452 (mailbox full, later) / 550 (no such user)
  drop-before-dot  close the connection in the middle of DATA
  drop-after-dot   read the whole message, then close without answering
  slow             wait `slow_s` seconds before answering the final "."
"""

from __future__ import annotations

import asyncio
import email
import logging
import socket
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from email.message import Message
from email.policy import default
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

# aiosmtpd logs every connection at INFO; the tests only care about what it received.
logging.getLogger("mail.log").setLevel(logging.WARNING)


@dataclass(frozen=True)
class Received:
    recipient: str
    message_id: str
    data: bytes

    def parsed(self) -> Message:
        return email.message_from_bytes(self.data, policy=default)


@dataclass
class ScriptedHandler:
    script: dict[str, list[str]] = field(default_factory=dict)
    slow_s: float = 2.0
    received: list[Received] = field(default_factory=list)
    unacknowledged: list[Received] = field(default_factory=list)
    attempts: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_action(self, recipient: str) -> str:
        with self.lock:
            self.attempts[recipient] += 1
            steps = self.script.get(recipient.lower())
            return steps.pop(0) if steps else "ok"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        action = self.next_action(address)
        envelope.scripted = action  # type: ignore[attr-defined]
        if action == "421":
            await server.push("421 4.3.2 Service shutting down")
            assert server.transport is not None
            server.transport.close()
            return "421 4.3.2 closing"
        if action == "452":
            return "452 4.2.2 Mailbox full, try later"
        if action == "550":
            return "550 5.1.1 No such user here"
        if action == "550-policy":
            return "550 5.7.1 Message refused by local policy"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        action = getattr(envelope, "scripted", "ok")
        data = envelope.original_content or b""
        msg = email.message_from_bytes(data, policy=default)
        item = Received(envelope.rcpt_tos[0], str(msg.get("Message-ID", "")), bytes(data))
        if action == "451":
            return "451 4.3.0 Temporary local problem, try later"
        if action == "552":
            return "552 5.3.4 Message too big"
        if action == "drop-after-dot":
            with self.lock:
                self.unacknowledged.append(item)
            assert server.transport is not None
            server.transport.close()
            return "250 never seen"
        if action == "slow":
            await asyncio.sleep(self.slow_s)
        with self.lock:
            self.received.append(item)
        return "250 2.0.0 OK queued"

    def by_recipient(self) -> dict[str, list[Received]]:
        grouped: dict[str, list[Received]] = defaultdict(list)
        for item in self.received:
            grouped[item.recipient].append(item)
        return grouped


class _ScriptedSMTP(SMTP):
    async def smtp_DATA(self, arg: str) -> None:
        if getattr(self.envelope, "scripted", "ok") == "drop-before-dot" and self.envelope.rcpt_tos:
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.readuntil(b"\r\n")
            assert self.transport is not None
            self.transport.close()
            return
        await super().smtp_DATA(arg)


class ScriptedController(Controller):
    running = False

    def factory(self) -> SMTP:
        return _ScriptedSMTP(self.handler, **self.SMTP_kwargs)

    def start(self) -> None:
        super().start()
        self.running = True

    def stop(self, no_assert: bool = False) -> None:
        # Idempotent: a test that takes the server down leaves the fixture nothing to stop.
        if self.running:
            self.running = False
            super().stop(no_assert=no_assert)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(handler: ScriptedHandler, **kwargs: Any) -> ScriptedController:
    controller = ScriptedController(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()
    return controller
