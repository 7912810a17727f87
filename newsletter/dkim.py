"""DKIM signing (RFC 6376) of the bytes we send, with dkimpy; off unless [dkim] names a key file."""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path
from typing import Protocol

import dkim  # type: ignore[import-untyped]
import idna
from dkim.crypto import (  # type: ignore[import-untyped]
    RSASSA_PKCS1_v1_5_sign,
    RSASSA_PKCS1_v1_5_verify,
    UnparsableKeyError,
    parse_pem_private_key,
)

from newsletter.config import ConfigError
from newsletter.deliver import Accepted, Transport

log = logging.getLogger(__name__)

# What a receiver must be able to trust: sender, recipient, subject, date, identity, and the RFC 8058
# one-click unsubscribe (Gmail and Yahoo require List-Unsubscribe and List-Unsubscribe-Post to be signed).
SIGNED_HEADERS = (
    "From",
    "Reply-To",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
    "MIME-Version",
    "Content-Type",
)
# Each name is listed twice: the second instance is a null one, so a copy added in transit (a second
# Subject or List-Unsubscribe above ours, which a mail client might show or follow) breaks the signature
# instead of riding along (RFC 6376 section 8.15). A missing header (Reply-To when unset) signs as null too.
_INCLUDE = tuple(name.lower().encode("ascii") for name in SIGNED_HEADERS for _ in range(2))
# relaxed/relaxed survives the re-folding and whitespace changes that relays make; simple does not.
_CANONICALIZE = (b"relaxed", b"relaxed")
# Verifiers (dkimpy's default, Gmail) refuse RSA keys under 1024 bits; 2048 is the usual size.
MIN_KEY_BITS = 1024
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


class DkimError(ConfigError):
    """A DKIM key or setting that cannot be used; the message says which and why."""


class DkimSettings(Protocol):
    """The [dkim] settings the loader reads (config.DkimSettings)."""

    @property
    def key_path(self) -> str: ...

    @property
    def selector(self) -> str: ...

    @property
    def domain(self) -> str: ...


def dns_name(value: str) -> bool:
    """Whether `value` is a DNS name of letters, digits, hyphens and underscores (ASCII labels)."""
    return 0 < len(value) <= 253 and all(_LABEL.fullmatch(label) for label in value.split("."))


def ascii_domain(domain: str, where: str = "dkim.domain") -> str:
    """The domain in its ASCII (IDNA, xn--) form, as DNS and the d= tag need it."""
    domain = domain.strip().rstrip(".")
    try:
        if domain.isascii():
            # The codec only checks the labels' lengths here: an ASCII name is its own IDNA form.
            return domain.encode("idna").decode("ascii").lower()
        # IDNA 2008 with UTS 46, as mime.py writes the From header's domain: Python's "idna" codec is
        # IDNA 2003, which signs straße.de as strasse.de, a domain DMARC would not align with the From.
        return idna.encode(domain, uts46=True).decode("ascii").lower()
    except UnicodeError:
        raise DkimError(f"{where}: {domain!r} is not a valid domain name") from None


class DkimSigner:
    """Prepends a DKIM-Signature (rsa-sha256, relaxed/relaxed) to each message; safe to share by threads."""

    def __init__(self, selector: str, domain: str, private_key_pem: bytes) -> None:
        self.selector = selector.strip()
        self.domain = ascii_domain(domain)
        if not dns_name(self.selector):
            raise DkimError(f"dkim.selector: {selector!r} is not a DNS label like 's2025' or 'mail'")
        if not dns_name(self.domain):
            raise DkimError(f"dkim.domain: {domain!r} is not a DNS name like 'example.org'")
        # dkimpy's PEM reader only accepts LF line ends; a key saved on Windows has CRLF.
        self._pem = private_key_pem.replace(b"\r\n", b"\n")
        self.bits = _checked_key_bits(self._pem)
        self._selector = self.selector.encode("ascii")
        self._domain = self.domain.encode("ascii")

    @property
    def record_name(self) -> str:
        """The DNS name whose TXT record holds the public key: <selector>._domainkey.<domain>."""
        return f"{self.selector}._domainkey.{self.domain}"

    def sign(self, message: bytes) -> bytes:
        """`message` (CRLF lines, as sent) with its DKIM-Signature header prepended."""
        # dkimpy parses the PEM again on each call (about 0.1 ms); its API takes no parsed key.
        header: bytes = dkim.sign(
            message,
            self._selector,
            self._domain,
            self._pem,
            canonicalize=_CANONICALIZE,
            include_headers=list(_INCLUDE),
        )
        return header + message


