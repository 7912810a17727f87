"""Send one personalised issue to N subscribers through the real send path, against Postfix's smtp-sink.

Run: .venv/bin/python bench/send.py [--n 100000] [--quick] [--connections 8] [--profile FILE.html]

It builds a SQLite database of N subscribers whose topics are drawn from 5,000 distinct topics
taken from the real papers in the fixtures, loads an issue pool of 100 fixture papers, and runs
`send_issue` (freeze, rank, queue, render, send) against smtp-sink on loopback. In the same run it
measures the link's own limit with Postfix's C client smtp-source (8 sessions, same message size).
Needs the postfix package (./scripts/install-debian-packages). The last line is a JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from rank import hf_pool, synthetic_readers, synthetic_topics

from newsletter import app
from newsletter.config import DatabaseSettings, load_settings
from newsletter.deliver.run import queue_issue, send_issue
from newsletter.deliver.send import SendSummary
from newsletter.subscribers import Preferences

ISSUE = date(2026, 8, 12)
NOW = datetime(2026, 8, 12, 7, 0, tzinfo=UTC)
DISTINCT_TOPICS = 5000
POOL = 100


def tool(name: str) -> str:
    found = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if found is None:
        sys.exit(f"error: {name} not found: run ./scripts/install-debian-packages (it installs postfix)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_sink(port: int) -> subprocess.Popen[bytes]:
    sink = subprocess.Popen(
        [tool("smtp-sink"), "-u", "nobody", f"127.0.0.1:{port}", "1024"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return sink
        except OSError:
            time.sleep(0.05)
    sink.kill()
    sys.exit("error: smtp-sink did not start")


def fill(db_url: str, n: int, seed: int) -> None:
    """N subscribers with realistic topic mixes, and a 100-paper pool listed on the issue date."""
    store = app.open_store(DatabaseSettings(url=db_url))
    papers = hf_pool()
    pool = sorted(papers, key=lambda p: -(p.upvotes or 0))[:POOL]
    with store.write() as conn:
        store.papers.upsert(conn, [(p, ISSUE) for p in pool], "hf-api", NOW - timedelta(hours=1))
    topics = synthetic_topics(papers, DISTINCT_TOPICS)
    readers = (
        (f"reader{i}@example.org", Preferences(chosen))
        for i, chosen in enumerate(synthetic_readers(topics, n, seed))
    )
    store.subscribers.add_many(readers, "active", NOW - timedelta(days=30))
    store.dispose()


def run_workers(count: int, env: dict[str, str]) -> SendSummary:
    """Drain the queue with `count` `newsletter worker` processes, the way an operator scales out."""
    command = [sys.executable, "-m", "newsletter", "worker", "--until-done", "--poll", "0.2", "--json"]
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]
    total = SendSummary()
    for process in processes:
        out, _ = process.communicate()
        if process.returncode != 0:
            sys.exit(f"error: a worker exited with {process.returncode}")
        fields = json.loads(out.decode().strip().splitlines()[-1])
        part = SendSummary(**{k: v for k, v in fields.items() if k != "stopped"})
        total.merge(part)
    return total


def smtp_source_rate(port: int, messages: int, size: int, sessions: int = 8) -> float:
    """Messages per second Postfix's own C client pushes through the same sink."""
    started = time.perf_counter()
    subprocess.run(
        [tool("smtp-source"), "-s", str(sessions), "-m", str(messages), "-l", str(size),
         "-f", "papers@example.org", "-t", "reader@example.org", f"127.0.0.1:{port}"],
        check=True,
    )  # fmt: skip
    return messages / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000, help="subscribers (default 100,000)")
    parser.add_argument("--quick", action="store_true", help="N=5,000, under a minute")
    parser.add_argument("--connections", type=int, default=8, help="SMTP connections per sender process")
    parser.add_argument(
        "--workers", type=int, default=2, help="`newsletter worker` processes (0: send in this process)"
    )
    parser.add_argument("--profile", type=Path, help="write a pyinstrument HTML profile of the send here")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    n = 5000 if args.quick else args.n

    workdir = Path(tempfile.mkdtemp(prefix="newsletter-bench-"))
    db_url = f"sqlite:///{workdir / 'bench.db'}"
    port = free_port()
    sink = start_sink(port)
    try:
        started = time.perf_counter()
        fill(db_url, n, args.seed)
        print(f"setup: {n} subscribers in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        environ = {
            "NEWSLETTER_DATABASE_URL": db_url,
            "NEWSLETTER_DELIVERY_TRANSPORT": "smtp",
            "NEWSLETTER_DELIVERY_FROM_ADDRESS": "papers@example.org",
            "NEWSLETTER_DELIVERY_BATCH_SIZE": "200",
            "NEWSLETTER_SMTP_HOST": "127.0.0.1",
            "NEWSLETTER_SMTP_PORT": str(port),
            "NEWSLETTER_SMTP_SECURITY": "none",
            "NEWSLETTER_SMTP_POOL_SIZE": str(args.connections),
            "NEWSLETTER_LOG_LEVEL": "WARNING",
            "NEWSLETTER_WEB_BASE_URL": "https://papers.example.org",
            "NEWSLETTER_WEB_SECRET_KEY": "bench-secret-key-0123456789",
        }
        settings = load_settings(None, environ)
        store = app.open_store(settings.database)
        profiler = None
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        started = time.perf_counter()
        if args.workers == 0:
            transport = app.build_transport(settings)
            queued, summary = send_issue(
                store, settings, transport, app.build_signer(settings, store), ISSUE, lambda: NOW
            )
            transport.close()
        else:
            queued = queue_issue(store, settings, ISSUE, lambda: NOW)
            summary = run_workers(args.workers, {**os.environ, **environ})
        seconds = time.perf_counter() - started
        if profiler is not None:
            profiler.stop()
            args.profile.write_text(profiler.output_html())
            print(profiler.output_text(unicode=False, color=False, show_all=False), file=sys.stderr)

        size = summary.built_bytes // max(summary.built, 1)
        rank_s = queued.seconds
        send_s = seconds - rank_s
        emails_per_s = summary.sent / seconds if seconds else 0.0
        reference = smtp_source_rate(port, min(n, 20_000), size)
        # For RUSAGE_CHILDREN, ru_maxrss is the largest worker's peak; both are in KiB.
        own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
        result = {
            "n": n,
            "sent": summary.sent,
            "seconds": round(seconds, 2),
            "emails_per_s": round(emails_per_s, 1),
            "smtp_source_per_s": round(reference, 1),
            "ratio": round(emails_per_s / reference, 3) if reference else 0.0,
            "peak_rss_mb": round(peak, 1),
            "rank_s": round(rank_s, 2),
            "render_s": round(summary.render_s, 2),
            "send_s": round(send_s, 2),
            "message_bytes": size,
            "connections": args.connections,
            "workers": args.workers,
        }
        print(
            f"send: {summary.sent}/{n} sent in {seconds:.1f} s ({emails_per_s:.0f}/s); "
            f"smtp-source {reference:.0f}/s; ratio {result['ratio']}",
            file=sys.stderr,
        )
        print(json.dumps(result))
        store.dispose()
    finally:
        sink.kill()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
