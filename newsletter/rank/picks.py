"""Choosing each subscriber's papers: score every distinct topic once, then pick per topic set."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from newsletter.models import Paper, Pick
from newsletter.rank.base import Scorer
from newsletter.rank.reading import excluded


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
class Ranked:
    """A topic set's candidates: pool indices in pick order, above the threshold and not excluded.

    `final` and `relevance` are already rounded to 4 places (what the ledger and the email show),
    so the same inputs always give byte-identical picks.
    """

    order: list[int]  # every candidate: what a weekly reader chooses from
    daily: list[int]  # those listed within the daily window: what a daily reader chooses from
    final: npt.NDArray[np.float64]
    relevance: npt.NDArray[np.float64]
    best_topic: npt.NDArray[np.intp]
    topics: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.order)


def popularity(papers: Sequence[Paper]) -> npt.NDArray[np.float64]:
    """Upvotes and GitHub stars, log-scaled and divided by the pool's maximum, in [0, 1]."""
    raw = np.array(
        [math.log1p(p.upvotes or 0) + 0.5 * math.log1p(p.github_stars or 0) for p in papers], dtype=np.float64
    )
    top = raw.max(initial=0.0)
    return raw / top if top > 0 else raw


class Picker:
    """Ranks one issue's paper pool for many topic sets, scoring each distinct topic once.

    `older` names the papers of the pool that only weekly readers get (listed before the daily
    window); each topic set's daily order leaves them out once, not once per reader. `withheld`
    names papers scored with the pool but never picked (the admin skipped them), so that skipping
    one paper leaves every other paper's score as it was.
    """

    def __init__(
        self,
        scorer: Scorer,
        papers: Sequence[Paper],
        rules: PickRules,
        older: AbstractSet[str] = frozenset(),
        withheld: AbstractSet[str] = frozenset(),
    ) -> None:
        self.scorer = scorer
        self.papers = list(papers)
        self.rules = rules
        self._daily = np.array([p.arxiv_id not in older for p in self.papers], dtype=bool)
        self._withheld = np.array([p.arxiv_id in withheld for p in self.papers], dtype=bool)
        self._all_daily = bool(self._daily.all())
        self._popularity = popularity(self.papers)
        # Ties break on arxiv_id so reruns give byte-identical picks.
        self._id_rank = np.argsort(np.argsort([p.arxiv_id for p in self.papers], kind="stable"))
        self._excluded: dict[tuple[str, ...], npt.NDArray[np.bool_]] = {}
        self._explained: dict[tuple[str, int], tuple[str, ...]] = {}
        self._row_of: dict[str, int] = {}
        self._scored: list[npt.NDArray[np.float32]] = []
        self._stacked: npt.NDArray[np.float32] | None = None
        # The web app's live preview shares one Picker between requests in its thread pool: scoring
        # new topics and reading the score matrix happen under this lock, so no two threads can give
        # their topics the same row.
        self._scoring = threading.Lock()
        self._ids = [p.arxiv_id for p in self.papers]
        self._by_popularity: list[int] = np.lexsort((self._id_rank, -self._popularity)).tolist()

    def rank(self, topic_sets: Iterable[TopicSet]) -> dict[TopicSet, Ranked]:
        """Every topic set's candidates, best first, above the threshold and not excluded.

        Sets with the same number of topics are ranked together as one array: no Python loop over
        papers, and none over topics within a set.
        """
        sets = list(dict.fromkeys(topic_sets))
        with self._scoring:
            self._score_missing([t for ts in sets for t in ts.topics])
            matrix = self._matrix()  # holds every row of these topics; rows are only ever added
        if not self.papers:
            empty = np.zeros(0)
            return {ts: Ranked([], [], empty, empty, np.zeros(0, dtype=np.intp), ts.topics) for ts in sets}
        by_size: dict[int, list[TopicSet]] = {}
        for ts in sets:
            by_size.setdefault(len(ts.topics), []).append(ts)
        weight = self.rules.popularity_weight
        ranked: dict[TopicSet, Ranked] = {}
        no_exclusions = np.zeros(len(self.papers), dtype=bool)
        for group in by_size.values():
            # Shape (sets, topics per set, papers), gathered in one indexing operation.
            rows = matrix[np.array([[self._row_of[t] for t in ts.topics] for ts in group])]
            best = rows.argmax(axis=1)
            relevance = np.take_along_axis(rows, best[:, None, :], axis=1)[:, 0, :].astype(np.float64)
            excluded_mask = np.stack(
                [self._exclusion_mask(ts.excludes) if ts.excludes else no_exclusions for ts in group]
            )
            keep = (relevance >= self.rules.threshold) & ~excluded_mask & ~self._withheld
            final = np.round((1.0 - weight) * relevance + weight * self._popularity, 4)
            relevance = np.round(relevance, 4)
            # Ties break on arxiv_id (its rank in the pool) so reruns give byte-identical picks.
            order = np.lexsort((np.broadcast_to(self._id_rank, final.shape), -final), axis=-1)
            kept = np.take_along_axis(keep, order, axis=1)
            daily = kept & self._daily[order]
            for i, ts in enumerate(group):
                every = order[i][kept[i]].tolist()
                recent = every if self._all_daily else order[i][daily[i]].tolist()
                ranked[ts] = Ranked(every, recent, final[i], relevance[i], best[i], ts.topics)
        return ranked

    def _score_missing(self, topics: Iterable[str]) -> None:
        # A topic's scores depend only on the pool and the topic, so each distinct topic is
        # scored once per edition, however many chunks of subscribers ask for it.
        missing = [t for t in dict.fromkeys(topics) if t not in self._row_of]
        if missing and self.papers:
            scores = self.scorer.score(self.papers, missing)
            for topic, row in zip(missing, scores, strict=True):
                self._row_of[topic] = len(self._scored)
                self._scored.append(row)
            self._stacked = None

    def _matrix(self) -> npt.NDArray[np.float32]:
        """Every topic scored so far, one row each, in `_row_of` order."""
        if self._stacked is None:
            empty = np.zeros((0, len(self.papers)), dtype=np.float32)
            self._stacked = np.stack(self._scored) if self._scored else empty
        stacked: npt.NDArray[np.float32] = self._stacked
        return stacked

    def choose(self, ranked: Ranked, limit: int, already_sent: set[str], weekly: bool = False) -> list[int]:
        """Pool indices of the first `limit` candidates (daily or weekly) the subscriber has not been sent."""
        order = ranked.order if weekly else ranked.daily
        if not already_sent:
            return order[:limit]
        ids = self._ids
        return [i for i in order if ids[i] not in already_sent][:limit]

    def entries(self, ranked: Ranked, chosen: Sequence[int]) -> list[dict[str, Any]]:
        """The chosen picks as the ledger stores them: paper, score, relevance, topic and why."""
        result = []
        for index in chosen:
            topic = ranked.topics[ranked.best_topic[index]]
            result.append(
                {
                    "arxiv_id": self._ids[index],
                    "score": float(ranked.final[index]),
                    "relevance": float(ranked.relevance[index]),
                    "topic": topic,
                    "matched": self._explain(topic, index),
                }
            )
        return result

    def picks(self, ranked: Ranked, limit: int, already_sent: set[str], weekly: bool = False) -> list[Pick]:
        """The first `limit` candidates the subscriber has not been sent, each with its reason."""
        return [
            Pick(
                paper=self.papers[index],
                score=float(ranked.final[index]),
                relevance=float(ranked.relevance[index]),
                topic=ranked.topics[ranked.best_topic[index]],
                matched=self._explain(ranked.topics[ranked.best_topic[index]], index),
            )
            for index in self.choose(ranked, limit, already_sent, weekly)
        ]

    def trending_outside(
        self, picked: Iterable[str], count: int = 3, weekly: bool = False, excludes: tuple[str, ...] = ()
    ) -> list[Paper]:
        """The most popular papers of the pool (of its daily window, unless `weekly`) not among `picked`,
        and holding none of the reader's `excludes`: an excluded word keeps a paper out of any email."""
        skip = set(picked)
        barred = self._exclusion_mask(excludes)
        found: list[Paper] = []
        for index in self._by_popularity:
            if barred[index] or self._ids[index] in skip or self._withheld[index]:
                continue
            if weekly or self._daily[index]:
                found.append(self.papers[index])
                if len(found) == count:
                    break
        return found

    def _exclusion_mask(self, excludes: tuple[str, ...]) -> npt.NDArray[np.bool_]:
        mask = self._excluded.get(excludes)
        if mask is None:
            mask = np.array([bool(excludes) and excluded(p, excludes) is not None for p in self.papers])
            self._excluded[excludes] = mask
        return mask

    def _explain(self, topic: str, paper_index: int) -> tuple[str, ...]:
        # Many readers share a (topic, paper) pair: explain each pair once per edition.
        key = (topic, paper_index)
        if key not in self._explained:
            self._explained[key] = self.scorer.explain(self.papers[paper_index], topic)
        return self._explained[key]
