"""DKIM signing of real digests, checked by dkimpy's own verifier against a stub DNS (no network)."""

from __future__ import annotations

import base64
import email
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import dkim  # type: ignore[import-untyped]
import pytest
from dkim.util import parse_tag_value  # type: ignore[import-untyped]

from newsletter.config import ConfigError, SmtpSettings
from newsletter.deliver.outbox import OutboxTransport
from newsletter.deliver.smtp import SmtpTransport
from newsletter.dkim import SIGNED_HEADERS, DkimError, DkimSigner, DkimTransport, load_signer
from newsletter.render import Masthead
from tests.digests import CASES, MASTHEAD, SENDER, build
from tests.smtp_server import ScriptedHandler, start_server

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(
    OPENSSL is None, reason="the openssl command makes the test keys: apt-get install openssl"
)
SELECTOR, DOMAIN = "s2025", "example.org"
NOW = datetime(2025, 10, 3, 7, 0, tzinfo=UTC)
MODERN = CASES[0]
Resolver = Callable[..., bytes | None]


@dataclass(frozen=True)
class Keys:
    """An RSA key pair made by openssl, as the operator would make one."""

    private_pem: bytes  # PKCS#8, what OpenSSL 3 writes by default
    path: Path
    public_b64: str  # SubjectPublicKeyInfo DER in base64: the p= tag of the DNS record


def openssl(*args: str) -> bytes:
    assert OPENSSL is not None
    return subprocess.run([OPENSSL, *args], capture_output=True, check=True, timeout=60).stdout


