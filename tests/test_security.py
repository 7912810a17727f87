"""Security claims of SECURITY.md that the other suites do not already prove."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from argon2 import PasswordHasher
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import select
from starlette.testclient import TestClient

from newsletter.config import ConfigError, SmtpSettings, load_settings
from newsletter.deliver import TransportUnusable
from newsletter.deliver.smtp import SmtpTransport
from newsletter.store.schema import meta
from tests.smtp_server import ScriptedHandler, start_server
from tests.web_support import ADMIN_PASSWORD, ADMIN_TOKEN, WebWorld, make_world


def self_signed(tmp_path):
    """A certificate for 127.0.0.1 that no public CA vouches for."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay.test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_relay(tmp_path):
    cert, key = self_signed(tmp_path)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_context.load_cert_chain(cert, key)
    handler = ScriptedHandler()
    controller = start_server(handler, tls_context=server_context)
    yield handler, controller, cert
    controller.stop()


def test_starttls_verifies_the_relay_certificate(tls_relay):
    handler, controller, _ = tls_relay
    transport = SmtpTransport(SmtpSettings(host="127.0.0.1", port=controller.port, security="starttls"))
    with pytest.raises(TransportUnusable, match=r"TLS with 127\.0\.0\.1"):
        transport.send("papers@example.org", "ada@example.org", b"Subject: x\r\n\r\nhello\r\n", "<m@x>")
    assert handler.received == [] and handler.attempts == {}


def test_starttls_sends_once_the_certificate_is_trusted(tls_relay):
    handler, controller, cert = tls_relay
    trusting = ssl.create_default_context(cafile=str(cert))
    transport = SmtpTransport(
        SmtpSettings(host="127.0.0.1", port=controller.port, security="starttls"), ssl_context=trusting
    )
    transport.send("papers@example.org", "ada@example.org", b"Subject: x\r\n\r\nhello\r\n", "<m@x>")
    transport.close()
    assert [r.recipient for r in handler.received] == ["ada@example.org"]


@pytest.mark.parametrize(
    ("section", "key", "env_name"),
    [
        ("smtp", "password", "NEWSLETTER_SMTP_PASSWORD"),
        ("smtp", "user", "NEWSLETTER_SMTP_USER"),
        ("web", "secret_key", "NEWSLETTER_WEB_SECRET_KEY"),
        ("web", "admin_password_hash", "NEWSLETTER_WEB_ADMIN_PASSWORD_HASH"),
        ("web", "admin_token", "NEWSLETTER_WEB_ADMIN_TOKEN"),
    ],
)
def test_secrets_are_refused_in_the_config_file(tmp_path, section, key, env_name):
    config = tmp_path / "c.toml"
    config.write_text(f'[{section}]\n{key} = "hunter2-hunter2-hunter2"\n')
    with pytest.raises(ConfigError, match=env_name):
        load_settings(config, {})
    # The environment's value is taken (a password hash must be a real one: it is checked).
    value = PasswordHasher().hash("from-env") if key == "admin_password_hash" else "from-env-0123456789"
    assert getattr(getattr(load_settings(None, {env_name: value}), section), key) == value


def test_the_database_holds_no_signing_key_when_the_environment_gives_one(db_url, smtp):
    _, controller = smtp
    world = make_world(db_url, controller.port)
    world.client.get("/")
    world.svc.signer()
    with world.store.read() as conn:
        assert conn.execute(select(meta.c.key).where(meta.c.key == "secret_key")).first() is None
    world.store.dispose()


def test_admin_login_is_rate_limited(db_url, smtp):
    _, controller = smtp
    world = make_world(db_url, controller.port, NEWSLETTER_WEB_LOGIN_LIMIT_IP="3/minute")
    codes = []
    for _ in range(4):
        token = world.csrf("/admin/login")
        codes.append(
            world.client.post("/admin/login", data={"password": "guess", "csrftoken": token}).status_code
        )
    assert codes == [401, 401, 401, 429]
    world.store.dispose()


