"""Ranker quality and speed: nDCG@10 / P@10 on the labelled arXiv day, and the cost of scoring 5,000 topics.

Run: .venv/bin/python bench/rank.py [--topics 5000] [--papers 100] [--readers 100000]
It also ranks the pool for 100,000 readers who each chose 1-5 of those topics (popular ones more
often), grouped by topic set as a send does, then picks and explains 10 papers for each.
Quality is measured twice: on tests/fixtures/eval/topics.toml, and on REPHRASED below, the same
categories worded as other subscribers would word them, a held-out check that the rankers are not
tuned to the fixture's phrasing. The last line of output is a JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from newsletter.models import Paper
from newsletter.rank import HybridScorer, LexicalScorer, MemoryVectorCache, Scorer, make_scorer
from newsletter.rank.evaluate import evaluate, load_eval_papers, load_eval_topics
from newsletter.rank.picks import Picker, PickRules, TopicSet
from newsletter.scrape import parse_api

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures"
EVAL_PAPERS = FIXTURES / "eval" / "arxiv_2025-05-30.jsonl"
EVAL_TOPICS = FIXTURES / "eval" / "topics.toml"

# Other wordings of the fixture's topics, written before tuning and never tuned against.
REPHRASED: list[tuple[str, list[str]]] = [
    ("robot learning and control", ["cs.RO"]),
    ("robot manipulation and navigation", ["cs.RO"]),
    ("computer graphics", ["cs.GR"]),
    ("neural rendering, 3D avatars and animation", ["cs.GR"]),
    ("speech recognition and synthesis", ["cs.SD", "eess.AS"]),
    ("audio generation and music", ["cs.SD", "eess.AS"]),
    ("privacy attacks on ML", ["cs.CR"]),
    ("adversarial attacks, jailbreaks and model security", ["cs.CR"]),
    ("recommendation", ["cs.IR"]),
    ("user studies and interfaces", ["cs.HC"]),
    ("human-AI interaction", ["cs.HC"]),
    ("code generation and program repair", ["cs.SE"]),
    ("LLMs for software development", ["cs.SE"]),
    ("societal impact, ethics and fairness of AI", ["cs.CY"]),
    ("AI policy and education", ["cs.CY"]),
    ("multimedia retrieval and video understanding", ["cs.MM"]),
    ("medical imaging and image restoration", ["eess.IV"]),
    ("image compression, denoising and super-resolution", ["eess.IV"]),
    ("NLP", ["cs.CL"]),
    ("large language models and text understanding", ["cs.CL"]),
    ("image recognition, segmentation and detection", ["cs.CV"]),
    ("visual understanding", ["cs.CV"]),
    ("deep learning theory and optimization", ["cs.LG", "stat.ML"]),
    ("ML", ["cs.LG", "stat.ML"]),
]


def hf_pool() -> list[Paper]:
    """Every paper of the saved HF API responses, newest day first, first copy of each arXiv id."""
    papers: dict[str, Paper] = {}
    for path in sorted((FIXTURES / "hf" / "api").glob("*.json"), reverse=True):
        for listing in parse_api(path.read_text(encoding="utf-8")).listings:
            papers.setdefault(listing.paper.arxiv_id, listing.paper)
    return list(papers.values())


def synthetic_topics(papers: Sequence[Paper], count: int) -> list[str]:
    """`count` distinct topic strings a subscriber might type: HF keywords, then title n-grams."""
    seen: set[str] = set()
    topics: list[str] = []

    def add(topic: str) -> None:
        if topic.lower() not in seen and len(topics) < count:
            seen.add(topic.lower())
            topics.append(topic)

    for paper in papers:
        for keyword in paper.ai_keywords:
            add(keyword)
    for n in (2, 3, 4, 5):
        for paper in papers:
            words = re.findall(r"[A-Za-z][\w-]*", paper.title)
            for i in range(len(words) - n + 1):
                add(" ".join(words[i : i + n]))
    return topics


def synthetic_readers(topics: Sequence[str], n: int, seed: int = 7) -> list[tuple[str, ...]]:
    """N readers' topic choices: 1-5 topics each, popular topics picked more often (Zipf-like)."""
    rng = random.Random(seed)
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(topics))]
    return [tuple(sorted(set(rng.choices(topics, weights, k=rng.randint(1, 5))))) for _ in range(n)]