def _checked_key_bits(pem: bytes) -> int:
    """The key's size in bits, after checking that it is an RSA private key that signs correctly."""
    if b"ENCRYPTED" in pem:
        raise DkimError("dkim.key_path: the key is encrypted; give an unencrypted PEM key (chmod 600 it)")
    if b"PUBLIC KEY-----" in pem and b"PRIVATE KEY-----" not in pem:
        raise DkimError(
            "dkim.key_path: this is a public key; the private key goes here, the public one in DNS"
        )
    try:
        key = parse_pem_private_key(pem)
    except (UnparsableKeyError, ValueError, IndexError, KeyError, TypeError):
        raise DkimError(
            "dkim.key_path: not an RSA private key in PEM form (PKCS#1 'BEGIN RSA PRIVATE KEY' "
            "or PKCS#8 'BEGIN PRIVATE KEY')"
        ) from None
    bits = int(key["modulus"]).bit_length()
    if bits < MIN_KEY_BITS:
        raise DkimError(
            f"dkim.key_path: a {bits}-bit key is too short; receivers need >= {MIN_KEY_BITS} (use 2048)"
        )
    # Sign and verify once: a damaged key that still parses would otherwise make every signature invalid,
    # which receivers treat worse than no signature at all.
    digest = hashlib.sha256(b"newsletter dkim key check")
    try:
        valid = RSASSA_PKCS1_v1_5_verify(digest, bytes(RSASSA_PKCS1_v1_5_sign(digest, key)), key)
    except (ValueError, ArithmeticError, KeyError, TypeError):
        valid = False
    if not valid:
        raise DkimError("dkim.key_path: the RSA key is damaged: its signatures do not verify")
    return bits


def load_signer(settings: DkimSettings, from_address: str) -> DkimSigner | None:
    """The signer [dkim] describes, or None when key_path is empty; the key file is read here, once."""
    if not settings.key_path:
        return None
    if not settings.selector:
        raise DkimError(
            "dkim.selector: required when dkim.key_path is set (the TXT record's name starts with it)"
        )
    from_domain = ascii_domain(from_address.rpartition("@")[2], "delivery.from_address")
    path = Path(settings.key_path).expanduser()
    try:
        pem = path.read_bytes()
    except FileNotFoundError:
        raise DkimError(f"dkim.key_path: no such file: {path}") from None
    except IsADirectoryError:
        raise DkimError(f"dkim.key_path: {path} is a folder, not a key file") from None
    except OSError as exc:
        raise DkimError(f"dkim.key_path: cannot read {path}: {exc.strerror or exc}") from None
    signer = DkimSigner(settings.selector, settings.domain or from_domain, pem)
    if from_domain != signer.domain and not from_domain.endswith("." + signer.domain):
        # A d= that is the From domain or a parent of it always aligns for DMARC. Any other d= aligns only
        # when both share an organizational domain (mail.example.org for papers@example.org does), which
        # takes the Public Suffix List to tell: so this warns instead of refusing.
        log.warning(
            "dkim: signing domain %s may not align with the From domain %s; DMARC may not pass",
            signer.domain,
            from_domain,
        )
    log.info("dkim: signing as %s (%d-bit RSA)", signer.record_name, signer.bits)
    return signer


class DkimTransport:
    """A Transport that signs each message, then hands it to `inner`: every email we send gets signed."""

    def __init__(self, inner: Transport, signer: DkimSigner) -> None:
        self.inner = inner
        self.signer = signer

    def send(self, sender: str, recipient: str, message: bytes, message_id: str) -> Accepted:
        """Sign `message` and send it through the wrapped transport."""
        return self.inner.send(sender, recipient, self.signer.sign(message), message_id)

    def close(self) -> None:
        """Close the wrapped transport."""
        self.inner.close()
