"""Subscribing, confirming, managing and leaving: the rules, over the store, shared by web and tests."""

from __future__ import annotations

import logging
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime

from newsletter.models import Subscriber
from newsletter.store import Store
from newsletter.store.subscribers import DuplicateSubscriber
from newsletter.subscribers import Preferences
from newsletter.tokens import InvalidToken, Signer, TokenClaim, fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SignupResult:
    """Which email the address should get: a confirmation link, a note that it is already subscribed,
    or nothing at all."""

    subscriber: Subscriber
    mail: str | None  # "confirm", "already", or None: send nothing (the address hard-bounced)


def request_signup(store: Store, email: str, prefs: Preferences, now: datetime) -> SignupResult:
    """Record a sign-up; the web answer is the same whatever this returns.

    A new address becomes a pending reader. A known reader changes in nothing until a link is followed:
    an active one is mailed a note, one who unsubscribed a link that brings them back with these
    choices, and an address that hard-bounced is mailed nothing.
    """
    existing = store.subscribers.by_email(email)
    if existing is None:
        try:
            return SignupResult(store.subscribers.add(email, prefs, "pending", now), "confirm")
        except DuplicateSubscriber:
            # Two sign-ups raced; the other one created the row.
            existing = store.subscribers.by_email(email)
            assert existing is not None
    if existing.status == "active":
        # Never change an active subscriber's choices from an unauthenticated form.
        return SignupResult(existing, "already")
    if existing.status == "bounced":
        # Anyone can type any address here, and each mail to an address that hard-bounced costs the
        # sender's standing with mail providers. The admin brings one back (README: bounces import).
        # The id, not the address: the log says which reader without naming one an anonymous form gave.
        log.info("signup: subscriber %d hard-bounced before; nothing sent, nothing changed", existing.id)
        return SignupResult(existing, None)
    if existing.status == "pending":
        # Not confirmed yet, as for a new address: its link confirms the latest sign-up's choices.
        return SignupResult(store.subscribers.set_preferences(existing.id, prefs, now), "confirm")
    # Unsubscribed: their settings and their choice stand until this sign-up's own link is followed.
    waiting = store.subscribers.keep_request(existing.id, prefs, secrets.token_urlsafe(12), now)
    log.info(
        "signup: subscriber %d (%s) signed up again; unchanged until confirmed", waiting.id, waiting.status
    )
    return SignupResult(as_requested(waiting), "confirm")


def as_requested(sub: Subscriber) -> Subscriber:
    """The reader as their waiting sign-up would make them, still pending: what its email and its
    confirmation page show. The reader as they are if none waits."""
    request = sub.request
    if request is None:
        return sub
    return replace(sub, status="pending", **asdict(request.prefs))


def _claimed(store: Store, signer: Signer, purpose: str, token: str) -> tuple[Subscriber, TokenClaim]:
    """The subscriber a token names, and what it claims; InvalidToken if forged, expired, misused or stale."""
    claim = signer.claim(purpose, token)
    sub = store.subscribers.get(claim.subscriber_id)
    if sub is None or fingerprint(sub.email) != claim.fingerprint:
        raise InvalidToken("this link is no longer valid")
    return sub, claim


def _as_linked(sub: Subscriber, claim: TokenClaim) -> Subscriber:
    """The reader as a link shows them: as its sign-up asks, while that sign-up waits."""
    if claim.request is None or sub.request is None:
        # Any link but a sign-up's for a known reader; or one whose sign-up was confirmed, or undone
        # by an unsubscribe or a bounce, since: the reader as they are.
        return sub
    if sub.request.nonce != claim.request:
        raise InvalidToken(
            "a newer sign-up replaced this link; follow the one in the latest email", replaced=True
        )
    return as_requested(sub)


def subscriber_for(store: Store, signer: Signer, purpose: str, token: str) -> Subscriber:
    """The subscriber a token names; InvalidToken if it is forged, expired, misused or stale.

    The confirmation link of a sign-up for a known reader names them as it asks (pending, with its
    choices) while it waits, so its page shows what the button does.
    """
    sub, claim = _claimed(store, signer, purpose, token)
    return _as_linked(sub, claim)


def confirm(store: Store, signer: Signer, token: str, now: datetime) -> Subscriber:
    """Activate a pending subscriber from their confirmation link (a POST, never a GET)."""
    sub, claim = _claimed(store, signer, "confirm", token)
    if claim.request is not None:
        # A known reader's sign-up: its choices become theirs now, if this link's sign-up still waits.
        back = store.subscribers.apply_request(sub.id, claim.request, now)
        if back is not None:
            log.info("signup: %s confirmed", back.email)
            return back
        return _as_linked(store.subscribers.get(sub.id) or sub, claim)
    # Only pending: a link from before an unsubscribe (48 h valid) must not subscribe them again;
    # signing up again mails a new link, which names that sign-up.
    if sub.status == "pending":
        store.subscribers.set_status(sub.id, "active", now)
        log.info("signup: %s confirmed", sub.email)
    return store.subscribers.get(sub.id) or sub


def unsubscribe(store: Store, signer: Signer, token: str, now: datetime) -> Subscriber:
    """Stop all mail to the subscriber the token names; repeating it is harmless."""
    sub = subscriber_for(store, signer, "unsubscribe", token)
    if sub.status != "unsubscribed" or sub.request is not None:
        # Also drops a sign-up waiting for its link: this is the newer word.
        store.subscribers.set_status(sub.id, "unsubscribed", now)
        if sub.status != "unsubscribed":
            log.info("signup: %s unsubscribed", sub.email)
    return store.subscribers.get(sub.id) or sub
