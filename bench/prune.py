"""What the daily prune costs: a store with R readers and D days of history, pruned to K days.

Run: .venv/bin/python bench/prune.py [--readers 10000] [--days 30] [--keep 15] [--url URL]

Builds the history straight into the tables (SQLite in a temporary folder, or the empty database
of --url, such as a PostgreSQL one): 40 papers listed a day, and each day an issue frozen with
them and one sent ledger row per reader, with 10 picks each and their sent-paper records. Then it
times `prune --dry-run` and `prune` (keep_days K) and a second prune, which finds nothing. It
prints the rows removed and the times; the last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.store import Store
from newsletter.store.retention import prune
from newsletter.store.schema import deliveries, issue_papers, issues, listings, papers, sent_papers
from newsletter.subscribers import Preferences

START = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
PAPERS_A_DAY = 40
PICKS = 10


def fill(store: Store, readers: int, days: int) -> None:
    """Readers, and `days` days of papers, frozen issues, sent rows and sent-paper records."""
    prefs = Preferences(("LLM reasoning",), timezone="UTC", hour=7)
    store.subscribers.add_many(((f"r{i}@example.org", prefs) for i in range(readers)), "active", START)
    ids = [s.id for s in store.subscribers.listed()]
    for day in range(days):
        now = START + timedelta(days=day)
        listed = [f"2603.{day:02d}{n:03d}" for n in range(PAPERS_A_DAY)]
        paper_rows = [_paper(arxiv_id, now) for arxiv_id in listed]
        with store.write() as conn:
            conn.execute(insert(papers), paper_rows)
            conn.execute(
                insert(listings),
                [{"arxiv_id": a, "listing_date": now.date(), "source": "hf-api", "first_seen_at": now}
                 for a in listed],
            )  # fmt: skip
            issue_id = conn.execute(
                insert(issues).values(issue_date=now.date(), created_at=now, frozen_at=now)
            ).inserted_primary_key[0]
            conn.execute(
                insert(issue_papers),
                [{"issue_id": issue_id, "arxiv_id": a, "paper": {"arxiv_id": a}, "listed_on": now.date()}
                 for a in listed],
            )  # fmt: skip
        for start in range(0, len(ids), 2000):
            chunk = ids[start : start + 2000]
            rows: list[dict[str, Any]] = []
            sent: list[dict[str, Any]] = []
            for sub_id in chunk:
                picks = [listed[(sub_id + k) % PAPERS_A_DAY] for k in range(PICKS)]
                rows.append(_delivery(issue_id, sub_id, picks, now))
                sent += [{"subscriber_id": sub_id, "arxiv_id": a, "issue_date": now.date(), "sent_at": now}
                         for a in picks]  # fmt: skip
            with store.write() as conn:
                conn.execute(insert(deliveries), rows)
                conn.execute(insert(sent_papers), sent)


def _paper(arxiv_id: str, now: datetime) -> dict[str, Any]:
    return {
        "arxiv_id": arxiv_id, "title": f"Paper {arxiv_id}", "abstract": "An abstract.", "authors": [],
        "ai_keywords": [], "first_seen_at": now, "first_source": "hf-api",
        "first_listing_date": now.date(), "updated_at": now,
    }  # fmt: skip


def _delivery(issue_id: int, sub_id: int, picks: list[str], now: datetime) -> dict[str, Any]:
    return {
        "issue_id": issue_id, "subscriber_id": sub_id, "status": "sent", "kind": "digest",
        "picks": [{"arxiv_id": a, "topic": "LLM reasoning", "score": 0.5, "matched": ["reasoning"]}
                  for a in picks],
        "trending": [], "message_id": f"<{issue_id}.{sub_id}@bench>", "attempts": 1,
        "next_attempt_at": now, "sent_at": now, "created_at": now, "updated_at": now,
    }  # fmt: skip


def run(url: str, readers: int, days: int, keep: int) -> dict[str, Any]:
    store = app.open_store(DatabaseSettings(url=url))
    try:
        started = time.perf_counter()
        fill(store, readers, days)
        setup = time.perf_counter() - started
        print(f"setup: {readers:,} readers x {days} days of history in {setup:.1f} s")
        now = START + timedelta(days=days)
        timings = {}
        for name, dry_run in (("dry_run", True), ("prune", False), ("again", False)):
            started = time.perf_counter()
            pruned = prune(store, keep, now, dry_run=dry_run)
            timings[name] = round(time.perf_counter() - started, 2)
            print(f"{name}: {timings[name]} s: {pruned.line(dry_run)}")
            if name == "prune":
                removed = {"deliveries": pruned.deliveries, "sent_papers": pruned.sent_papers}
        return {"readers": readers, "days": days, "keep_days": keep, **removed, **timings}
    finally:
        if not url.startswith("sqlite"):
            with store.write() as conn:  # leave the database empty, as it was given
                for table in (sent_papers, deliveries, issue_papers, issues, listings, papers):
                    conn.execute(delete(table))
        store.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readers", type=int, default=10_000, help="readers (default 10,000)")
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--keep", type=int, default=15, help="keep_days to prune to (default 15)")
    parser.add_argument("--url", help="an empty database to use instead of a temporary SQLite file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'prune.db'}"
        figures = run(url, args.readers, args.days, args.keep)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