def test_only_wrong_passwords_use_up_the_sign_in_limit_and_then_the_right_one_is_refused_too(db_url, smtp):
    _, controller = smtp
    world = make_world(db_url, controller.port, NEWSLETTER_WEB_LOGIN_LIMIT_IP="3/minute")

    def sign_in(password: str) -> int:
        token = world.csrf("/admin/login")
        data = {"password": password, "csrftoken": token}
        return world.client.post("/admin/login", data=data, follow_redirects=False).status_code

    # An admin who signs in often is never locked out by it.
    assert [sign_in(ADMIN_PASSWORD) for _ in range(5)] == [303] * 5
    assert [sign_in("guess") for _ in range(3)] == [401, 401, 401]
    token = world.csrf("/admin/login")
    refused = world.client.post("/admin/login", data={"password": ADMIN_PASSWORD, "csrftoken": token})
    assert refused.status_code == 429 and "Too many wrong passwords from this address" in refused.text
    world.store.dispose()


def _admin_cookie(world: WebWorld) -> str:
    world.login()
    cookie = world.client.cookies.get("newsletter_admin")
    assert cookie
    return cookie


def _dashboard_with(world: WebWorld, cookie: str) -> int:
    """The status of /admin for a request carrying only this session cookie (as a copied cookie would)."""
    other = TestClient(
        world.client.app, base_url="https://papers.example.org", cookies={"newsletter_admin": cookie}
    )
    return other.get("/admin", follow_redirects=False).status_code


def test_signing_out_ends_every_admin_session_a_copied_cookie_too(db_url, smtp):
    _, controller = smtp
    world = make_world(db_url, controller.port)
    copied = _admin_cookie(world)
    assert _dashboard_with(world, copied) == 200
    token = world.csrf("/admin")
    assert (
        world.client.post("/admin/logout", data={"csrftoken": token}, follow_redirects=False).status_code
        == 303
    )
    assert _dashboard_with(world, copied) == 303  # to the sign-in page
    # Signing in again works, with a fresh session.
    assert _dashboard_with(world, _admin_cookie(world)) == 200
    world.store.dispose()


def test_a_new_admin_password_ends_the_sessions_of_the_old_one(db_url, smtp):
    _, controller = smtp
    before = make_world(db_url, controller.port)
    copied = _admin_cookie(before)
    assert _dashboard_with(before, copied) == 200
    # The operator sets a new hash and restarts: same database, same secret key.
    after = make_world(
        db_url, controller.port, NEWSLETTER_WEB_ADMIN_PASSWORD_HASH=PasswordHasher().hash("new-pass-phrase")
    )
    assert _dashboard_with(after, copied) == 303
    before.store.dispose()
    after.store.dispose()


def test_wrong_api_tokens_are_rate_limited_and_then_even_the_right_one_is_refused(db_url, smtp):
    _, controller = smtp
    world = make_world(db_url, controller.port, NEWSLETTER_WEB_LOGIN_LIMIT_IP="3/minute")
    right = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def counts(headers: dict[str, str] | None = None) -> int:
        return world.client.get("/api/subscribers/counts", headers=headers).status_code

    # A request without a token is not a guess, and a right token is not counted.
    assert [counts(), counts(), counts(), counts(right), counts(right)] == [401, 401, 401, 200, 200]
    guesses = [counts({"Authorization": f"Bearer guess-{n}"}) for n in range(4)]
    assert guesses == [401, 401, 401, 429]
    # Locked out: a right token from this address is refused too, so a guess that hits learns nothing.
    refused = world.client.get("/api/subscribers/counts", headers=right)
    assert refused.status_code == 429 and "too many wrong tokens" in refused.json()["detail"]
    world.store.dispose()


def test_pages_send_protective_headers(db_url, smtp):
    _, controller = smtp
    world = make_world(db_url, controller.port)
    response = world.client.get("/")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    world.store.dispose()
