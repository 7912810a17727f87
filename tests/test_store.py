"""The store's schema versioning and upsert rules on a real SQLite file."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import insert, select, text, update

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.models import PoolPaper
from newsletter.scrape import parse_api
from newsletter.store.migrations import MIGRATIONS
from newsletter.store.schema import schema_version, subscribers
from newsletter.store.subscribers import DuplicateSubscriber, topics_key
from newsletter.subscribers import preferences
from tests.conftest import API_2024_08_01, FIXED_NOW


def test_schema_is_created_at_first_use_and_versioned(db_url, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="newsletter.store")
    store = app.open_store(DatabaseSettings(url=db_url))
    with store.read() as conn:
        assert conn.execute(select(schema_version.c.version)).scalar_one() == len(MIGRATIONS)
    store.dispose()
    # A new database says so once, not once per migration step.
    assert [r.getMessage() for r in caplog.records if "schema" in r.getMessage()] == [
        f"store: created the schema (version {len(MIGRATIONS)}) in a new database, {db_url}"
    ]
    caplog.clear()
    # Reopening applies nothing twice, and says nothing.
    again = app.open_store(DatabaseSettings(url=db_url))
    with again.read() as conn:
        assert conn.execute(select(schema_version.c.version)).scalars().all() == [len(MIGRATIONS)]
    again.dispose()
    assert not [r for r in caplog.records if "schema" in r.getMessage()]


def test_a_pool_frozen_before_listing_days_were_kept_migrates_and_reads_as_the_issue_date(db_url, caplog):
    papers = [listing.paper for listing in parse_api(API_2024_08_01.read_text()).listings[:3]]
    day = date(2024, 8, 1)
    store = app.open_store(DatabaseSettings(url=db_url))
    issue = store.issues.issue(day, FIXED_NOW)
    store.issues.freeze(issue, [PoolPaper(p, day - timedelta(days=2)) for p in papers], FIXED_NOW)
    with store.write() as conn:
        store.papers.record_fetch(conn, FIXED_NOW, FIXED_NOW, None, "hf-api")
    # Turn the file back into schema 5's: no listed_on (migration 6), no fetches.relisted (migration 7).
    with store.write() as conn:
        conn.execute(text("ALTER TABLE issue_papers DROP COLUMN listed_on"))
        conn.execute(text("ALTER TABLE fetches DROP COLUMN relisted"))
        conn.execute(update(schema_version).values(version=5))
    store.dispose()

    caplog.set_level(logging.INFO, logger="newsletter.store")
    store = app.open_store(DatabaseSettings(url=db_url))
    with store.read() as conn:
        assert conn.execute(select(schema_version.c.version)).scalar_one() == len(MIGRATIONS)
    assert f"store: migrated the schema from version 5 to {len(MIGRATIONS)}" in caplog.messages
    snapshot = store.issues.snapshot(issue)
    assert [p.paper.arxiv_id for p in snapshot] == sorted(p.arxiv_id for p in papers)
    assert {p.listed_on for p in snapshot} == {day}
    [logged] = store.papers.recent_fetches()
    assert logged.relisted is None  # logged before the count was kept: shown as unknown, not 0
    store.dispose()


def test_sqlite_parent_directory_is_created(tmp_path):
    store = app.open_store(DatabaseSettings(url=f"sqlite:///{tmp_path / 'deep' / 'dir' / 'n.db'}"))
    assert (tmp_path / "deep" / "dir" / "n.db").exists()
    store.dispose()


def test_empty_fields_never_erase_stored_values(store):
    paper = parse_api(API_2024_08_01.read_text()).listings[0].paper
    with store.write() as conn:
        store.papers.upsert(conn, [(paper, date(2024, 8, 1))], "hf-api", FIXED_NOW)
    bare = replace(paper, abstract="", authors=(), thumbnail=None, upvotes=paper.upvotes + 7)
    with store.write() as conn:
        counts = store.papers.upsert(
            conn, [(bare, date(2024, 8, 2))], "hf-trending", FIXED_NOW + timedelta(hours=1)
        )
    assert (counts.new, counts.updated) == (0, 1)
    [row] = store.papers.listed()
    assert row.paper.abstract == paper.abstract
    assert row.paper.authors == paper.authors
    assert row.paper.thumbnail == paper.thumbnail
    assert row.paper.upvotes == paper.upvotes + 7
    assert (row.first_source, row.first_listing_date, row.first_seen_at) == (
        "hf-api",
        date(2024, 8, 1),
        FIXED_NOW,
    )
    assert store.papers.listing_dates(paper.arxiv_id) == [date(2024, 8, 1), date(2024, 8, 2)]


def test_rows_stored_before_idna_keys_are_found_by_either_spelling_without_a_migration(db_url):
    # Rows exactly as the release before wrote them: the address as normalize_email gives it (an
    # international domain in Unicode), the key the address casefolded. No migration rewrote them.
    store = app.open_store(DatabaseSettings(url=db_url))
    old_rows = [("dorte@exämple.de", "dorte@exämple.de"), ("Ada@example.org", "ada@example.org")]
    with store.write() as conn:
        for address, key in old_rows:
            conn.execute(
                insert(subscribers).values(
                    email=address, email_key=key, status="active", topics=["speech"], excludes=[],
                    topics_key=topics_key(["speech"], []), timezone="UTC", hour=7, cadence="daily",
                    weekday=0, per_email=10, created_at=FIXED_NOW, confirmed_at=FIXED_NOW,
                    updated_at=FIXED_NOW,
                )
            )  # fmt: skip
    for spelling, stored in (
        ("dorte@exämple.de", "dorte@exämple.de"),
        ("dorte@xn--exmple-cua.de", "dorte@exämple.de"),
        ("DORTE@XN--EXMPLE-CUA.DE", "dorte@exämple.de"),
        ("ada@EXAMPLE.org", "Ada@example.org"),
    ):
        found = store.subscribers.by_email(spelling)
        assert found is not None and found.email == stored, spelling
    # The unique key still holds against the other spelling.
    prefs = preferences(["robotics"], timezone="UTC", hour=7)
    with pytest.raises(DuplicateSubscriber):
        store.subscribers.add("dorte@xn--exmple-cua.de", prefs, "active", FIXED_NOW)
    assert store.subscribers.remove("dorte@xn--exmple-cua.de")
    assert [s.email for s in store.subscribers.listed()] == ["Ada@example.org"]
    store.dispose()
