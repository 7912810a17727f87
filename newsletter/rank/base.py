"""The contracts every ranker meets: scorers over (topics x papers), and vector caches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import numpy.typing as npt

from newsletter.models import Paper

Matrix = npt.NDArray[np.float32]
Vector = npt.NDArray[np.float32]


class Scorer(Protocol):
    """Scores every topic against every paper at once, and explains one pair."""

    name: str

    def score(self, papers: Sequence[Paper], topics: Sequence[str]) -> Matrix:
        """Relevance of each topic (rows) to each paper (columns), in [0, 1].

        Scores are comparable across topics, so one threshold applies to all of them;
        0 means the paper has nothing to do with the topic.
        """
        ...

    def explain(self, paper: Paper, topic: str) -> tuple[str, ...]:
        """The words or phrases of `topic` that `paper` matched, most telling first."""
        ...


class VectorCache(Protocol):
    """Embeddings kept between runs, keyed by a string (an arXiv id, or a topic's text)."""

    def get_many(self, keys: Sequence[str]) -> dict[str, Vector]: ...

    def put_many(self, vectors: Mapping[str, Vector]) -> None: ...


class MemoryVectorCache:
    """A VectorCache in a dict, for evaluation runs and tests."""

    def __init__(self) -> None:
        self._vectors: dict[str, Vector] = {}

    def get_many(self, keys: Sequence[str]) -> dict[str, Vector]:
        return {key: self._vectors[key] for key in keys if key in self._vectors}

    def put_many(self, vectors: Mapping[str, Vector]) -> None:
        self._vectors.update(vectors)
