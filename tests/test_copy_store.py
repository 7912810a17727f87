"""`newsletter copy-store`: an install's whole store moved into another database, SQLite or PostgreSQL."""

from __future__ import annotations

import importlib.util
from datetime import timedelta

import pytest
from sqlalchemy import select

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.store.copy import row_counts
from newsletter.store.schema import leases, meta
from newsletter.subscribers import preferences
from tests.conftest import API_2024_08_01, FIXED_NOW

DAY = "2024-08-01"
SECRETLESS = {"NEWSLETTER_WEB_SECRET_KEY": None}  # the signing key then lives in the store: it must move too


def lived_in(run_cli) -> None:
    """A store with papers, readers, a sent issue with its history, and a stored signing key."""
    assert run_cli("fetch", "--file", str(API_2024_08_01)).exit_code == 0
    for email, topic in (("ada@example.org", "LLM reasoning"), ("bo@example.org", "video generation")):
        assert run_cli("subscribers", "add", email, "--topic", topic).exit_code == 0
    assert run_cli("subscribers", "add", "cy@example.org", "--topic", "speech", "--pending").exit_code == 0
    sent = run_cli("send", "--date", DAY, env=SECRETLESS)  # to the outbox
    assert sent.exit_code == 0 and "2 sent" in sent.stdout, sent.output


def snapshot(url: str) -> dict[str, object]:
    store = app.open_store(DatabaseSettings(url=url))
    try:
        with store.read() as conn:
            signing_key = conn.execute(select(meta.c.value).where(meta.c.key == "secret_key")).scalar()
        issue = store.issues.find_issue(FIXED_NOW.date() - timedelta(days=1))
        arxiv_ids = [p.paper.arxiv_id for p in store.papers.listed()]
        assert issue is not None
        return {
            "counts": _counts(store),
            "subscribers": [(s.email, s.status, s.topics, s.created_at) for s in store.subscribers.listed()],
            "ledger": store.history.counts(issue),
            "sent": dict(store.subscribers.sent_ids([s.id for s in store.subscribers.listed()], arxiv_ids)),
            "papers": [(p.paper.arxiv_id, p.paper.upvotes, p.first_seen_at) for p in store.papers.listed()],
            "signing_key": signing_key,
        }
    finally:
        store.dispose()


def _counts(store) -> dict[str, int]:
    with store.read() as conn:
        return row_counts(conn)


@pytest.mark.parametrize("target", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_lived_in_store_moves_whole_and_keeps_working(run_cli, db_url, tmp_path, request, target):
    lived_in(run_cli)
    if target == "postgres":
        pytest.importorskip("psycopg", reason="the postgres extra is not installed")
        target_url = request.getfixturevalue("pg_url")
    else:
        target_url = f"sqlite:///{tmp_path / 'moved' / 'newsletter.db'}"
    before = snapshot(db_url)
    assert before["signing_key"] and before["sent"]  # links and history that must survive the move

    result = run_cli("copy-store", "--to", target_url)
    assert result.exit_code == 0, result.output
    assert "copy-store: subscribers: 3 rows" in result.stderr
    counts = before["counts"]
    assert isinstance(counts, dict)
    total = sum(counts.values())
    assert f"copy-store: {total} rows in " in result.stdout
    assert snapshot(target_url) == before

    # The moved install carries on: nobody gets the sent issue twice, and new rows get new ids.
    moved = {"NEWSLETTER_DATABASE_URL": target_url, **SECRETLESS}
    again = run_cli("send", "--date", DAY, env=moved)
    assert again.exit_code == 0 and "0 sent" in again.stdout, again.output
    added = run_cli("subscribers", "add", "dee@example.org", "--topic", "robotics", env=moved)
    assert added.exit_code == 0, added.output
    store = app.open_store(DatabaseSettings(url=target_url))
    try:
        ids = [s.id for s in store.subscribers.listed()]
        assert len(set(ids)) == 4 and ids[-1] > max(ids[:-1])
    finally:
        store.dispose()


def test_the_copy_refuses_a_target_that_holds_data_and_changes_nothing(run_cli, db_url, tmp_path):
    lived_in(run_cli)
    target_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = app.open_store(DatabaseSettings(url=target_url))
    zed = preferences(["speech"], timezone="UTC", hour=7)
    other.subscribers.add("zed@example.org", zed, "active", FIXED_NOW)
    other.dispose()
    result = run_cli("copy-store", "--to", target_url)
    assert result.exit_code == 2
    said = "error: the target already holds data (subscribers 1); copy only into an empty database"
    assert result.stderr.splitlines()[-1] == said
    store = app.open_store(DatabaseSettings(url=target_url))
    assert [s.email for s in store.subscribers.listed()] == ["zed@example.org"]
    store.dispose()

    # A running service would write rows the copy misses: it must be stopped first.
    store = app.open_store(DatabaseSettings(url=db_url))
    assert store.leases.acquire("scheduler", "host:123:abc", FIXED_NOW, 60)
    running = run_cli("copy-store", "--to", f"sqlite:///{tmp_path / 'empty.db'}")
    assert running.exit_code == 2
    said = "a scheduler is running on this store (host:123:abc): stop `newsletter run` first"
    assert said in running.stderr
    assert not (tmp_path / "empty.db").exists()
    store.leases.release("scheduler", "host:123:abc")
    store.dispose()

    itself = run_cli("copy-store", "--to", db_url)
    assert itself.exit_code == 2 and "the database the store already uses" in itself.stderr
    nonsense = run_cli("copy-store", "--to", "not a url")
    assert nonsense.exit_code == 2 and "not a database URL" in nonsense.stderr


def test_a_database_driver_that_is_not_installed_is_named(run_cli, tmp_path):
    if importlib.util.find_spec("pg8000") is not None:
        pytest.skip("pg8000 is installed here: this test needs a driver that is not")
    url = "postgresql+pg8000://newsletter@127.0.0.1/newsletter"
    hint = "postgresql+pg8000 needs the pg8000 package, which is not installed; for PostgreSQL use"
    as_store = run_cli("papers", env={"NEWSLETTER_DATABASE_URL": url})
    assert as_store.exit_code == 2 and f"error: database.url: {hint}" in as_store.stderr
    as_target = run_cli("copy-store", "--to", url)
    assert as_target.exit_code == 2 and f"error: --to: {hint}" in as_target.stderr


def test_the_copy_holds_the_scheduler_lease_and_gives_it_back_whatever_happens(run_cli, db_url, tmp_path):
    # While the copy runs, a scheduler started by mistake only stands by; after it, one starts at once.
    lived_in(run_cli)
    store = app.open_store(DatabaseSettings(url=db_url))
    try:
        for target, code in (("full.db", 2), ("empty.db", 0)):
            if target == "full.db":
                full = app.open_store(DatabaseSettings(url=f"sqlite:///{tmp_path / target}"))
                zed = preferences(["speech"], timezone="UTC", hour=7)
                full.subscribers.add("zed@example.org", zed, "active", FIXED_NOW)
                full.dispose()
            result = run_cli("copy-store", "--to", f"sqlite:///{tmp_path / target}")
            assert result.exit_code == code, result.output
            with store.read() as conn:
                (row,) = conn.execute(select(leases)).mappings().all()
            assert row["holder"].startswith("copy-store:"), target  # it held the lease
            assert store.leases.holder("scheduler", FIXED_NOW) is None, target  # and gave it back
        assert store.leases.acquire("scheduler", "host:123:abc", FIXED_NOW, 60)
    finally:
        store.dispose()
