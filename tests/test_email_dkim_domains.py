"""DKIM's d= for an internationalised From domain: the ASCII spelling of the From header's domain."""

from __future__ import annotations

import email
import logging
from pathlib import Path

import pytest

from newsletter.config import DkimSettings
from newsletter.dkim import load_signer
from newsletter.mime import MimeWriter, Sender
from tests.digests import MODERN, links, papers, reader, renderer
from tests.test_dkim import OPENSSL, dns, make_keys, verifies

pytestmark = pytest.mark.skipif(
    OPENSSL is None, reason="the openssl command makes the test keys: apt-get install openssl"
)


@pytest.mark.parametrize(
    ("from_address", "ascii_domain"),
    [
        ("papers@münchen.de", "xn--mnchen-3ya.de"),
        # IDNA 2003 (Python's "idna" codec) maps ß to ss: strasse.de, another domain than the From header's.
        ("papers@straße.de", "xn--strae-oqa.de"),
        ("papers@Example.ORG", "example.org"),
    ],
)
def test_the_signing_domain_is_the_from_headers_domain(
    from_address: str, ascii_domain: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    keys = make_keys(tmp_path)
    settings = DkimSettings(key_path=str(keys.path), selector="s2025", domain="")
    with caplog.at_level(logging.WARNING, logger="newsletter.dkim"):
        signer = load_signer(settings, from_address)
    assert signer is not None and signer.domain == ascii_domain
    assert "may not align" not in caplog.text
    sender = Sender(from_address, "Trending Papers", "", "papers.example.org")
    day = papers(MODERN)
    rendered = renderer(MODERN, reader().created_at.date()).render(reader(), [], day[:3], links())
    built = MimeWriter(sender, "k").build(
        rendered,
        to="ada@example.org",
        message_id="<m@x>",
        date=reader().created_at,
        unsubscribe_url=links().unsubscribe,
    )
    # DMARC compares the From header's domain with d=: they must be the same spelling.
    header_domain = email.message_from_bytes(built)["From"].rpartition("@")[2].rstrip(">").lower()
    assert header_domain == ascii_domain
    record = {f"s2025._domainkey.{ascii_domain}": f"v=DKIM1; k=rsa; p={keys.public_b64}"}
    assert verifies(signer.sign(built), dns(record))
