"""How a subscriber is stored: a row to a Subscriber and back, and a waiting sign-up as JSON."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from newsletter.models import SignupRequest, Subscriber
from newsletter.subscribers import Preferences, email_key


def topics_key(topics: Sequence[str], excludes: Sequence[str]) -> str:
    """One key per distinct (topics, excludes) set, whatever the order or case."""
    canonical = json.dumps(
        [sorted(t.casefold() for t in topics), sorted(e.casefold() for e in excludes)],
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def subscriber_from_row(row: Mapping[str, Any]) -> Subscriber:
    """A stored row as a Subscriber."""
    return Subscriber(
        id=row["id"],
        email=row["email"],
        status=row["status"],
        topics=tuple(row["topics"]),
        excludes=tuple(row["excludes"]),
        timezone=row["timezone"],
        hour=row["hour"],
        cadence=row["cadence"],
        weekday=row["weekday"],
        per_email=row["per_email"],
        created_at=row["created_at"],
        confirmed_at=row["confirmed_at"],
        request=request_from_value(row.get("requested")),
    )


def preference_values(prefs: Preferences) -> dict[str, Any]:
    """The columns that hold a subscriber's choices."""
    return {
        "topics": list(prefs.topics),
        "excludes": list(prefs.excludes),
        "topics_key": topics_key(prefs.topics, prefs.excludes),
        "timezone": prefs.timezone,
        "hour": prefs.hour,
        "cadence": prefs.cadence,
        "weekday": prefs.weekday,
        "per_email": prefs.per_email,
    }


def new_row(email: str, prefs: Preferences, status: str, now: datetime) -> dict[str, Any]:
    """The row of a new subscriber; an active one counts as confirmed now."""
    return {
        "email": email,
        "email_key": email_key(email),
        "status": status,
        "created_at": now,
        "updated_at": now,
        "confirmed_at": now if status == "active" else None,
        **preference_values(prefs),
    }


def request_value(prefs: Preferences, nonce: str, now: datetime) -> dict[str, Any]:
    """A waiting sign-up as the `requested` column keeps it."""
    values = preference_values(prefs)
    del values["topics_key"]  # computed again when it is applied
    return {"nonce": nonce, "requested_at": now.isoformat(), **values}


def request_from_value(value: Mapping[str, Any] | None) -> SignupRequest | None:
    """The `requested` column as a SignupRequest; None when no sign-up waits."""
    if not value:
        return None
    prefs = Preferences(
        topics=tuple(value["topics"]),
        excludes=tuple(value["excludes"]),
        timezone=value["timezone"],
        hour=value["hour"],
        cadence=value["cadence"],
        weekday=value["weekday"],
        per_email=value["per_email"],
    )
    return SignupRequest(value["nonce"], datetime.fromisoformat(value["requested_at"]), prefs)
