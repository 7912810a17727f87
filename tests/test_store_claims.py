"""Ledger claims on SQLite and PostgreSQL: a sender whose lease ran out cannot undo its successor's work."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import text, update

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.store import Store
from newsletter.store.issues import IssueRecord
from newsletter.store.ledger import Outcome
from newsletter.store.migrations import MIGRATIONS
from newsletter.store.schema import schema_version
from newsletter.subscribers import preferences

ISSUE = date(2024, 8, 1)
NOW = datetime(2024, 8, 1, 7, 0, tzinfo=UTC)
LEASE_S = 60


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def any_store(request: pytest.FixtureRequest, db_url: str) -> Iterator[Store]:
    """The same store on a SQLite file and on PostgreSQL."""
    url = db_url
    if request.param == "postgres":
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        url = request.getfixturevalue("pg_url")
    store = app.open_store(DatabaseSettings(url=url))
    yield store
    store.dispose()


def queued_row(store: Store) -> IssueRecord:
    """One reader with one queued ledger row for the issue."""
    sub = store.subscribers.add(
        "ada@example.org", preferences(["agents"], timezone="UTC", hour=7), "active", NOW
    )
    issue = store.issues.issue(ISSUE, NOW)
    row = {
        "issue_id": issue.id,
        "subscriber_id": sub.id,
        "status": "queued",
        "kind": "digest",
        "picks": [{"arxiv_id": "2408.00001"}],
        "trending": [],
        "message_id": "<digest.1@example.org>",
        "attempts": 0,
        "next_attempt_at": NOW,
        "created_at": NOW,
        "updated_at": NOW,
    }
    store.ledger.enqueue([row])
    return issue


def status_of(store: Store, issue: IssueRecord) -> dict[str, int]:
    return {status: n for status, n in store.history.counts(issue).items() if n}


def test_a_late_outcome_from_an_expired_claim_does_not_undo_the_next_senders(any_store: Store) -> None:
    issue = queued_row(any_store)
    [slow] = any_store.ledger.claim(issue, "slow", NOW, LEASE_S, 10)
    # The slow sender overran its lease: the row is due again and another sender takes it and sends it.
    later = NOW + timedelta(seconds=LEASE_S + 1)
    [quick] = any_store.ledger.claim(issue, "quick", later, LEASE_S, 10)
    any_store.ledger.record([Outcome(quick, "sent", "250 ok")], later)

    # The slow one's 4xx comes back after that: the email is out, so the row stays sent, not due again.
    retry = later + timedelta(minutes=1)
    any_store.ledger.record([Outcome(slow, "deferred", "451 later", next_attempt_at=retry)], later)
    assert status_of(any_store, issue) == {"sent": 1}
    assert any_store.ledger.claim(issue, "third", retry + timedelta(hours=1), LEASE_S, 10) == []


def test_a_sender_whose_lease_ran_out_cannot_hand_back_the_next_senders_claim(any_store: Store) -> None:
    issue = queued_row(any_store)
    [slow] = any_store.ledger.claim(issue, "slow", NOW, LEASE_S, 10)
    later = NOW + timedelta(seconds=LEASE_S + 1)
    [quick] = any_store.ledger.claim(issue, "quick", later, LEASE_S, 10)

    # Stopping, the slow sender hands back what it claimed; the row is the quick one's now and is
    # being sent: a third sender must not get it too.
    any_store.ledger.release([slow], later)
    assert any_store.ledger.claim(issue, "third", later, LEASE_S, 10) == []
    any_store.ledger.record([Outcome(quick, "sent", "250 ok")], later)
    assert status_of(any_store, issue) == {"sent": 1}


def test_a_sender_records_and_hands_back_its_own_claims(any_store: Store) -> None:
    issue = queued_row(any_store)
    [claimed] = any_store.ledger.claim(issue, "one", NOW, LEASE_S, 10)
    any_store.ledger.release([claimed], NOW)
    assert status_of(any_store, issue) == {"queued": 1}
    [claimed] = any_store.ledger.claim(issue, "two", NOW, LEASE_S, 10)
    retry = NOW + timedelta(minutes=1)
    any_store.ledger.record([Outcome(claimed, "deferred", "451 later", next_attempt_at=retry)], NOW)
    assert status_of(any_store, issue) == {"deferred": 1}
    [again] = any_store.ledger.claim(issue, "three", retry, LEASE_S, 10)
    any_store.ledger.record([Outcome(again, "sent", "250 ok")], retry)
    assert status_of(any_store, issue) == {"sent": 1}


def test_a_sender_on_a_host_with_a_long_name_can_claim(any_store: Store) -> None:
    # A sender's name is host:pid:random; host names run to 64 characters (a Kubernetes pod's to 63).
    worker = f"{'w' * 63}.example.internal:4194304:abcdef"
    issue = queued_row(any_store)
    [claimed] = any_store.ledger.claim(issue, worker, NOW, LEASE_S, 10)
    assert claimed.claimed_by == worker
    any_store.ledger.record([Outcome(claimed, "sent", "250 ok")], NOW)
    assert status_of(any_store, issue) == {"sent": 1}


@pytest.mark.postgres
def test_a_version_7_postgresql_store_is_widened_for_long_sender_names(pg_url: str) -> None:
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    store = app.open_store(DatabaseSettings(url=pg_url))
    with store.write() as conn:  # the store as version 7 left it
        conn.execute(text("ALTER TABLE deliveries ALTER COLUMN claimed_by TYPE VARCHAR(64)"))
        conn.execute(update(schema_version).values(version=7))
    assert store.migrate() == len(MIGRATIONS)
    test_a_sender_on_a_host_with_a_long_name_can_claim(store)
    store.dispose()
