"""A store whose schema is newer than this code (another machine upgraded first) is refused, not used."""

from __future__ import annotations

import pytest
from sqlalchemy import update

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
