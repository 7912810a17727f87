"""Per-email render cost: premailer once per issue (EditionRenderer) next to premailer once per email.

Run: .venv/bin/python bench/render.py [--subscribers 500] [--picks 20]
The last line of output is a JSON object with the medians and the largest 20-paper HTML.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from newsletter.models import Paper, Pick, Subscriber
from newsletter.render import (
    EditionRenderer,
    Links,
    Masthead,
    RenderedEmail,
    make_environment,
    render_standalone,
    templates_dir,
)
from newsletter.scrape import parse_api

HF_API = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "hf" / "api"
ISSUE_DATE = date(2025, 10, 3)
MASTHEAD = Masthead(brand="Trending Papers", postal_line="Example Papers Ltd, 1 Main Street, Springfield")
TOPICS = ("video generation", "reasoning", "agents", "diffusion", "robotics", "speech", "retrieval")

Job = tuple[Subscriber, list[Pick], list[Paper], Links]


def fixture_pool() -> list[Paper]:
    """Every paper of the saved API responses, first copy of each arXiv id."""
    seen: dict[str, Paper] = {}
    for path in sorted(HF_API.glob("*.json")):
        for listing in parse_api(path.read_text(encoding="utf-8")).listings:
            seen.setdefault(listing.paper.arxiv_id, listing.paper)
    return list(seen.values())


def jobs(pool: list[Paper], count: int, per_email: int, seed: int = 7) -> list[Job]:
    """`count` subscribers, each with `per_email` varied picks and the 3 most upvoted papers they lack."""
    rng = random.Random(seed)
    by_votes = sorted(pool, key=lambda p: (-(p.upvotes or 0), p.arxiv_id))
    out: list[Job] = []
    for n in range(count):
        subscriber = Subscriber(
            id=n,
            email=f"reader{n}@example.org",
            status="active",
            topics=tuple(rng.sample(TOPICS, 2)),
            excludes=(),
            timezone="UTC",
            hour=7,
            cadence="daily",
            weekday=0,
            per_email=per_email,
            created_at=datetime(2025, 1, 1, tzinfo=UTC),
        )
        chosen = rng.sample(pool, per_email)
        picks = [
            Pick(
                paper=paper,
                score=round(rng.random(), 4),
                relevance=round(rng.random(), 4),
                topic=rng.choice(subscriber.topics),
                matched=tuple(rng.sample(paper.ai_keywords, min(2, len(paper.ai_keywords)))),
            )
            for paper in chosen
        ]
        picked = {p.arxiv_id for p in chosen}
        trending = [p for p in by_votes if p.arxiv_id not in picked][:3]
        links = Links(
            manage=f"https://papers.example/manage/token-{n:06d}",
            unsubscribe=f"https://papers.example/unsubscribe/token-{n:06d}",
        )
        out.append((subscriber, picks, trending, links))
    return out


def timed(render: Callable[[Job], RenderedEmail], work: list[Job]) -> tuple[list[float], list[int]]:
    """Microseconds per call of `render` over `work`, and the size of each HTML part in bytes."""
    gc.collect()
    micros: list[float] = []
    sizes: list[int] = []
    for job in work:
        start = time.perf_counter_ns()
        email = render(job)
        micros.append((time.perf_counter_ns() - start) / 1000)
        # Only the size is kept: holding 500 emails would make the allocator, not rendering, the cost.
        sizes.append(len(email.html.encode("utf-8")))
    return micros, sizes


def summary(label: str, micros: list[float]) -> str:
    """One line: median, p95 and mean of `micros`."""
    p95 = statistics.quantiles(micros, n=20)[-1] if len(micros) > 1 else micros[0]
    return (
        f"{label:<34} median {statistics.median(micros):>9.1f} us   p95 {p95:>9.1f} us   "
        f"mean {statistics.fmean(micros):>9.1f} us   (n={len(micros)})"
    )


def main() -> None:
    """Build one issue, render it both ways, print the figures and a JSON summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscribers", type=int, default=500)
    parser.add_argument("--picks", type=int, default=20)
    parser.add_argument("--naive", type=int, default=None, help="emails for the per-email premailer path")
    args = parser.parse_args()

    pool = fixture_pool()
    work = jobs(pool, args.subscribers, args.picks)
    env = make_environment(templates_dir())

    start = time.perf_counter()
    renderer = EditionRenderer(env, ISSUE_DATE, pool, MASTHEAD)
    setup_ms = (time.perf_counter() - start) * 1000
    fast, sizes = timed(lambda job: renderer.render(*job), work)

    def standalone(job: Job) -> RenderedEmail:
        subscriber, picks, trending, links = job
        return render_standalone(env, ISSUE_DATE, MASTHEAD, subscriber, picks, trending, links)

    slow, _ = timed(standalone, work[: args.naive or args.subscribers])
    # markupsafe writes ' as &#39; in the joined values, where lxml writes it raw: the same text.
    same = all(
        (a := renderer.render(*job)).text == (b := standalone(job)).text
        and a.html.replace("&#39;", "'") == b.html
        for job in work[:20]
    )

    print(
        f"pool: {len(pool)} fixture papers; {len(work)} subscribers, {args.picks} picks and 3 trending each"
    )
    print(f"once per issue: EditionRenderer setup (Jinja sheet + one premailer call) {setup_ms:.1f} ms")
    print(summary("once per issue, per email", fast))
    print(summary("premailer per email (naive)", slow))
    amortized = (setup_ms * 1000 + sum(fast)) / len(fast)
    print(f"once per issue, setup amortized over {len(fast)} emails: {amortized:.1f} us per email")
    print(f"speed-up of the median: {statistics.median(slow) / statistics.median(fast):.0f}x")
    median_size = statistics.median(sizes)
    print(f"HTML of a {args.picks}-paper digest: median {median_size:.0f} bytes, max {max(sizes)} bytes")
    print(f"both paths give the same emails (first 20 compared): {same}")
    print(
        json.dumps(
            {
                "once_per_issue_median_us": round(statistics.median(fast), 1),
                "per_email_premailer_median_us": round(statistics.median(slow), 1),
                "issue_setup_ms": round(setup_ms, 1),
                f"html_bytes_{args.picks}_papers": max(sizes),
            }
        )
    )


if __name__ == "__main__":
    main()
