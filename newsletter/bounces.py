"""Bounces: read RFC 3464 delivery status notifications and suppress addresses that hard-bounced."""

from __future__ import annotations

import email
import logging
import mailbox
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header, decode_header
from email.message import Message
from email.policy import compat32
from pathlib import Path

from newsletter.deliver import address_gone
from newsletter.models import counted
from newsletter.store import Store
from newsletter.subscribers import email_key

log = logging.getLogger(__name__)


class BounceFileError(Exception):
    """A bounce file that cannot be read at all."""


@dataclass(frozen=True, slots=True)
class Notice:
    """One recipient's line of a delivery status notification."""

    recipient: str
    action: str
    status: str

    @property
    def hard(self) -> bool:
        """A failure that condemns the address (see `address_gone`); a full mailbox is soft."""
        return self.action == "failed" and address_gone(self.status)


@dataclass
class BounceReport:
    """What an import found and did, for the count line."""

    messages: int = 0
    not_dsn: int = 0
    hard: list[str] = field(default_factory=list)
    soft: list[str] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"bounces: {counted(self.messages, 'message')}, "
            f"{counted(self.not_dsn, 'not a delivery report', 'not delivery reports')}, "
            f"{len(self.hard)} hard, {len(self.soft)} soft, "
            f"{counted(len(self.suppressed), 'address', 'addresses')} suppressed, "
            f"{counted(len(self.unknown), 'not a subscriber', 'not subscribers')}"
        )


def notices(message: Message) -> list[Notice]:
    """The per-recipient fields of a multipart/report; report-type=delivery-status, else []."""
    if message.get_content_type() != "multipart/report":
        return []
    if str(message.get_param("report-type", "")).lower() != "delivery-status":
        return []
    found: list[Notice] = []
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if not isinstance(blocks, list):
            continue
        # The first block holds the per-message fields (Reporting-MTA); each next one a recipient.
        for block in blocks[1:]:
            if not isinstance(block, Message):
                continue
            recipient = _address(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            if recipient:
                action = str(block.get("Action", "")).strip().lower()
                status = str(block.get("Status", "")).strip().split(" ")[0]
                found.append(Notice(recipient, action, status))
    return found


def _address(field_value: str | Header) -> str:
    """The address of a recipient field, in Unicode however the report wrote it.

    "rfc822; ada@example.org" (RFC 3464 address-type; address); an internationalised domain comes in
    IDNA (xn--) there, which `email_key` matches to the Unicode one. RFC 6533's "utf-8; dorte@exämple.de"
    is raw UTF-8, or escaped as "dorte@ex\\x{E4}mple.de".
    """
    kind, _, address = _field_text(field_value).partition(";")
    address = (address or kind).strip().strip("<>")
    if kind.strip().lower() == "utf-8":
        address = _UTF8_ESCAPE.sub(_unescape, address)
    return address


def _field_text(value: str | Header) -> str:
    """A field's text; compat32 keeps one with raw 8-bit bytes as a Header, whose bytes are read as UTF-8."""
    if not isinstance(value, Header):
        return str(value)
    return "".join(
        chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
        for chunk, _ in decode_header(value)
    )


# RFC 6533 utf-8-addr-xtext: a code point as \x{HEX}, 2 to 6 hex digits.
_UTF8_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{2,6})\}")


def _unescape(match: re.Match[str]) -> str:
    code = int(match[1], 16)
    valid = 0x80 <= code <= 0x10FFFF and not 0xD800 <= code <= 0xDFFF
    return chr(code) if valid else match[0]


def read_mbox(path: Path) -> Iterable[Message]:
    """The messages of an mbox file, or the one message of a saved email (.eml).

    An mbox starts with a "From " line; anything else must parse as one message with headers.
    An empty file holds no messages. Checked before the first message is yielded, so a file
    that is neither is refused before anything is acted on.
    """
    if not path.is_file():
        raise BounceFileError(f"{path}: no such file")
    with path.open("rb") as handle:
        start = handle.read(5 + len(BOM))
    if start.startswith(BOM):  # saved by an editor that marks UTF-8: read as an upload, mark dropped
        return read_upload(path.read_bytes(), str(path))
    start = start[:5]
    if start and start != b"From ":
        return [read_message(path.read_bytes(), str(path))]
    return _mbox_messages(path)


BOM = b"\xef\xbb\xbf"  # the UTF-8 byte order mark some editors write first


def read_upload(raw: bytes, name: str) -> list[Message]:
    """The messages of uploaded bytes: an mbox (every message in it) or one saved email.

    The mbox is read by the mailbox module, which needs a file: the bytes go to a temporary one.
    """
    raw = raw.removeprefix(BOM)
    if not raw.startswith(b"From "):
        return [read_message(raw, name)]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.mbox"
        path.write_bytes(raw)
        return list(_mbox_messages(path))


# Every email carries some of these; "{"a": 1}" parses as a header named '{"a"', and is no email.
MAIL_HEADERS = frozenset(
    {"from", "to", "date", "subject", "message-id", "content-type", "mime-version", "received", "return-path"}
)


def read_message(raw: bytes, name: str) -> Message:
    """One saved email from its bytes; BounceFileError (naming `name`) if they are not one."""
    message = email.message_from_bytes(raw, policy=compat32)
    if not MAIL_HEADERS & {key.lower() for key in message}:
        raise BounceFileError(f"{name}: neither an mbox file nor an email message")
    return message


def _mbox_messages(path: Path) -> Iterable[Message]:
    box = mailbox.mbox(path, create=False)
    try:
        yield from box
    finally:
        box.close()


def apply_bounces(store: Store, messages: Iterable[Message], now: datetime) -> BounceReport:
    """Suppress every address that hard-bounced; soft bounces are counted, never acted on."""
    report = BounceReport()
    for message in messages:
        report.messages += 1
        found = notices(message)
        if not found:
            report.not_dsn += 1
            continue
        for notice in found:
            if notice.action not in ("failed", "delayed"):
                continue  # delivered, relayed or expanded: a success report, not a bounce
            (report.hard if notice.hard else report.soft).append(notice.recipient)
            if not notice.hard:
                continue
            sub = store.subscribers.by_email(notice.recipient)
            if sub is None:
                report.unknown.append(notice.recipient)
            elif sub.status in ("active", "pending") or (sub.status == "unsubscribed" and sub.request):
                # An unsubscribed reader who signed up again was mailed a confirmation link: the
                # bounce is most likely that email's, and the address cannot take the digests asked for.
                store.subscribers.set_status(sub.id, "bounced", now)
                report.suppressed.append(email_key(sub.email))
                log.warning(
                    "bounces: %s hard-bounced (%s); no more mail goes to it", sub.email, notice.status
                )
    return report
