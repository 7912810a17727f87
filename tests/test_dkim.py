"""DKIM signing of real digests, checked by dkimpy's own verifier against a stub DNS (no network): what the
signature covers, that tampering breaks it while relays' refolding and SMTP dot-stuffing do not, that the
signing transport signs what it hands on, and what signing costs.
"""

from __future__ import annotations

import email
import re
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from dkim.util import parse_tag_value  # type: ignore[import-untyped]

from newsletter.config import SmtpSettings
from newsletter.deliver.outbox import OutboxTransport
from newsletter.deliver.smtp import SmtpTransport
from newsletter.dkim import SIGNED_HEADERS, DkimSigner, DkimTransport
from newsletter.render import Masthead
from tests import dkim_support
from tests.digests import CASES, MASTHEAD, SENDER, build
from tests.dkim_support import (
    DOMAIN,
    MODERN,
    NOW,
    SELECTOR,
    Keys,
    Resolver,
    dns,
    make_keys,
    verifies,
)
from tests.dkim_support import OPENSSL as OPENSSL  # test_email_dkim_domains.py takes it from here
from tests.smtp_server import ScriptedHandler, start_server

# Without openssl there are no keys to test with; the fixtures are those of the module that holds them.
pytestmark = dkim_support.pytestmark
keys = dkim_support.keys
resolver = dkim_support.resolver


@pytest.fixture(scope="module")
def signer(keys: Keys) -> DkimSigner:
    return DkimSigner(SELECTOR, DOMAIN, keys.private_pem)


@pytest.fixture(scope="module")
def digest() -> bytes:
    return build(MODERN, NOW)


@pytest.fixture(scope="module")
def signed(signer: DkimSigner, digest: bytes) -> bytes:
    return signer.sign(digest)


def signature_tags(message: bytes) -> dict[bytes, bytes]:
    parsed = email.message_from_bytes(message)
    value = parsed["DKIM-Signature"]
    assert value is not None
    tags: dict[bytes, bytes] = parse_tag_value(value.encode("ascii"))
    return tags


def test_a_signed_digest_verifies(signed: bytes, digest: bytes, resolver: Resolver) -> None:
    assert signed.startswith(b"DKIM-Signature: ") and signed.endswith(digest)
    assert verifies(signed, resolver)
    tags = signature_tags(signed)
    assert tags[b"d"] == DOMAIN.encode() and tags[b"s"] == SELECTOR.encode()
    assert tags[b"a"] == b"rsa-sha256"
    assert tags[b"c"] == b"relaxed/relaxed"
    assert b"l" not in tags  # no body length limit: nothing can be appended under our signature
    assert all(len(line) <= 998 for line in signed.split(b"\r\n"))


def test_the_signature_covers_the_headers_that_matter(signed: bytes) -> None:
    signed_names = [name.strip().lower() for name in signature_tags(signed)[b"h"].split(b":")]
    required = [
        "From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe", "List-Unsubscribe-Post",
        "List-Id", "MIME-Version", "Content-Type",
    ]  # fmt: skip
    for name in required:
        # Twice: once for our header, once as a null instance that forbids adding another.
        assert signed_names.count(name.lower().encode()) == 2, name
    assert {n.lower() for n in SIGNED_HEADERS} >= {n.lower() for n in required}


def body_offset(message: bytes) -> int:
    return message.index(b"\r\n\r\n") + 4


def replace_header(message: bytes, name: bytes, value: bytes) -> bytes:
    pattern = re.compile(rb"^(" + re.escape(name) + rb":)[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", re.MULTILINE)
    changed, count = pattern.subn(lambda m: m[1] + b" " + value, message, count=1)
    assert count == 1, name
    return changed


def flip_body_byte(message: bytes) -> bytes:
    at = message.index(b"arXiv", body_offset(message))
    return message[:at] + b"arXiV" + message[at + 5 :]


def prepend_header(message: bytes, line: bytes) -> bytes:
    # Above the signature, where a header added in transit would go.
    return line + b"\r\n" + message


TAMPERING: dict[str, Callable[[bytes], bytes]] = {
    "subject": lambda m: replace_header(m, b"Subject", b"You won a prize"),
    "list-unsubscribe": lambda m: replace_header(
        m, b"List-Unsubscribe", b"<https://evil.example/unsubscribe/eyJzIjo3>"
    ),
    "list-unsubscribe-post": lambda m: replace_header(m, b"List-Unsubscribe-Post", b"List-Unsubscribe=No"),
    "to": lambda m: replace_header(m, b"To", b"someone.else@example.com"),
    "one body byte": flip_body_byte,
    "a second subject added": lambda m: prepend_header(m, b"Subject: Urgent: verify your account"),
    "a second list-unsubscribe added": lambda m: prepend_header(
        m, b"List-Unsubscribe: <https://evil.example/u>"
    ),
    "a reply-to added": lambda m: prepend_header(m, b"Reply-To: phisher@evil.example"),
    "a line appended to the body": lambda m: m + b"Click https://evil.example now\r\n",
}


