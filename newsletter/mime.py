"""MIME bytes of one digest: multipart/alternative, UTF-8, with the list headers of RFC 2369 and 8058."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from newsletter.render import RenderedEmail


@dataclass(frozen=True, slots=True)
class Sender:
    """Who the digest comes from, from [delivery] settings."""

    address: str
    name: str
    reply_to: str
    list_id: str


def ascii_address(address: str) -> str:
    """The address with an internationalised domain in its IDNA (xn--) form, for SMTP."""
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}"


def address_header(address: str, name: str = "") -> Address:
    """A header Address built by the email library (never by string concatenation)."""
    local, _, domain = ascii_address(address).rpartition("@")
    return Address(display_name=name, username=local, domain=domain)


def message_id(issue_date: str, subscriber_id: int, sender: Sender) -> str:
    """Deterministic per (issue, subscriber): a retry reuses it, so receivers can deduplicate."""
    domain = sender.address.rpartition("@")[2] or "localhost"
    return f"<digest.{issue_date}.{subscriber_id}@{domain}>"


def build_message(
    rendered: RenderedEmail,
    *,
    to: str,
    message_id: str,
    date: datetime,
    unsubscribe_url: str,
    sender: Sender,
) -> bytes:
    """The message as bytes ready for DATA; every header value is built by the email library."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = address_header(sender.address, sender.name)
    if sender.reply_to:
        msg["Reply-To"] = address_header(sender.reply_to)
    msg["To"] = address_header(to)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(date)
    msg["Message-ID"] = message_id
    msg["List-Id"] = f"{sender.name} <{sender.list_id}>"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(rendered.text, subtype="plain", charset="utf-8")
    msg.add_alternative(rendered.html, subtype="html", charset="utf-8")
    return msg.as_bytes()
