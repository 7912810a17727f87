"""Helpers for web tests: a real app on a real SQLite store and a real SMTP server, and form tokens."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from starlette.testclient import TestClient

from newsletter import app
from newsletter.config import DatabaseSettings, Settings, load_settings
from newsletter.models import Subscriber
from newsletter.services import Services
from newsletter.store import Store
from newsletter.subscribers import preferences
from newsletter.web import create_app

ADMIN_PASSWORD = "correct horse battery staple"
ADMIN_TOKEN = "api-token-0123456789abcdef"
SECRET = "web-test-secret-key-0123456789"
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
_HASH = PasswordHasher().hash(ADMIN_PASSWORD)


def web_settings(db_url: str, smtp_port: int, **extra: str) -> Settings:
    env = {
        "NEWSLETTER_DATABASE_URL": db_url,
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(smtp_port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
        "NEWSLETTER_WEB_SECRET_KEY": SECRET,
        "NEWSLETTER_WEB_ADMIN_PASSWORD_HASH": _HASH,
        "NEWSLETTER_WEB_ADMIN_TOKEN": ADMIN_TOKEN,
        "NEWSLETTER_DELIVERY_ADMIN_EMAIL": "admin@example.org",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
    }
    env.update(extra)
    return load_settings(None, env)


@dataclass
class WebWorld:
    store: Store
    svc: Services
    client: TestClient

    def csrf(self, path: str = "/") -> str:
        """Load a page and return its form's CSRF token (the cookie is kept by the client)."""
        html = self.client.get(path).text
        match = re.search(r'name="csrftoken" value="([^"]+)"', html)
        assert match, f"no csrftoken on {path}"
        return match.group(1)

    def login(self) -> None:
        token = self.csrf("/admin/login")
        response = self.client.post(
            "/admin/login", data={"password": ADMIN_PASSWORD, "csrftoken": token}, follow_redirects=False
        )
        assert response.status_code == 303, response.text


def make_world(db_url: str, smtp_port: int, clock=lambda: NOW, **extra: str) -> WebWorld:
    settings = web_settings(db_url, smtp_port, **extra)
    store = app.open_store(DatabaseSettings(url=db_url))
    svc = app.build_services(settings, store, clock=clock)
    client = TestClient(create_app(svc), base_url="https://papers.example.org")
    return WebWorld(store, svc, client)


def link_in(text: str, kind: str) -> str:
    """The path of the first /<kind>/<token> link in an email body."""
    match = re.search(rf"https://papers\.example\.org(/{kind}/[A-Za-z0-9_.\-]+)", text)
    assert match, f"no {kind} link in {text[:500]}"
    return match.group(1)


def reader(
    world: WebWorld,
    status: str = "active",
    timezone: str = "Asia/Tokyo",
    email: str = "reader@example.org",
) -> Subscriber:
    """A reader (reader@example.org unless `email` says) of LLM reasoning at 07:00, with `status`."""
    prefs = preferences(["LLM reasoning"], timezone=timezone, hour=7)
    return world.store.subscribers.add(email, prefs, status, NOW)


def manage_form(world: WebWorld, path: str, **fields: str) -> dict[str, str]:
    """A full manage form for the page at `path`, with its CSRF token; `fields` override."""
    data = {"topics": "robot manipulation", "hour": "7", "timezone": "Asia/Tokyo", "cadence": "daily",
            "weekday": "0", "per_email": "10", "csrftoken": world.csrf(path)}  # fmt: skip
    return {**data, **fields}
