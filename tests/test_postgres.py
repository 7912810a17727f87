"""Scale-out on a real PostgreSQL: several `newsletter worker` processes share one issue's queue.

Needs a PostgreSQL server: NEWSLETTER_TEST_POSTGRES_URL, default postgresql+psycopg://postgres@127.0.0.1:5432/test
(trust auth). Each test works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from newsletter import app
from newsletter.config import DatabaseSettings, load_settings
from newsletter.deliver.run import queue_issue
from newsletter.scrape import parse_api
from newsletter.subscribers import Preferences
from tests.conftest import HF_API
from tests.faults.support import report
from tests.test_schedule import due_readers_scenario

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ISSUE = date(2025, 10, 3)
NOW = datetime(2025, 10, 3, 7, 0, tzinfo=UTC)
READERS = 3000
ROOT = Path(__file__).resolve().parent.parent


def env_for(pg_url: str, port: int) -> dict[str, str]:
    return {
        "NEWSLETTER_DATABASE_URL": pg_url,
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
        "NEWSLETTER_DELIVERY_BATCH_SIZE": "20",
        "NEWSLETTER_DELIVERY_LEASE_S": "4",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_SMTP_POOL_SIZE": "2",
        "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
        "NEWSLETTER_WEB_SECRET_KEY": "postgres-test-secret-key",
        "NEWSLETTER_LOG_LEVEL": "WARNING",
    }


def queue_readers(pg_url: str, port: int) -> None:
    """3,000 active readers and the issue of 2025-10-03 queued for them, on PostgreSQL."""
    settings = load_settings(None, env_for(pg_url, port))
    store = app.open_store(DatabaseSettings(url=pg_url))
    listings = parse_api((HF_API / "daily_papers_2025-10-03.json").read_text()).listings
    with store.write() as conn:
        store.papers.upsert(conn, [(li.paper, ISSUE) for li in listings], "hf-api", NOW)
    topics = ["video generation", "LLM reasoning", "agents", "diffusion", "robotics"]
    readers = (
        (f"r{i}@example.org", Preferences((topics[i % 5], topics[(i + 2) % 5]), per_email=5))
        for i in range(READERS)
    )
    store.subscribers.add_many(readers, "active", NOW - timedelta(days=9))
    queued = queue_issue(store, settings, ISSUE, lambda: NOW)
    assert queued.digest + queued.trending == READERS
    store.dispose()


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, "-m", "newsletter", "worker", "--until-done", "--poll", "0.3"]
    return [
        subprocess.Popen(
            command, env={**os.environ, **env}, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(count)
    ]


def finish(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        _out, err = worker.communicate(timeout=300)
        assert worker.returncode == 0, err.decode()[-2000:]


def test_three_workers_send_each_reader_exactly_one_message(pg_url, smtp):
    handler, controller = smtp
    queue_readers(pg_url, controller.port)
    finish(start_workers(3, env_for(pg_url, controller.port)))
    counts = Counter(r.recipient for r in handler.received)
    assert len(counts) == READERS
    assert set(counts.values()) == {1}
    store = app.open_store(DatabaseSettings(url=pg_url))
    issue = store.issues.find_issue(ISSUE)
    assert issue is not None and store.history.counts(issue)["sent"] == READERS
    store.dispose()


def test_a_worker_killed_mid_batch_loses_nothing(pg_url, smtp, capsys):
    handler, controller = smtp
    queue_readers(pg_url, controller.port)
    env = env_for(pg_url, controller.port)
    workers = start_workers(3, env)
    deadline = time.monotonic() + 120
    while len(handler.received) < READERS // 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    victim = workers[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finish(workers[1:])
    counts = Counter(r.recipient for r in handler.received)
    lost = READERS - len(counts)
    duplicated = sum(n - 1 for n in counts.values())
    in_flight = int(env["NEWSLETTER_SMTP_POOL_SIZE"])
    report(capsys, f"killed worker: lost {lost}, duplicated {duplicated} (bound: {in_flight} in flight)")
    assert lost == 0
    assert duplicated <= in_flight
    store = app.open_store(DatabaseSettings(url=pg_url))
    issue = store.issues.find_issue(ISSUE)
    assert issue is not None and store.history.counts(issue)["sent"] == READERS
    store.dispose()


def test_one_scheduler_lease_on_postgres(pg_url):
    store = app.open_store(DatabaseSettings(url=pg_url))
    assert store.leases.acquire("scheduler", "a", NOW, 60)
    assert not store.leases.acquire("scheduler", "b", NOW + timedelta(seconds=10), 60)
    assert store.leases.acquire("scheduler", "b", NOW + timedelta(seconds=61), 60)
    assert store.leases.holder("scheduler", NOW + timedelta(seconds=62)) == "b"
    store.dispose()


def test_the_tick_finds_due_readers_on_postgres(pg_url):
    store = app.open_store(DatabaseSettings(url=pg_url))
    try:
        due_readers_scenario(store, load_settings(None, env_for(pg_url, 25)))
    finally:
        store.dispose()


def test_sign_outs_from_two_processes_at_once_each_count_on_postgres(pg_url):
    # The admin sessions counter: every sign-out must bump it, even when two race on one row.
    stores = [app.open_store(DatabaseSettings(url=pg_url)) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            numbers = list(pool.map(lambda n: stores[n % 2].bump_counter("race"), range(40)))
        assert sorted(numbers) == list(range(1, 41))
        assert stores[0].counter("race") == 40
    finally:
        for store in stores:
            store.dispose()
