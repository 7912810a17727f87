"""Crash-resume proof: `newsletter send` and `newsletter fetch` killed with SIGKILL at random points.

Counts are printed (lost, duplicated); duplicates are bounded by the connections that can be
in flight when the process dies, times the number of kills.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import time

import pytest
from sqlalchemy import func, select

from newsletter import app
from newsletter.config import DatabaseSettings
from newsletter.store.schema import listings, papers
from tests.conftest import HF_API
from tests.faults.support import ISSUE, cli, delivery_counts, fill_store, ledger_counts, report, smtp_env

pytestmark = pytest.mark.slow

READERS = 2000
KILLS = 10
CONNECTIONS = 4


def test_send_killed_ten_times_loses_nobody(db_url, smtp, capsys):
    handler, controller = smtp
    fill_store(db_url, READERS)
    env = smtp_env(
        db_url,
        controller.port,
        NEWSLETTER_SMTP_POOL_SIZE=str(CONNECTIONS),
        NEWSLETTER_DELIVERY_LEASE_S="2",
        NEWSLETTER_DELIVERY_BATCH_SIZE="20",
    )
    rng = random.Random(20261125)
    kills = 0
    for _ in range(KILLS):
        process = cli(["send", "--date", ISSUE.isoformat()], env)
        try:
            process.wait(timeout=rng.uniform(0.5, 2.5))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
    # Restart until done; rows a killed sender had claimed come back once its lease runs out.
    for _ in range(10):
        counts = ledger_counts(db_url)
        if counts and counts["sent"] == READERS:
            break
        time.sleep(2.1)
        process = cli(["send", "--date", ISSUE.isoformat()], env)
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err.decode()[-2000:]
    counts = ledger_counts(db_url)
    lost, duplicated = delivery_counts(handler.received, READERS)
    bound = CONNECTIONS * kills
    report(
        capsys,
        f"send killed {kills} times: lost {lost}, duplicated {duplicated} (bound {bound}), "
        f"deferred {counts.get('deferred', 0)}, failed {counts.get('failed', 0)}",
    )
    assert kills == KILLS, "the send finished before every kill: give it more work"
    assert counts["sent"] == READERS
    assert lost == 0
    assert duplicated <= bound


def big_api_file(path, copies: int) -> int:
    """A saved API response with `copies` times the 2025-10-03 papers, under fresh arXiv ids."""
    items = json.loads((HF_API / "daily_papers_2025-10-03.json").read_text())
    many = []
    for copy in range(copies):
        for n, item in enumerate(items):
            clone = json.loads(json.dumps(item))
            clone["paper"]["id"] = f"2510.{90000 + copy * len(items) + n:05d}"
            many.append(clone)
    path.write_text(json.dumps(many))
    return len(many)


def stored(db_url: str) -> tuple[int, int]:
    store = app.open_store(DatabaseSettings(url=db_url))
    try:
        with store.read() as conn:
            return (
                conn.execute(select(func.count()).select_from(papers)).scalar_one(),
                conn.execute(select(func.count()).select_from(listings)).scalar_one(),
            )
    finally:
        store.dispose()


def test_fetch_killed_mid_import_never_leaves_the_store_half_written(db_url, tmp_path, capsys):
    big = tmp_path / "big.json"
    total = big_api_file(big, 60)
    env = smtp_env(db_url, 25)
    rng = random.Random(7)
    seen = set()
    kills = 0
    for _ in range(KILLS):
        process = cli(["fetch", "--file", str(big), "--date", ISSUE.isoformat()], env)
        try:
            process.wait(timeout=rng.uniform(0.3, 3.0))
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGKILL)
            process.wait()
            kills += 1
        counts = stored(db_url)
        seen.add(counts)
        # One transaction per import: all of the file or none of it, papers and listings alike.
        assert counts in ((0, 0), (total, total)), counts
    final = cli(["fetch", "--file", str(big), "--date", ISSUE.isoformat()], env)
    final.communicate(timeout=300)
    assert final.returncode in (0, 1)
    assert stored(db_url) == (total, total)
    report(capsys, f"fetch killed {kills} times over {total} papers: states seen {sorted(seen)}")
    assert kills >= KILLS // 2
