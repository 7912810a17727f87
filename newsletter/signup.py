"""Subscribing, confirming, managing and leaving: the rules, over the store, shared by web and tests."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from newsletter.models import Subscriber
from newsletter.store import Store
from newsletter.store.subscribers import DuplicateSubscriber
from newsletter.subscribers import Preferences
from newsletter.tokens import InvalidToken, Signer, fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignupResult:
    """Which email the address should get: a confirmation link, or a note that it is already subscribed."""

    subscriber: Subscriber
    mail: str  # "confirm" or "already"


def request_signup(store: Store, email: str, prefs: Preferences, now: datetime) -> SignupResult:
    """Record a sign-up; the web answer is the same whatever this returns."""
    existing = store.subscribers.by_email(email)
    if existing is None:
        try:
            sub = store.subscribers.add(email, prefs, "pending", now)
        except DuplicateSubscriber:
            # Two sign-ups raced; the other one created the row.
            existing = store.subscribers.by_email(email)
            assert existing is not None
            return SignupResult(existing, "already" if existing.status == "active" else "confirm")
        return SignupResult(sub, "confirm")
    if existing.status == "active":
        # Never change an active subscriber's choices from an unauthenticated form.
        return SignupResult(existing, "already")
    sub = store.subscribers.set_preferences(existing.id, prefs, now)
    if sub.status != "pending":
        store.subscribers.set_status(sub.id, "pending", now)
        sub = store.subscribers.get(sub.id) or sub
    return SignupResult(sub, "confirm")


def subscriber_for(store: Store, signer: Signer, purpose: str, token: str) -> Subscriber:
    """The subscriber a token names; InvalidToken if it is forged, expired, misused or stale."""
    claim = signer.claim(purpose, token)
    sub = store.subscribers.get(claim.subscriber_id)
    if sub is None or fingerprint(sub.email) != claim.fingerprint:
        raise InvalidToken("this link is no longer valid")
    return sub


def confirm(store: Store, signer: Signer, token: str, now: datetime) -> Subscriber:
    """Activate a pending subscriber from their confirmation link (a POST, never a GET)."""
    sub = subscriber_for(store, signer, "confirm", token)
    # Only pending: a link from before an unsubscribe (48 h valid) must not subscribe them again;
    # signing up again makes them pending, with a new link.
    if sub.status == "pending":
        store.subscribers.set_status(sub.id, "active", now)
        log.info("signup: %s confirmed", sub.email)
    return store.subscribers.get(sub.id) or sub


def unsubscribe(store: Store, signer: Signer, token: str, now: datetime) -> Subscriber:
    """Stop all mail to the subscriber the token names; repeating it is harmless."""
    sub = subscriber_for(store, signer, "unsubscribe", token)
    if sub.status != "unsubscribed":
        store.subscribers.set_status(sub.id, "unsubscribed", now)
        log.info("signup: %s unsubscribed", sub.email)
    return store.subscribers.get(sub.id) or sub
