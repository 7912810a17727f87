"""What the delivery tick costs to find its readers, at N subscribers spread over the world's mornings.

Run: .venv/bin/python bench/tick.py [--n 100000]

Builds a SQLite database of N active subscribers over 40 time zones, delivery hours 5-9 and
15% weekly readers, then runs `due_subscribers` (the first step of every tick) every 5 minutes
of one UTC day, as the scheduler does with `tick_minutes = 5`. The readers each tick finds are
marked queued with a bare ledger row, so only the lookup is measured. It prints the lookup's
time per tick (median, 95th percentile, worst) and the most readers one tick found. The last
line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.models import Subscriber
from newsletter.schedule import due_subscribers
from newsletter.store import Store
from newsletter.store.schema import deliveries
from newsletter.subscribers import Preferences

DAY = datetime(2026, 8, 12, tzinfo=UTC)
ZONES = (
    "UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "Europe/Madrid", "Europe/Rome",
    "Europe/Amsterdam", "Europe/Stockholm", "Europe/Warsaw", "Europe/Kyiv", "Europe/Istanbul",
    "Asia/Dubai", "Asia/Kolkata", "Asia/Dhaka", "Asia/Bangkok", "Asia/Singapore", "Asia/Shanghai",
    "Asia/Hong_Kong", "Asia/Seoul", "Asia/Tokyo", "Australia/Perth", "Australia/Sydney",
    "Pacific/Auckland", "America/Sao_Paulo", "America/Argentina/Buenos_Aires", "America/Bogota",
    "America/Mexico_City", "America/New_York", "America/Toronto", "America/Chicago", "America/Denver",
    "America/Phoenix", "America/Los_Angeles", "America/Vancouver", "America/Anchorage",
    "Pacific/Honolulu", "Africa/Lagos", "Africa/Nairobi", "Africa/Johannesburg", "Asia/Jerusalem",
)  # fmt: skip


def fill(store: Store, n: int, seed: int) -> None:
    rng = random.Random(seed)
    readers = (
        (
            f"reader{i}@example.org",
            Preferences(
                ("LLM reasoning",),
                timezone=rng.choice(ZONES),
                hour=rng.randint(5, 9),
                cadence="weekly" if rng.random() < 0.15 else "daily",
                weekday=rng.randint(0, 6),
            ),
        )
        for i in range(n)
    )
    store.subscribers.add_many(readers, "active", DAY - timedelta(days=30))


def mark_queued(store: Store, found: dict[date, list[Subscriber]], now: datetime) -> int:
    """A bare ledger row for each found reader, as queueing would leave."""
    rows = []
    for issue_date, subs in found.items():
        issue = store.issues.issue(issue_date, now)
        rows += [
            {
                "issue_id": issue.id,
                "subscriber_id": sub.id,
                "status": "sent",
                "kind": "digest",
                "picks": [],
                "trending": [],
                "message_id": f"<{issue.id}.{sub.id}@bench>",
                "attempts": 1,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for sub in subs
        ]
    if rows:
        with store.write() as conn:
            conn.execute(deliveries.insert(), rows)
    return len(rows)


def timed(store: Store, now: datetime) -> tuple[float, dict[date, list[Subscriber]]]:
    def begun(day: date) -> bool:
        # As the tick asks it: whether the issue of the day before a reader's midnight had started.
        issue = store.issues.find_issue(day)
        return issue is not None and issue.frozen_at is not None

    started = time.perf_counter()
    found = due_subscribers(store.subscribers, now, begun)
    return time.perf_counter() - started, found


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="subscribers (default 100,000)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = app.open_store(DatabaseSettings(url=f"sqlite:///{Path(tmp) / 'tick.db'}"))
        started = time.perf_counter()
        fill(store, args.n, seed=1)
        schedules = len(store.subscribers.schedules("active"))
        print(
            f"setup: {args.n} subscribers on {schedules} schedules in {time.perf_counter() - started:.1f} s"
        )
        # The evening before: the west's readers already have the 11th's issue.
        previous = DAY - timedelta(minutes=5)
        mark_queued(store, timed(store, previous)[1], previous)
        times: list[float] = []
        found_per_tick: list[int] = []
        for tick in range(24 * 60 // 5):
            now = DAY + timedelta(minutes=5 * tick)
            seconds, found = timed(store, now)
            times.append(seconds * 1000)
            found_per_tick.append(mark_queued(store, found, now))
        times.sort()
        figures = {
            "subscribers": args.n,
            "ticks": len(times),
            "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(times[int(len(times) * 0.95)], 1),
            "max_ms": round(times[-1], 1),
            "most_found": max(found_per_tick),
            "found": sum(found_per_tick),
        }
        print(
            f"{figures['ticks']} ticks: lookup median {figures['median_ms']} ms, 95th percentile "
            f"{figures['p95_ms']} ms, worst {figures['max_ms']} ms; {figures['found']} readers found, "
            f"at most {figures['most_found']} in one tick"
        )
        store.dispose()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
