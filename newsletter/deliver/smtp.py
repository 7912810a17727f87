"""The SMTP transport: a small pool of reused connections, TLS that never falls back to plaintext."""

from __future__ import annotations

import logging
import queue
import smtplib
import ssl
import threading
import time
from collections.abc import Callable

from newsletter.config import SmtpSettings
from newsletter.deliver import Accepted, SendError, TransportUnusable

log = logging.getLogger(__name__)


class _Pacer:
    """Spaces sends so that all connections together stay under `rate` messages per second."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()
        self._clock = clock

    def wait(self) -> None:
        if not self._interval:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._interval
        if slot > now:
            time.sleep(slot - now)


class SmtpTransport:
    """Sends over up to `pool_size` open connections; each thread borrows one per message."""

    def __init__(self, settings: SmtpSettings, ssl_context: ssl.SSLContext | None = None) -> None:
        self._settings = settings
        self._context = ssl_context or ssl.create_default_context()
        self._idle: queue.LifoQueue[smtplib.SMTP] = queue.LifoQueue()
        self._pacer = _Pacer(settings.rate_per_s)

    def _connect(self) -> smtplib.SMTP:
        s = self._settings
        try:
            if s.security == "ssl":
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_s, context=self._context
                )
            else:
                conn = smtplib.SMTP(s.host, s.port, timeout=s.timeout_s)
            conn.ehlo()
            if s.security == "starttls":
                if not conn.has_extn("starttls"):
                    conn.close()
                    raise TransportUnusable(
                        f"{s.host}:{s.port} does not offer STARTTLS; refusing to send in plaintext"
                    )
                conn.starttls(context=self._context)
                conn.ehlo()
            if s.user:
                conn.login(s.user, s.password)
        except ssl.SSLError as exc:
            raise TransportUnusable(f"TLS with {s.host}:{s.port} failed: {exc}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise TransportUnusable(f"{s.host}:{s.port} refused our login: {exc.smtp_code}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendError(f"cannot connect to {s.host}:{s.port}: {exc}", connection=True) from None
        return conn

    def _borrow(self) -> smtplib.SMTP:
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return self._connect()

    def send(self, sender: str, recipient: str, message: bytes, message_id: str) -> Accepted:
        """One SMTP transaction; the connection goes back to the pool unless it broke."""
        self._pacer.wait()
        conn = self._borrow()
        try:
            reply = self._transaction(conn, sender, recipient, message)
        except SendError as exc:
            if exc.connection:
                _close_quietly(conn)
            else:
                self._reset(conn)
            raise
        except TransportUnusable:
            # The run stops: the connection is not wanted again.
            _close_quietly(conn)
            raise
        self._idle.put(conn)
        return reply

    def _transaction(self, conn: smtplib.SMTP, sender: str, recipient: str, message: bytes) -> Accepted:
        try:
            code, text = conn.mail(sender)
            if 500 <= code < 600:
                # A refusal of the sender (an unknown domain, no login), not of this reader: every
                # message would meet it, so the run stops with the rest queued, and nobody is bounced.
                s = self._settings
                raise TransportUnusable(f"{s.host}:{s.port} refuses our sender: MAIL: {code} {_text(text)}")
            if code != 250:
                raise _reply_error("MAIL", code, text)
            code, text = conn.rcpt(recipient)
            if code not in (250, 251):
                raise _reply_error("RCPT", code, text)
            code, text = conn.data(message)
            if code != 250:
                raise _reply_error("DATA", code, text)
        except smtplib.SMTPResponseException as exc:
            raise _reply_error("DATA", exc.smtp_code, exc.smtp_error) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            raise SendError(f"connection lost: {exc or type(exc).__name__}", connection=True) from None
        return Accepted(f"{code} {_text(text)}")

    def _reset(self, conn: smtplib.SMTP) -> None:
        # After a refused transaction, RSET before the connection carries another message.
        try:
            conn.rset()
        except (smtplib.SMTPException, OSError):
            _close_quietly(conn)
            return
        self._idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                _close_quietly(conn)


def _text(raw: bytes | str) -> str:
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw


def _reply_error(stage: str, code: int, text: bytes | str) -> SendError:
    # 421 means the server is closing the channel: a failure of the link, not of this message.
    return SendError(f"{stage}: {code} {_text(text)}", code=code, connection=code == 421, stage=stage)


def _close_quietly(conn: smtplib.SMTP) -> None:
    try:
        conn.close()
    except OSError:
        log.debug("smtp: closing a broken connection failed")