def make_keys(folder: Path, bits: int = 2048, *extra: str) -> Keys:
    path = folder / f"dkim-{bits}{''.join(extra)}.pem"
    openssl("genrsa", *extra, "-out", str(path), str(bits))
    public = openssl("rsa", "-in", str(path), "-pubout", "-outform", "DER")
    return Keys(path.read_bytes(), path, base64.b64encode(public).decode("ascii"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return make_keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def signer(keys: Keys) -> DkimSigner:
    return DkimSigner(SELECTOR, DOMAIN, keys.private_pem)


def dns(records: dict[str, str]) -> Resolver:
    """A stub for dkimpy's TXT lookup: `records` by name, None (NXDOMAIN) for any other name."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records[key].encode("ascii") if (key := name.decode("ascii").rstrip(".")) in records else None

    return lookup


@pytest.fixture(scope="module")
def resolver(keys: Keys) -> Resolver:
    return dns({f"{SELECTOR}._domainkey.{DOMAIN}": f"v=DKIM1; k=rsa; p={keys.public_b64}"})


@pytest.fixture(scope="module")
def digest() -> bytes:
    return build(MODERN, NOW)


@pytest.fixture(scope="module")
def signed(signer: DkimSigner, digest: bytes) -> bytes:
    return signer.sign(digest)


def verifies(message: bytes, resolver: Resolver) -> bool:
    return bool(dkim.verify(message, dnsfunc=resolver))


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


# The loader: settings values in, a signer (or None) out, with one clear line for each way it can go wrong.


@dataclass(frozen=True)
class Settings:
    key_path: str = ""
    selector: str = SELECTOR
    domain: str = ""


def test_no_key_path_means_no_signing() -> None:
    assert load_signer(Settings(key_path=""), "papers@example.org") is None


def test_the_loader_defaults_the_domain_to_the_from_address(keys: Keys, resolver: Resolver) -> None:
    loaded = load_signer(Settings(key_path=str(keys.path)), "papers@example.org")
    assert loaded is not None
    assert loaded.domain == DOMAIN and loaded.record_name == f"{SELECTOR}._domainkey.{DOMAIN}"
    assert loaded.bits == 2048
    assert verifies(loaded.sign(build(MODERN, NOW)), resolver)


def test_an_internationalised_domain_is_signed_in_its_ascii_form(keys: Keys) -> None:
    loaded = load_signer(Settings(key_path=str(keys.path)), "papers@münchen.de")
    assert loaded is not None and loaded.domain == "xn--mnchen-3ya.de"


def test_a_pkcs1_key_and_crlf_line_ends_both_load(tmp_path: Path) -> None:
    pkcs1 = make_keys(tmp_path, 2048, "-traditional")
    assert pkcs1.private_pem.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    crlf = tmp_path / "crlf.pem"
    crlf.write_bytes(pkcs1.private_pem.replace(b"\n", b"\r\n"))
    record = dns({f"{SELECTOR}._domainkey.{DOMAIN}": f"v=DKIM1; k=rsa; p={pkcs1.public_b64}"})
    for path in (pkcs1.path, crlf):
        loaded = load_signer(Settings(key_path=str(path)), "papers@example.org")
        assert loaded is not None
        assert verifies(loaded.sign(build(MODERN, NOW)), record)


def broken_keys(folder: Path, good: Keys) -> dict[str, tuple[Path, str]]:
    """Key files that must be refused, with what the error must say."""
    files = {
        "missing": (folder / "nope.pem", "no such file"),
        "a folder": (folder, "is a folder"),
        "not a key": (folder / "notes.txt", "not an RSA private key"),
        "a public key": (folder / "public.pem", "this is a public key"),
        "truncated": (folder / "truncated.pem", "not an RSA private key"),
        "encrypted": (folder / "encrypted.pem", "encrypted"),
    }
    files["not a key"][0].write_text("selector s2025 for example.org\n")
    files["a public key"][0].write_bytes(openssl("rsa", "-in", str(good.path), "-pubout"))
    files["truncated"][0].write_bytes(good.private_pem[:300] + b"\n-----END PRIVATE KEY-----\n")
    openssl("genrsa", "-aes256", "-passout", "pass:secret", "-out", str(files["encrypted"][0]), "2048")
    return files


def test_unusable_key_files_are_refused_with_a_clear_error(keys: Keys, tmp_path: Path) -> None:
    for what, (path, says) in broken_keys(tmp_path, keys).items():
        with pytest.raises(DkimError, match=says) as caught:
            load_signer(Settings(key_path=str(path)), "papers@example.org")
        assert str(caught.value).startswith("dkim.key_path: "), what


def test_a_short_key_is_refused(tmp_path: Path) -> None:
    short = make_keys(tmp_path, 512)
    with pytest.raises(DkimError, match="512-bit key is too short"):
        DkimSigner(SELECTOR, DOMAIN, short.private_pem)


def test_a_damaged_key_that_still_parses_is_refused(keys: Keys) -> None:
    # One base64 character changed near the end of the PEM, in the CRT values dkimpy signs with: the key
    # still parses, but every signature it made would fail at the receiver.
    lines = keys.private_pem.split(b"\n")
    at = len(lines) - 3  # the last full line before "-----END PRIVATE KEY-----" and the final ""
    line = lines[at]
    lines[at] = line[:10] + (b"A" if line[10:11] != b"A" else b"B") + line[11:]
    with pytest.raises(DkimError, match="the RSA key is damaged"):
        DkimSigner(SELECTOR, DOMAIN, b"\n".join(lines))


@pytest.mark.parametrize(
    ("settings", "says"),
    [
        (Settings(selector=""), "dkim.selector: required"),
        (Settings(selector="my selector"), "dkim.selector: 'my selector' is not a DNS label"),
        (Settings(domain="exa mple.org"), "dkim.domain: 'exa mple.org' is not a DNS name"),
    ],
)
def test_bad_settings_are_refused(settings: Settings, says: str, keys: Keys) -> None:
    with pytest.raises(DkimError, match=re.escape(says)):
        load_signer(Settings(str(keys.path), settings.selector, settings.domain), "papers@example.org")


def test_dkim_errors_are_config_errors() -> None:
    # So the CLI prints them as one line and exits 2, like any other unusable setting.
    assert issubclass(DkimError, ConfigError)
