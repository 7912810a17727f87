"""Retention of what lies beside the ledger: sign-ups never confirmed, sign-ups waiting on known readers,
the fetch log and the scheduler's notes on old issues. Without a prune each only ever grows; a reader
who once confirmed, and their own settings, never go.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from newsletter.signup import request_signup
from newsletter.store import Store
from newsletter.store.retention import prune
from newsletter.store.schema import meta
from newsletter.subscribers import preferences
from tests.conftest import CliRunnerFn

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
PREFS = preferences(["robotics"], timezone="Europe/Paris", hour=6)


def unsubscribed_reader_asking_again(store: Store, email: str, asked: datetime) -> None:
    sub = store.subscribers.add(email, PREFS, "active", NOW - timedelta(days=400))
    store.subscribers.set_status(sub.id, "unsubscribed", NOW - timedelta(days=300))
    result = request_signup(store, email, preferences(["speech"], timezone="UTC", hour=9), asked)
    assert result.mail == "confirm"  # a link was mailed, and the request waits for it


def meta_keys(store: Store) -> set[str]:
    with store.read() as conn:
        return set(conn.execute(select(meta.c.key)).scalars())


def test_an_expired_sign_up_waiting_on_an_unsubscribed_reader_is_cleared(
    run_cli: CliRunnerFn, store: Store
) -> None:
    # The link lives 48 hours; a week after that, nothing can apply the request any more.
    unsubscribed_reader_asking_again(store, "old@example.org", NOW - timedelta(days=9, minutes=1))
    unsubscribed_reader_asking_again(store, "recent@example.org", NOW - timedelta(days=8, hours=23))

    dry = run_cli("prune", "--dry-run", clock=lambda: NOW)
    assert dry.exit_code == 0, dry.output
    assert "1 expired sign-up request of known readers would be cleared; nothing removed" in dry.output
    before = store.subscribers.by_email("old@example.org")
    assert before is not None and before.request is not None

    done = run_cli("prune", clock=lambda: NOW)
    assert done.exit_code == 0, done.output
    assert done.output.endswith("removed; 1 expired sign-up request of known readers cleared\n")
    old = store.subscribers.by_email("old@example.org")
    recent = store.subscribers.by_email("recent@example.org")
    assert old is not None and recent is not None
    assert old.request is None and recent.request is not None
    # The reader is exactly as they left: unsubscribed, with their own settings.
    assert (old.status, old.topics, old.timezone, old.hour) == (
        "unsubscribed",
        ("robotics",),
        "Europe/Paris",
        6,
    )

    again = run_cli("prune", clock=lambda: NOW)
    assert "expired sign-up request" not in again.output  # nothing left to clear: no mention


def test_the_scheduler_notes_on_issues_older_than_keep_days_go(run_cli: CliRunnerFn, store: Store) -> None:
    old_day, kept_day = TODAY - timedelta(days=181), TODAY - timedelta(days=179)
    for day in (old_day, kept_day):
        store.issues.wait(day, datetime(day.year, day.month, day.day, 5, tzinfo=UTC))
        assert store.claim_once(f"alert:stale:{day}", NOW.isoformat())
        assert store.claim_once(f"alert:delivery-stopped:{day}", NOW.isoformat())
    store.meta_value("secret_key", lambda: "s" * 32)  # not a note on an issue: never pruned
    store.claim_once("alert:undated", NOW.isoformat())

    done = run_cli("prune", clock=lambda: NOW)

    assert done.exit_code == 0, done.output
    assert "0 pending sign-ups, 3 scheduler notes on old issues removed" in done.output
    assert store.issues.waiting_since(old_day) is None
    assert store.issues.waiting_since(kept_day) is not None
    keys = meta_keys(store)
    assert {f"alert:stale:{old_day}", f"alert:delivery-stopped:{old_day}"}.isdisjoint(keys)
    assert {f"alert:stale:{kept_day}", "secret_key", "alert:undated"} <= keys
    # An alert on a day that was pruned could be raised again, and would be mailed once more.
    assert store.claim_once(f"alert:stale:{old_day}", NOW.isoformat())


def test_a_sign_up_never_confirmed_goes_a_week_after_its_link_expired(store: Store) -> None:
    prefs = preferences(["agents"], timezone="UTC", hour=7)
    # The link lives 48 hours; a week after that, the address a stranger typed is forgotten.
    request_signup(store, "stranger@example.org", prefs, NOW - timedelta(days=9, minutes=1))
    request_signup(store, "recent@example.org", prefs, NOW - timedelta(days=8, hours=23))
    # One who signed up long ago and again last week: the row is re-used, and its clock restarts.
    request_signup(store, "again@example.org", prefs, NOW - timedelta(days=60))
    request_signup(store, "again@example.org", prefs, NOW - timedelta(days=7))
    # Readers who once confirmed are kept, whatever their status and however long ago.
    for email, status in [("left@example.org", "unsubscribed"), ("back@example.org", "pending")]:
        sub = store.subscribers.add(email, prefs, "active", NOW - timedelta(days=400))
        store.subscribers.set_status(sub.id, status, NOW - timedelta(days=300))
    gone = store.subscribers.add("bounced@example.org", prefs, "pending", NOW - timedelta(days=400))
    store.subscribers.set_status(gone.id, "bounced", NOW - timedelta(days=400))

    pruned = prune(store, 180, NOW)

    assert pruned.pending == 1
    assert store.subscribers.by_email("stranger@example.org") is None
    kept = {s.email for s in store.subscribers.listed()}
    assert kept == {
        "recent@example.org",
        "again@example.org",
        "left@example.org",
        "back@example.org",
        "bounced@example.org",
    }
    # The address can sign up again, and gets a fresh confirmation link.
    result = request_signup(store, "stranger@example.org", prefs, NOW)
    assert result.mail == "confirm" and result.subscriber.status == "pending"


def test_the_last_successful_fetch_is_kept_however_old(store: Store) -> None:
    long_ago = NOW - timedelta(days=400)
    with store.write() as conn:
        store.papers.record_fetch(conn, long_ago, long_ago, None, "hf-api")
        store.papers.record_fetch(
            conn, long_ago + timedelta(days=1), long_ago, None, "hf-api", error="HTTP 503"
        )
    assert prune(store, 180, NOW).fetches == 1
    assert store.papers.last_success() == long_ago
