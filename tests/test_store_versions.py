"""Schema versions: a store newer than this code is refused; an older one is brought up to date."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text, update

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.store.migrations import MIGRATIONS
from newsletter.store.schema import deliveries, schema_version, subscribers
from newsletter.subscribers import preferences
from tests.conftest import FIXED_NOW, HF_API


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_store_from_a_newer_release_is_refused_with_exit_4(run_cli, db_url, request, backend):
    url = db_url
    if backend == "postgres":
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        url = request.getfixturevalue("pg_url")
    store = app.open_store(DatabaseSettings(url=url))
    newer = len(MIGRATIONS) + 1
    # What a newer release's migration leaves: a column, a meaning, this code does not know.
    with store.write() as conn:
        conn.execute(update(schema_version).values(version=newer))
    store.dispose()

    for args in (["papers"], ["worker", "--until-done"], ["send", "--queue-only"]):
        result = run_cli(*args, env={"NEWSLETTER_DATABASE_URL": url})
        assert result.exit_code == 4, result.output
        said = (
            f"the database is at schema version {newer}, newer than this newsletter knows "
            f"({len(MIGRATIONS)}): upgrade newsletter here too"
        )
        assert said in result.stderr.splitlines()[-1]


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_version_8_store_gains_the_index_a_readers_history_is_read_by(db_url, request, backend):
    # A reader's manage page and feed, and removing a reader, read the ledger by subscriber alone:
    # without this index each scanned the whole ledger, which grows by one row per reader a day.
    if backend == "postgres":
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        db_url = request.getfixturevalue("pg_url")
    store = app.open_store(DatabaseSettings(url=db_url))

    def indexed() -> bool:
        with store.read() as conn:
            return "ix_deliveries_subscriber" in {i["name"] for i in inspect(conn).get_indexes("deliveries")}

    assert indexed()  # a new store is created with it
    with store.write() as conn:  # the store as version 8 left it
        conn.execute(text("DROP INDEX ix_deliveries_subscriber"))
        conn.execute(update(schema_version).values(version=8))
    assert not indexed()
    assert store.migrate() == len(MIGRATIONS)
    assert indexed()
    store.dispose()


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_version_10_ledger_gets_each_row_s_cadence_from_its_reader(db_url, request, backend, run_cli):
    if backend == "postgres":
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        db_url = request.getfixturevalue("pg_url")
    march = HF_API / "daily_papers_2025-03-11.json"
    env = {"NEWSLETTER_DATABASE_URL": db_url}
    assert run_cli("fetch", "--file", str(march), "--date", "2025-03-11", env=env).exit_code == 0
    store = app.open_store(DatabaseSettings(url=db_url))
    for email, cadence in (("d@example.org", "daily"), ("w@example.org", "weekly")):
        prefs = preferences(["LLM"], timezone="UTC", hour=7, cadence=cadence, weekday="tue")  # a Tuesday
        store.subscribers.add(email, prefs, "active", FIXED_NOW)
    assert run_cli("send", "--date", "2025-03-11", "--queue-only", env=env).exit_code == 0
    with store.write() as conn:  # the ledger as version 10 left it: no cadence kept
        conn.execute(text("ALTER TABLE deliveries DROP COLUMN cadence"))
        conn.execute(update(schema_version).values(version=10))
    assert store.migrate() == len(MIGRATIONS)
    with store.read() as conn:
        query = select(subscribers.c.email, deliveries.c.cadence).join(subscribers)
        kept = dict(conn.execute(query.order_by(subscribers.c.email)).all())
    store.dispose()
    # Each row now keeps its reader's cadence as of the upgrade: no later switch renames it.
    assert kept == {"d@example.org": "daily", "w@example.org": "weekly"}
