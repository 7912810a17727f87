"""What the fault suites share: a store with readers, the CLI in a subprocess, and printed counts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.scrape import parse_api
from newsletter.subscribers import Preferences
from tests.conftest import HF_API
from tests.smtp_server import Received

ROOT = Path(__file__).resolve().parents[2]
ISSUE = date(2025, 10, 3)
MORNING = datetime(2025, 10, 3, 7, 0, tzinfo=UTC)
TOPICS = ["video generation", "LLM reasoning", "agents", "diffusion", "robotics", "speech"]


def fill_store(db_url: str, readers: int) -> None:
    """The 2025-10-03 papers, fetched, and `readers` active subscribers."""
    store = app.open_store(DatabaseSettings(url=db_url))
    listings = parse_api((HF_API / "daily_papers_2025-10-03.json").read_text()).listings
    with store.write() as conn:
        items = [(li.paper, ISSUE) for li in listings]
        store.papers.upsert(conn, items, "hf-api", MORNING - timedelta(hours=1))
        store.papers.record_fetch(conn, MORNING, MORNING, None, "hf-api")
    readers_prefs = (
        (
            f"r{i}@example.org",
            Preferences((TOPICS[i % len(TOPICS)], TOPICS[(i + 3) % len(TOPICS)]), per_email=5),
        )
        for i in range(readers)
    )
    store.subscribers.add_many(readers_prefs, "active", MORNING - timedelta(days=9))
    store.dispose()


def smtp_env(db_url: str, port: int, **extra: str) -> dict[str, str]:
    env = {
        "NEWSLETTER_DATABASE_URL": db_url,
        "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
        "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
        "NEWSLETTER_SMTP_HOST": "127.0.0.1",
        "NEWSLETTER_SMTP_PORT": str(port),
        "NEWSLETTER_SMTP_SECURITY": "none",
        "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
        "NEWSLETTER_WEB_SECRET_KEY": "faults-secret-key-0123456789",
        "NEWSLETTER_LOG_LEVEL": "WARNING",
    }
    env.update(extra)
    return env


def cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`newsletter ARGS` in a subprocess, so that it can be killed like a real process."""
    return subprocess.Popen(
        [sys.executable, "-m", "newsletter", *args],
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def ledger_counts(db_url: str) -> dict[str, int]:
    """The issue's ledger rows by status."""
    store = app.open_store(DatabaseSettings(url=db_url))
    try:
        issue = store.issues.find_issue(ISSUE)
        return store.history.counts(issue) if issue else {}
    finally:
        store.dispose()


def delivery_counts(received: list[Received], readers: int) -> tuple[int, int]:
    """(readers who got nothing, extra copies) from what the SMTP server accepted."""
    counts = Counter(r.recipient for r in received)
    lost = sum(1 for i in range(readers) if counts[f"r{i}@example.org"] == 0)
    duplicated = sum(n - 1 for n in counts.values() if n > 1)
    return lost, duplicated


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Print a count line where CI shows it, whatever pytest captures."""
    with capsys.disabled():
        print(f"\n[faults] {line}")
