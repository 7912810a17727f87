"""The [web] settings: the public address, listening, rate limits and the admin's secrets."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import argon2
from limits import parse_many

from newsletter.config_loader import ConfigError, bounded, secret, url_field

# Where the web's rate limits may be counted: the storages of the `limits` library that keep
# a moving window (its memory, Redis, Valkey and MongoDB storages, in their URL forms).
REDIS_FORMS = ("", "s", "+unix", "+cluster", "+sentinel")
RATE_LIMIT_SCHEMES = (
    "memory",
    *(f"{name}{form}" for name in ("redis", "valkey") for form in REDIS_FORMS),
    "mongodb",
    "mongodb+srv",
)
MIN_SECRET = 16  # characters of NEWSLETTER_WEB_SECRET_KEY and NEWSLETTER_WEB_ADMIN_TOKEN, at least


@dataclass(frozen=True)
class WebSettings:
    base_url: str = "http://localhost:8000"
    host: str = "127.0.0.1"
    port: int = bounded(8000, 1, 65535)
    subscribe_limit_ip: str = "10/hour"
    subscribe_limit_address: str = "3/hour"
    login_limit_ip: str = "10/15minutes"
    rate_limits: str = url_field("memory://")
    secret_key: str = secret()
    admin_password_hash: str = secret()
    admin_token: str = secret()

    def validate(self) -> None:
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError("web.base_url: must start with https:// (or http:// for local testing)")
        # Links are base_url + "/manage/...", served from the root: under a path prefix each is a 404.
        if urlsplit(self.base_url).path not in ("", "/") or "?" in self.base_url or "#" in self.base_url:
            raise ConfigError(
                f"web.base_url: {self.base_url!r} has a path, query or fragment; give the bare address, like "
                "https://papers.example.org (no path), and serve the app at the root of its own host name"
            )
        if not self.host or any(c.isspace() for c in self.host):
            # uvicorn reads an empty host as every interface: the app would be open to the network.
            raise ConfigError(
                f"web.host: {self.host!r} is not an address to listen on; use 127.0.0.1 (behind a proxy "
                "on this machine) or 0.0.0.0 (every interface)"
            )
        for name in ("subscribe_limit_ip", "subscribe_limit_address", "login_limit_ip"):
            try:
                rates = parse_many(getattr(self, name))
            except ValueError:
                raise ConfigError(f"web.{name}: not a rate like '10/hour'") from None
            if any(rate.amount < 1 or rate.multiples < 1 for rate in rates):
                # "0/hour" refused every request, the right password and API token included.
                raise ConfigError(f"web.{name}: allow at least 1 a period, like '10/hour'")
        for name in ("secret_key", "admin_token"):
            if 0 < len(getattr(self, name)) < MIN_SECRET:
                # A key or token that can be guessed signs links, or opens the API, for anyone.
                variable = f"NEWSLETTER_WEB_{name.upper()}"
                raise ConfigError(
                    f"{variable}: use at least {MIN_SECRET} characters, e.g. `openssl rand -hex 32`"
                )
        if self.admin_password_hash:
            try:
                argon2.extract_parameters(self.admin_password_hash)
            except argon2.exceptions.InvalidHashError:
                # Typically mangled by a shell or env file, which reads its $ signs as variables.
                raise ConfigError(
                    "web.admin_password_hash: not an argon2 hash: make one with `newsletter admin-hash` "
                    "and quote it with single quotes"
                ) from None
        scheme = self.rate_limits.partition("://")[0]
        if "://" not in self.rate_limits or scheme not in RATE_LIMIT_SCHEMES:
            raise ConfigError(
                f"web.rate_limits: {self.rate_limits!r} is not a storage URL; "
                f"use one of {', '.join(f'{s}://' for s in RATE_LIMIT_SCHEMES)}"
            )

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry the Secure flag whenever the public address is https."""
        return self.base_url.startswith("https://")
