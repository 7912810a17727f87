"""The mail settings: [delivery] (who sends, and how), [smtp] (the relay) and [dkim] (signing)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.errors import MessageError
from email.headerregistry import Address

import idna

from newsletter.config_loader import ConfigError, bounded, check_range, secret

MAX_RETRY_MINUTES = 10_080.0  # a week, per retry of a deferred message
# Line breaks and other control characters: in a header they would end it early and start another.
HEADER_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# RFC 5322's dot-atom-text, what RFC 2919 builds a List-Id from ("papers.example.org").
DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def check_address(where: str, value: str) -> None:
    """ConfigError unless `value` is one bare address (local@domain) that the email headers can carry."""
    try:
        parsed = Address(addr_spec=value)
        whole = bool(parsed.username and parsed.domain) and parsed.addr_spec == value
        if whole and not parsed.domain.isascii():
            # As mail is addressed: a domain that has no IDNA form fails.
            idna.encode(parsed.domain, uts46=True)
    except (ValueError, IndexError, MessageError, UnicodeError):
        whole = False
    if not whole:
        raise ConfigError(f"{where}: must be an email address like papers@example.org, got {value!r}")


@dataclass(frozen=True)
class DeliverySettings:
    transport: str = "outbox"
    outbox: str = "outbox"
    from_address: str = "papers@newsletter.invalid"
    from_name: str = "Trending Papers"
    reply_to: str = ""
    list_id: str = "papers.newsletter.invalid"
    postal_line: str = "Sent by a self-hosted newsletter. Reply to this email to reach its operator."
    batch_size: int = bounded(50, 1, 10_000)
    retry_minutes: tuple[str, ...] = ("1", "5", "15", "60")
    retry_deadline_hours: float = bounded(24.0, 0.0, 720.0, above=True)
    max_connection_failures: int = bounded(5, 1, 1000)
    lease_s: int = bounded(300, 2, 86_400)
    admin_email: str = ""

    def validate(self) -> None:
        if self.transport not in ("outbox", "smtp"):
            raise ConfigError("delivery.transport: must be 'outbox' or 'smtp'")
        if not self.outbox.strip():
            raise ConfigError("delivery.outbox: name the folder for the outbox's files, such as 'outbox'")
        # Each goes into a header of every email (or is where alerts go): one that does not parse
        # would stop the first send with a traceback, or go out as a broken header.
        for name in ("from_address", "reply_to", "admin_email"):
            address = getattr(self, name)
            if address or name == "from_address":
                check_address(f"delivery.{name}", address)
        if HEADER_CONTROL.search(self.from_name):
            raise ConfigError("delivery.from_name: must not contain line breaks or other control characters")
        if not DOT_ATOM.fullmatch(self.list_id):
            raise ConfigError(
                f"delivery.list_id: {self.list_id!r} is not a List-Id; use a domain you control, "
                "like papers.example.org"
            )
        try:
            minutes = [float(m) for m in self.retry_minutes]
        except ValueError:
            raise ConfigError("delivery.retry_minutes: must be numbers of minutes") from None
        if not minutes:
            raise ConfigError("delivery.retry_minutes: give at least one positive number of minutes")
        for value in minutes:
            check_range("delivery.retry_minutes", value, 0.0, MAX_RETRY_MINUTES, above=True)

    @property
    def retry_delays(self) -> tuple[float, ...]:
        """The backoff schedule in seconds."""
        return tuple(float(m) * 60 for m in self.retry_minutes)


LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")
MIN_RATE = 0.01  # messages per second, when rate_per_s limits at all: one each 100 s
MAX_RATE = 1000.0


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "localhost"
    port: int = bounded(587, 1, 65535)
    security: str = "starttls"
    pool_size: int = bounded(4, 1, 64)
    timeout_s: float = bounded(30.0, 0.0, 600.0, above=True)
    rate_per_s: float = bounded(0.0, 0.0, MAX_RATE)
    user: str = secret()
    password: str = secret()

    def validate(self) -> None:
        if not self.host or any(c.isspace() for c in self.host):
            # An empty host deferred every message as "cannot connect to :587" and stopped the send (exit 5).
            raise ConfigError(
                f"smtp.host: {self.host!r} is not a host name; name the relay, like smtp.example.org"
            )
        if self.security not in ("starttls", "ssl", "none"):
            raise ConfigError("smtp.security: must be 'starttls', 'ssl' or 'none'")
        if self.security == "none" and self.host not in LOCAL_HOSTS:
            raise ConfigError(
                f"smtp.security = 'none' is allowed only for localhost, not {self.host!r}: "
                "mail would cross the network in plaintext"
            )
        if 0 < self.rate_per_s < MIN_RATE:  # a pause of years between two messages, or an overflow
            raise ConfigError(
                f"smtp.rate_per_s: must be 0 (no limit) or between {MIN_RATE:g} and {MAX_RATE:g}, "
                f"got {self.rate_per_s}"
            )


@dataclass(frozen=True)
class DkimSettings:
    key_path: str = ""  # PEM RSA private key; "" leaves DKIM signing off
    selector: str = ""
    domain: str = ""  # the d= domain; "" means the domain of delivery.from_address

    def validate(self) -> None:
        # The key file itself is read and checked once at startup, by app.build_dkim (newsletter/dkim.py).
        if self.key_path and not self.selector:
            raise ConfigError(
                "dkim.selector: required when dkim.key_path is set "
                "(the public key is published at <selector>._domainkey.<domain>)"
            )
        for name in ("selector", "domain"):
            value = getattr(self, name)
            if value and (any(c.isspace() for c in value) or "@" in value):
                raise ConfigError(f"dkim.{name}: {value!r} is not a DNS name")