def readers_cost(scorer: Scorer, pool: Sequence[Paper], readers: Sequence[tuple[str, ...]]) -> dict[str, Any]:
    """Seconds to rank the pool for every reader, grouped by topic set, then to pick and explain 10 each."""
    start = time.perf_counter()
    picker = Picker(scorer, pool, PickRules())
    ranked = picker.rank(TopicSet(topics) for topics in readers)
    ranked_s = time.perf_counter() - start
    picked = 0
    for topics in readers:
        mine = ranked[TopicSet(topics)]
        picked += len(picker.entries(mine, picker.choose(mine, 10, set())))
    return {
        "readers": len(readers),
        "topic_sets": len(ranked),
        "rank_seconds": round(ranked_s, 3),
        "pick_seconds": round(time.perf_counter() - start - ranked_s, 3),
        "picks": picked,
    }


def quality(scorer: Scorer) -> dict[str, Any]:
    """The scorer's figures on the fixture's topics and on the rephrased ones, with the time each took."""
    papers, categories = load_eval_papers(EVAL_PAPERS)
    figures: dict[str, Any] = {}
    for label, topics in (("original", load_eval_topics(EVAL_TOPICS)), ("rephrased", REPHRASED)):
        start = time.perf_counter()
        result = evaluate(scorer, papers, categories, topics)
        figures[label] = {
            "ndcg@10": result["ndcg@10"],
            "p@10": result["p@10"],
            "topics": len(result["topics"]),
            "seconds": round(time.perf_counter() - start, 3),
        }
    return figures


def timed(scorer: Scorer, papers: Sequence[Paper], topics: Sequence[str]) -> float:
    """Seconds one score() call takes."""
    start = time.perf_counter()
    scorer.score(papers, topics)
    return round(time.perf_counter() - start, 3)


def main() -> None:
    """Print each ranker's quality and speed, then everything as one JSON line."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--topics", type=int, default=5000)
    parser.add_argument("--papers", type=int, default=100)
    parser.add_argument(
        "--readers", type=int, default=100_000, help="readers for the grouping cost (0: skip)"
    )
    args = parser.parse_args()
    pool = hf_pool()[: args.papers]
    topics = synthetic_topics(hf_pool(), args.topics)
    report: dict[str, Any] = {"speed": {"papers": len(pool), "topics": len(topics)}}

    lexical = LexicalScorer()
    report["lexical"] = quality(lexical)
    # Cold: these topics were never analysed before; warm: their analysis is cached, as in a
    # service that scores the same subscribers' topics every day.
    report["speed"]["lexical_cold_seconds"] = timed(lexical, pool, topics)
    report["speed"]["lexical_warm_seconds"] = timed(lexical, pool, topics)
    readers = synthetic_readers(topics, args.readers)
    if readers:
        report["readers"] = {"lexical": readers_cost(LexicalScorer(), pool, readers)}

    start = time.perf_counter()
    hybrid = make_scorer("hybrid", MemoryVectorCache(), MemoryVectorCache())
    if isinstance(hybrid, HybridScorer):
        hybrid.semantic.similarity(pool[:1], ["warm-up"])  # load the model outside the timings
        report["speed"]["model_load_seconds"] = round(time.perf_counter() - start, 3)
        report["semantic"] = quality(hybrid.semantic)
        report["hybrid"] = quality(hybrid)
        report["speed"]["hybrid_cold_seconds"] = timed(hybrid, pool, topics)
        report["speed"]["hybrid_warm_seconds"] = timed(hybrid, pool, topics)
        report["speed"]["hybrid_texts_encoded"] = hybrid.semantic.encoded
        if readers:
            report["readers"]["hybrid"] = readers_cost(hybrid, pool, readers)
    else:
        report["hybrid"] = "unavailable: install the semantic extra"

    for name in ("lexical", "semantic", "hybrid"):
        figures = report.get(name, "unavailable")
        if isinstance(figures, dict):
            for label, row in figures.items():
                print(
                    f"{name:8s} {label:9s} nDCG@10 {row['ndcg@10']:.4f}  P@10 {row['p@10']:.4f}"
                    f"  ({row['topics']} topics, {row['seconds']:.2f} s)"
                )
        else:
            print(f"{name:8s} {figures}")
    speed = report["speed"]
    print(f"score {speed['topics']} topics x {speed['papers']} papers:")
    for key, value in speed.items():
        if key.endswith("seconds"):
            print(f"  {key:22s} {value:.3f} s")
    for name, cost in report.get("readers", {}).items():
        print(
            f"{cost['readers']} readers ({cost['topic_sets']} topic sets), {name}: rank "
            f"{cost['rank_seconds']:.2f} s, then pick and explain {cost['picks']} papers "
            f"{cost['pick_seconds']:.2f} s"
        )
    print(json.dumps(report))


if __name__ == "__main__":
    main()