@pytest.mark.parametrize("change", list(TAMPERING), ids=list(TAMPERING))
def test_tampering_breaks_the_signature(change: str, signed: bytes, resolver: Resolver) -> None:
    tampered = TAMPERING[change](signed)
    assert tampered != signed
    assert not verifies(tampered, resolver)


def test_relaxed_canonicalization_survives_refolding_by_relays(signed: bytes, resolver: Resolver) -> None:
    # Relays refold long headers and change whitespace; relaxed/relaxed is chosen so that this still verifies.
    refolded = re.sub(rb"^Subject: ", b"Subject:  \r\n\t", signed, count=1, flags=re.MULTILINE)
    assert refolded != signed
    assert verifies(refolded, resolver)


def test_the_wrong_key_in_dns_fails(signed: bytes, tmp_path: Path) -> None:
    other = make_keys(tmp_path)
    assert not verifies(
        signed, dns({f"{SELECTOR}._domainkey.{DOMAIN}": f"v=DKIM1; k=rsa; p={other.public_b64}"})
    )
    assert not verifies(signed, dns({}))  # no record at all


def test_signed_bytes_parse_to_the_same_message(signed: bytes, digest: bytes) -> None:
    before = email.message_from_bytes(digest, policy=default)
    after = email.message_from_bytes(signed, policy=default)
    assert isinstance(before, EmailMessage) and isinstance(after, EmailMessage)
    assert list(after.keys()) == ["DKIM-Signature", *before.keys()]
    for name in before:
        assert str(after[name]) == str(before[name]), name
    assert after.get_content_type() == before.get_content_type() == "multipart/alternative"
    for mine, theirs in zip(after.iter_parts(), before.iter_parts(), strict=True):
        assert isinstance(mine, EmailMessage) and isinstance(theirs, EmailMessage)
        assert mine.get_content_type() == theirs.get_content_type()
        assert mine.get_content() == theirs.get_content()


@pytest.fixture
def smtp() -> Iterator[tuple[ScriptedHandler, int]]:
    handler = ScriptedHandler()
    controller = start_server(handler)
    yield handler, controller.port
    controller.stop()


def test_dot_stuffing_in_smtp_leaves_the_signature_intact(
    signer: DkimSigner, resolver: Resolver, smtp: tuple[ScriptedHandler, int]
) -> None:
    # A text-part line that starts with "." is sent as ".." by smtplib and unstuffed by the server; DKIM
    # signs the unstuffed message, so the signature must hold across the real SMTP transport.
    dotted = Masthead(MASTHEAD.brand, ".org address: Example Papers Ltd, 1 Main Street, Springfield")
    digest = build(MODERN, NOW, masthead=dotted)
    signed = signer.sign(digest)
    assert b"\r\n.org address" in signed  # the line that gets stuffed is really there
    handler, port = smtp
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=port, security="none", timeout_s=10))
    try:
        transport.send(SENDER.address, "reader7@example.org", signed, "<m@example.org>")
    finally:
        transport.close()
    [received] = handler.received
    assert received.data == signed
    assert verifies(received.data, resolver)


def test_the_signing_transport_signs_what_it_hands_on(
    signer: DkimSigner, digest: bytes, resolver: Resolver, tmp_path: Path
) -> None:
    outbox = OutboxTransport(tmp_path / "outbox")
    DkimTransport(outbox, signer).send(SENDER.address, "reader7@example.org", digest, "<m@example.org>")
    written = outbox.path_for("<m@example.org>").read_bytes()
    assert written.startswith(b"DKIM-Signature: ") and written.endswith(digest)
    assert verifies(written, resolver)


def test_every_case_verifies(signer: DkimSigner, resolver: Resolver) -> None:
    for case in CASES:
        assert verifies(signer.sign(build(case, NOW)), resolver), case.name


def test_signing_cost_per_message(signer: DkimSigner, resolver: Resolver) -> None:
    digest = build(CASES[1], NOW)  # the 2024-05-29 digest: about 35 KB
    rounds = 20
    started = time.perf_counter()
    for _ in range(rounds):
        signer.sign(digest)
    cost = (time.perf_counter() - started) / rounds
    size = len(digest) / 1024
    print(f"\nDKIM rsa-sha256 ({signer.bits}-bit), {size:.1f} KiB digest: {cost * 1e6:.0f} µs a message")
    # Loose: a guard against an accidental order-of-magnitude slowdown, not a benchmark.
    assert cost < 0.1
