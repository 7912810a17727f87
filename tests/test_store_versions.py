"""Schema versions: a store newer than this code is refused; an older one is brought up to date."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, text, update

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.store.migrations import MIGRATIONS
from newsletter.store.schema import schema_version


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
