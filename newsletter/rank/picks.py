"""Choosing each subscriber's papers: score every distinct topic once, then pick per topic set."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from newsletter.models import Paper, Pick
from newsletter.rank.base import Scorer
from newsletter.rank.text import excluded


@dataclass(frozen=True, slots=True)
class PickRules:
    """How relevance becomes a pick: the threshold and the weight of popularity."""

    threshold: float = 0.2
    popularity_weight: float = 0.2


@dataclass(frozen=True, slots=True)
class TopicSet:
    """The topics and exclusions that a group of subscribers share."""

    topics: tuple[str, ...]
    excludes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A paper that passed a topic set's threshold, in pick order."""

    paper_index: int
    score: float
    relevance: float
    topic: str


def popularity(papers: Sequence[Paper]) -> npt.NDArray[np.float64]:
    """Upvotes and GitHub stars, log-scaled and divided by the pool's maximum, in [0, 1]."""
    raw = np.array(
        [math.log1p(p.upvotes or 0) + 0.5 * math.log1p(p.github_stars or 0) for p in papers], dtype=np.float64
    )
    top = raw.max(initial=0.0)
    return raw / top if top > 0 else raw


class Picker:
    """Ranks one issue's paper pool for many topic sets, scoring each distinct topic once."""

    def __init__(self, scorer: Scorer, papers: Sequence[Paper], rules: PickRules) -> None:
        self.scorer = scorer
        self.papers = list(papers)
        self.rules = rules
        self._popularity = popularity(self.papers)
        # Ties break on arxiv_id so reruns give byte-identical picks.
        self._id_rank = np.argsort(np.argsort([p.arxiv_id for p in self.papers], kind="stable"))
        self._excluded: dict[tuple[str, ...], npt.NDArray[np.bool_]] = {}
        self._explained: dict[tuple[str, int], tuple[str, ...]] = {}

    def rank(self, topic_sets: Iterable[TopicSet]) -> dict[TopicSet, list[Candidate]]:
        """Every topic set's candidates, best first, above the threshold and not excluded."""
        sets = list(dict.fromkeys(topic_sets))
        if not self.papers or not sets:
            return {ts: [] for ts in sets}
        distinct = list(dict.fromkeys(t for ts in sets for t in ts.topics))
        row_of = {topic: i for i, topic in enumerate(distinct)}
        scores = self.scorer.score(self.papers, distinct)
        weight = self.rules.popularity_weight
        ranked: dict[TopicSet, list[Candidate]] = {}
        for ts in sets:
            rows = scores[[row_of[t] for t in ts.topics]]
            best_row = rows.argmax(axis=0)
            relevance = rows[best_row, np.arange(rows.shape[1])].astype(np.float64)
            keep = (relevance >= self.rules.threshold) & ~self._exclusion_mask(ts.excludes)
            final = (1.0 - weight) * relevance + weight * self._popularity
            order = np.lexsort((self._id_rank, -final))
            ranked[ts] = [
                Candidate(
                    int(i), round(float(final[i]), 4), round(float(relevance[i]), 4), ts.topics[best_row[i]]
                )
                for i in order
                if keep[i]
            ]
        return ranked

    def picks(self, candidates: Sequence[Candidate], limit: int, already_sent: set[str]) -> list[Pick]:
        """The first `limit` candidates the subscriber has not been sent, each with its reason."""
        chosen: list[Pick] = []
        for candidate in candidates:
            paper = self.papers[candidate.paper_index]
            if paper.arxiv_id in already_sent:
                continue
            chosen.append(
                Pick(
                    paper=paper,
                    score=candidate.score,
                    relevance=candidate.relevance,
                    topic=candidate.topic,
                    matched=self._explain(candidate.topic, candidate.paper_index),
                )
            )
            if len(chosen) >= limit:
                break
        return chosen

    def trending_outside(self, picked: Iterable[str], count: int = 3) -> list[Paper]:
        """The most popular papers of the pool that are not among `picked`."""
        skip = set(picked)
        order = np.lexsort((self._id_rank, -self._popularity))
        return [self.papers[i] for i in order if self.papers[i].arxiv_id not in skip][:count]

    def _exclusion_mask(self, excludes: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        mask = self._excluded.get(excludes)
        if mask is None:
            mask = np.array([bool(excludes) and excluded(p, excludes) is not None for p in self.papers])
            self._excluded[excludes] = mask
        return mask

    def _explain(self, topic: str, paper_index: int) -> tuple[str, ...]:
        key = (topic, paper_index)
        if key not in self._explained:
            self._explained[key] = self.scorer.explain(self.papers[paper_index], topic)
        return self._explained[key]
