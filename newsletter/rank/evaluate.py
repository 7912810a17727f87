"""Offline evaluation of a ranker: arXiv listings with categories, topics with the categories they mean."""

from __future__ import annotations

import json
import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from newsletter.models import Paper
from newsletter.rank.base import Scorer

MIN_RELEVANT = 3


def load_eval_papers(path: Path | str) -> tuple[list[Paper], dict[str, list[str]]]:
    """The papers of a JSONL arXiv listing (id, title, summary, categories, ...), and their categories."""
    path = Path(path)
    papers: list[Paper] = []
    categories: dict[str, list[str]] = {}
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            where = f"{path}, line {number}"
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{where}: not valid JSON ({exc.msg})") from None
            if not isinstance(item, dict):
                raise ValueError(f"{where}: expected a JSON object, got {type(item).__name__}")
            arxiv_id = _text(item, "id", where)
            cats = item.get("categories")
            if not isinstance(cats, list) or not all(isinstance(c, str) for c in cats):
                raise ValueError(f"{where}: 'categories' must be a list of strings")
            authors = item.get("authors") or []
            if not isinstance(authors, list):
                raise ValueError(f"{where}: 'authors' must be a list")
            summary = item.get("summary") or ""
            if not isinstance(summary, str):
                raise ValueError(f"{where}: 'summary' must be a string")
            papers.append(
                Paper(
                    arxiv_id=arxiv_id,
                    title=" ".join(_text(item, "title", where).split()),
                    abstract=" ".join(summary.split()),
                    authors=tuple(str(a) for a in authors),
                )
            )
            categories[arxiv_id] = list(cats)
    if not papers:
        raise ValueError(f"{path}: no papers (one JSON object per line)")
    return papers, categories


def _text(item: dict[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: '{key}' must be a non-empty string")
    return value.strip()


def load_eval_topics(path: Path | str) -> list[tuple[str, list[str]]]:
    """The `[[topic]]` tables of a TOML file, as (query, categories) pairs."""
    path = Path(path)
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML ({exc})") from None
    # tomllib keeps no line numbers, so find each [[topic]] header to name the line in errors.
    header_lines = [
        i for i, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*topic\s*\]\]", line)
    ]
    tables = data.get("topic")
    if not isinstance(tables, list) or not tables:
        raise ValueError(f"{path}: no [[topic]] tables")
    topics: list[tuple[str, list[str]]] = []
    for index, table in enumerate(tables):
        line = header_lines[index] if index < len(header_lines) else 0
        where = f"{path}, line {line}"
        query = table.get("query")
        cats = table.get("categories")
        if not isinstance(query, str) or not query.strip():
            raise ValueError(f"{where}: topic needs a non-empty 'query' string")
        if not isinstance(cats, list) or not cats or not all(isinstance(c, str) for c in cats):
            raise ValueError(f"{where}: topic needs 'categories', a non-empty list of strings")
        topics.append((query.strip(), list(cats)))
    return topics


def ranking(scores: npt.NDArray[np.float32], ids: Sequence[str]) -> list[int]:
    """Paper indices by descending score; ties break on arxiv_id so results are deterministic."""
    return sorted(range(len(ids)), key=lambda i: (-float(scores[i]), ids[i]))


def evaluate(
    scorer: Scorer,
    papers: Sequence[Paper],
    categories: Mapping[str, Sequence[str]],
    topics: Sequence[tuple[str, Sequence[str]]],
    k: int = 10,
) -> dict[str, Any]:
    """nDCG@k and precision@k of `scorer`, averaged over the topics with at least 3 relevant papers.

    A paper is relevant to a topic when any of its categories is one of the topic's; relevance
    is binary, and the ideal ranking puts min(k, relevant) relevant papers first. ValueError when
    no topic has that many: a score of nothing would read as a ranker that finds nothing.
    """
    ids = [p.arxiv_id for p in papers]
    relevance = [[bool(set(wanted).intersection(categories.get(i, ()))) for i in ids] for _, wanted in topics]
    if not any(sum(relevant) >= MIN_RELEVANT for relevant in relevance):
        raise ValueError(
            f"no topic has at least {MIN_RELEVANT} relevant papers among the {len(papers)} papers; "
            "nothing to score"
        )
    matrix = scorer.score(papers, [query for query, _ in topics])
    rows: list[dict[str, Any]] = []
    ndcgs: list[float] = []
    precisions: list[float] = []
    for row, ((query, _), relevant) in enumerate(zip(topics, relevance, strict=True)):
        n_relevant = sum(relevant)
        if n_relevant < MIN_RELEVANT:
            continue
        hits = [relevant[i] for i in ranking(matrix[row], ids)[:k]]
        dcg = sum(1.0 / math.log2(rank + 2) for rank, hit in enumerate(hits) if hit)
        ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(k, n_relevant)))
        ndcgs.append(dcg / ideal)
        precisions.append(sum(hits) / k)
        rows.append(
            {
                "query": query,
                "relevant": n_relevant,
                f"ndcg@{k}": round(ndcgs[-1], 4),
                f"p@{k}": round(precisions[-1], 4),
            }
        )
    return {
        "ranker": scorer.name,
        f"ndcg@{k}": round(sum(ndcgs) / len(ndcgs), 4),
        f"p@{k}": round(sum(precisions) / len(precisions), 4),
        "topics": rows,
        "papers": len(papers),
    }
