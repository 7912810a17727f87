"""What the DKIM tests share: RSA keys made by openssl as an operator would make them, a stub DNS that
publishes the public key, and dkimpy's own verifier (no network).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import dkim  # type: ignore[import-untyped]
import pytest

from tests.digests import CASES

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


def dns(records: dict[str, str]) -> Resolver:
    """A stub for dkimpy's TXT lookup: `records` by name, None (NXDOMAIN) for any other name."""

    def lookup(name: bytes, timeout: int = 5) -> bytes | None:
        return records[key].encode("ascii") if (key := name.decode("ascii").rstrip(".")) in records else None

    return lookup


@pytest.fixture(scope="module")
def resolver(keys: Keys) -> Resolver:
    return dns({f"{SELECTOR}._domainkey.{DOMAIN}": f"v=DKIM1; k=rsa; p={keys.public_b64}"})


def verifies(message: bytes, resolver: Resolver) -> bool:
    return bool(dkim.verify(message, dnsfunc=resolver))
