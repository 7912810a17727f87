"""Loading DKIM: settings values in, a signer (or None) out. A PKCS#1 or PKCS#8 key with LF or CRLF line ends
loads, the domain defaults to the From address's (in its ASCII form); a missing, public, truncated,
encrypted, short or damaged key and a bad selector or domain are refused with one clear ConfigError.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from newsletter.config import ConfigError
from newsletter.dkim import DkimError, DkimSigner, load_signer
from tests import dkim_support
from tests.conftest import HF_API
from tests.digests import build
from tests.dkim_support import (
    DOMAIN,
    MODERN,
    NOW,
    SELECTOR,
    Keys,
    Resolver,
    dns,
    make_keys,
    openssl,
    verifies,
)

# Without openssl there are no keys to test with; the fixtures are those of the module that holds them.
pytestmark = dkim_support.pytestmark
keys = dkim_support.keys
resolver = dkim_support.resolver


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


def test_a_dry_run_stops_on_an_unusable_key_as_the_real_send_would(run_cli, tmp_path: Path) -> None:
    march = HF_API / "daily_papers_2025-03-11.json"
    assert run_cli("fetch", "--file", str(march), "--date", "2025-03-11").exit_code == 0
    env = {"NEWSLETTER_DKIM_KEY_PATH": str(tmp_path / "nope.pem"), "NEWSLETTER_DKIM_SELECTOR": SELECTOR}
    for how in (("--dry-run",), ()):
        result = run_cli("send", "--date", "2025-03-11", *how, env=env)
        assert result.exit_code == 2, (how, result.output)
        assert f"dkim.key_path: no such file: {tmp_path / 'nope.pem'}" in result.output
