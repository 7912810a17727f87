"""The retention suites' shared scenario: a store with 220 days of ada's history, on SQLite and on
PostgreSQL (skipped with the reason when there is none)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.scrape import parse_api
from newsletter.store import Store
from newsletter.store.schema import deliveries, fetches, issue_papers, issues, sent_papers
from newsletter.subscribers import preferences
from tests.conftest import HF_API, CliRunnerFn

NOW = datetime(2026, 6, 10, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
OLD = TODAY - timedelta(days=220)  # sent, and its papers never listed again
OLD_RELISTED = TODAY - timedelta(days=205)  # sent; one of its papers is listed again this week
OLD_QUEUED = TODAY - timedelta(days=190)  # queued, never sent
YESTERDAY = TODAY - timedelta(days=1)
DAYS = {
    OLD: "daily_papers_2025-10-03.json",
    OLD_RELISTED: "daily_papers_2025-07-22.json",
    OLD_QUEUED: "daily_papers_2025-05-30.json",
    YESTERDAY: "daily_papers_2026-06-03.json",
}
TOPICS = ["LLM reasoning", "video generation", "agents", "diffusion", "robotics"]
TABLES = {
    "deliveries": deliveries,
    "sent_papers": sent_papers,
    "issue_papers": issue_papers,
    "fetches": fetches,
}


def at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def list_papers(store: Store, fixture: str, day: date) -> None:
    """List a saved API response's papers under `day`, with the fetch that brought them."""
    found = parse_api((HF_API / fixture).read_text()).listings
    with store.write() as conn:
        store.papers.upsert(conn, [(li.paper, day) for li in found], "hf-api", at(day, 6))
        store.papers.record_fetch(conn, at(day, 6), at(day, 6), None, "hf-api")


def rows(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {
            name: conn.execute(select(func.count()).select_from(t)).scalar_one() for name, t in TABLES.items()
        }


def had(store: Store, email: str) -> set[str]:
    """The papers the sent history says `email` already had."""
    sub = store.subscribers.by_email(email)
    assert sub is not None
    with store.read() as conn:
        query = select(sent_papers.c.arxiv_id).where(sent_papers.c.subscriber_id == sub.id)
        return set(conn.execute(query).scalars())


def picks(run: CliRunnerFn, email: str) -> list[str]:
    result = run("picks", "--email", email, "--date", TODAY.isoformat(), "--json", clock=lambda: NOW)
    assert result.exit_code == 0, result.output
    return [json.loads(line)["arxiv_id"] for line in result.stdout.splitlines()]


@dataclass
class History:
    """A store with 220 days of history: what ada got, day by day."""

    url: str
    store: Store
    run: CliRunnerFn
    outbox: Path
    got: dict[date, set[str]]
    relisted: str


def build_history(url: str, tmp_path: Path) -> History:
    store = app.open_store(DatabaseSettings(url=url))
    outbox = tmp_path / "outbox"
    run = CliRunnerFn(env={"NEWSLETTER_DATABASE_URL": url, "NEWSLETTER_DELIVERY_OUTBOX": str(outbox)})
    prefs = preferences(TOPICS, timezone="UTC", hour=7, per_email=5)
    store.subscribers.add("ada@example.org", prefs, "active", at(OLD - timedelta(days=1)))
    got: dict[date, set[str]] = {}
    for day, fixture in DAYS.items():
        list_papers(store, fixture, day)
        before = had(store, "ada@example.org")
        queue_only = ("--queue-only",) if day == OLD_QUEUED else ()
        result = run("send", "--date", day.isoformat(), *queue_only, clock=lambda day=day: at(day))
        assert result.exit_code == 0, result.output
        got[day] = had(store, "ada@example.org") - before
    # A failed fetch long ago: the fetch log forgets it.
    with store.write() as conn:
        store.papers.record_fetch(conn, at(OLD, 7), at(OLD, 7), None, "hf-api", error="timed out")
    # The first paper picked for ada 205 days ago trends again this week.
    ada = store.subscribers.by_email("ada@example.org")
    assert ada is not None
    relisted = next(
        chosen[0]["arxiv_id"]
        for day, chosen, *_rest in store.history.sent_digests(ada.id)
        if day == OLD_RELISTED
    )
    paper = store.papers.by_ids({relisted})[relisted]
    with store.write() as conn:
        store.papers.upsert(conn, [(paper, TODAY - timedelta(days=2))], "hf-api", NOW)
    # Bob joins today with ada's topics: what he is offered, ada would be too, but for her history.
    store.subscribers.add(
        "bob@example.org", preferences(TOPICS, timezone="UTC", hour=7, per_email=30), "active", NOW
    )
    return History(url, store, run, outbox, got, relisted)


@pytest.fixture(params=["sqlite", "postgresql"])
def history(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    url = (
        f"sqlite:///{tmp_path / 'newsletter.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    world = build_history(url, tmp_path)
    yield world
    world.store.dispose()


def pool_size(store: Store, day: date) -> int:
    with store.read() as conn:
        query = select(func.count()).select_from(issue_papers.join(issues)).where(issues.c.issue_date == day)
        return int(conn.execute(query).scalar_one())
