"""Signed single-purpose links: confirm, manage, unsubscribe, feedback, feed and the sign-up's "sent" page."""

from __future__ import annotations

import functools
import hashlib
import hmac
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from itsdangerous import BadData, TimestampSigner, URLSafeSerializer, URLSafeTimedSerializer

from newsletter.models import Subscriber
from newsletter.subscribers import email_key

# HMAC-SHA256 rather than itsdangerous' default SHA-1.
SIGNER_KWARGS = {"digest_method": hashlib.sha256}
# One salt per purpose: a token minted for one action never works for another.
PURPOSES = ("confirm", "manage", "unsubscribe", "feedback", "feed", "sent")
# Confirmation links expire; unsubscribe links never do (RFC 8058 readers may click a year later).
# The "sent" page, where the sign-up form redirects, only needs to outlive a reload or two.
MAX_AGE_S = {"confirm": 48 * 3600, "manage": 90 * 24 * 3600, "feedback": 30 * 24 * 3600, "sent": 3600}
# An issue's links carry the date, midnight UTC, which east of UTC comes hours after the
# email (Tokyo's 07:00 is 22:00 UTC the day before), and a day more in tomorrow's preview: a
# stamp up to this far ahead is valid; one further ahead is not a link we sent.
FUTURE_SLACK_S = 2 * 24 * 3600


class InvalidToken(Exception):
    """A token that is forged, expired, for another purpose, or for a subscriber who is gone."""

    def __init__(self, message: str, expired: bool = False, replaced: bool = False) -> None:
        super().__init__(message)
        self.expired = expired
        self.replaced = replaced  # a valid link that a newer one took the place of


@dataclass(frozen=True, slots=True)
class TokenClaim:
    """What a valid token names: the subscriber, and a fingerprint of their address."""

    subscriber_id: int
    fingerprint: str
    # A confirmation link of a sign-up for a reader already known names that sign-up; else None.
    request: str | None = None


PASTED_AFTER = ".,;:!?)]}>'\"*"  # what can trail a link pasted from prose; never the end of a token


def fingerprint(email: str) -> str:
    """A short digest of the address, so a token dies with the address it was minted for."""
    return hashlib.sha256(email_key(email).encode()).hexdigest()[:16]


class Signer:
    """Mints and checks tokens with the secret key; `now` for expiry comes from itsdangerous' clock."""

    def __init__(self, secret_key: str) -> None:
        if len(secret_key) < 16:
            raise ValueError("the signing key must be at least 16 characters")
        self._secret = secret_key

    def derived_key(self, purpose: str) -> str:
        """A separate key for another signed thing (session cookie, CSRF cookie), derived from the secret."""
        return hmac.new(self._secret.encode(), f"newsletter.{purpose}".encode(), hashlib.sha256).hexdigest()

    @functools.lru_cache(maxsize=64)  # noqa: B019 - a handful of purposes and issue stamps per signer
    def _serializer(
        self, purpose: str, stamp: int | None = None
    ) -> URLSafeSerializer | URLSafeTimedSerializer:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown token purpose {purpose!r}")
        salt = f"newsletter.{purpose}"
        if purpose not in MAX_AGE_S:
            return URLSafeSerializer(self._secret, salt=salt, signer_kwargs=SIGNER_KWARGS)
        if stamp is None:
            return URLSafeTimedSerializer(self._secret, salt=salt, signer_kwargs=SIGNER_KWARGS)
        fixed: int = stamp

        class Stamped(TimestampSigner):
            def get_timestamp(self) -> int:
                return fixed

        return URLSafeTimedSerializer(self._secret, salt=salt, signer=Stamped, signer_kwargs=SIGNER_KWARGS)

    def mint(self, purpose: str, subscriber: Subscriber, at: datetime | None = None) -> str:
        """A token for `purpose` naming `subscriber`, stamped `at` (default: now) if it expires.

        An issue's links are stamped with a day, not the moment (the issue's date, or the day it
        froze if later), so the same email renders to the same bytes whenever it is built: the
        preview, the send and any retry.
        """
        payload: dict[str, Any] = {"s": subscriber.id, "f": fingerprint(subscriber.email)}
        if purpose == "confirm" and subscriber.request is not None:
            # It confirms that sign-up alone: not one it replaced, nor one that replaces it.
            payload["r"] = subscriber.request.nonce
        serializer = self._serializer(purpose, None if at is None else int(at.timestamp()))
        return str(serializer.dumps(payload))

    def mint_address(self, purpose: str, email: str, at: datetime | None = None) -> str:
        """A token for `purpose` carrying an address as it was typed, naming no subscriber.

        For the sign-up's "sent" page: it must read the same whether or not the address was known.
        """
        serializer = self._serializer(purpose, None if at is None else int(at.timestamp()))
        return str(serializer.dumps({"e": email}))

    def address(self, purpose: str, token: str) -> str:
        """The address a `mint_address` token carries; InvalidToken as for `check`."""
        email = self._payload(purpose, token).get("e")
        if not isinstance(email, str):
            raise InvalidToken("this link is not valid")
        return email

    def check(self, purpose: str, token: str) -> dict[str, Any]:
        """The payload, naming a subscriber; InvalidToken if forged, expired or minted for another purpose."""
        payload = self._payload(purpose, token)
        if not isinstance(payload.get("s"), int):
            raise InvalidToken("this link is not valid")
        return payload

    def _payload(self, purpose: str, token: str) -> dict[str, Any]:
        serializer = self._serializer(purpose)
        # A link copied out of a sentence brings its punctuation along ("...<link>." or "(<link>)").
        # A token ends in its signature, which is base64url: none of these is ever part of it.
        token = token.rstrip(PASTED_AFTER)
        try:
            if isinstance(serializer, URLSafeTimedSerializer):
                payload, stamped = serializer.loads(token, return_timestamp=True)
                age = time.time() - stamped.timestamp()
                if age > MAX_AGE_S[purpose]:
                    raise InvalidToken("this link has expired", expired=True)
                if age < -FUTURE_SLACK_S:
                    raise InvalidToken("this link is not valid")
            else:
                payload = serializer.loads(token)
        except BadData:
            raise InvalidToken("this link is not valid") from None
        if not isinstance(payload, dict):
            raise InvalidToken("this link is not valid")
        return payload

    def claim(self, purpose: str, token: str) -> TokenClaim:
        """The subscriber a token names; the caller must compare the fingerprint with the stored address."""
        payload = self.check(purpose, token)
        request = payload.get("r")
        return TokenClaim(
            subscriber_id=payload["s"],
            fingerprint=str(payload.get("f", "")),
            request=request if isinstance(request, str) else None,
        )
