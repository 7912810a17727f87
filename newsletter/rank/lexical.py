"""Lexical ranking: BM25F over a paper's fields, with stems, phrases and ML abbreviations; no model needed.

What a score means: the share of the topic, weighted by how rare each of its terms is among the
papers scored together, that the paper holds. A term's share saturates with how often and in which
field (title, AI keywords, AI summary, abstract) it occurs, so one mention in the abstract gives a
third of it and a title mention three fifths. A topic that lists items ("speech and audio") scores
half on the whole list and half on its best item. The final score is 0.7 x that plus 0.3 x
pseudo-relevance feedback: how well the paper holds the words of the topic's best matches. 0 means
nothing of the topic occurs; 0.2 or more means a telling part of it is clearly there, worth an email.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]

from newsletter.models import Paper
from newsletter.rank.base import Matrix
from newsletter.rank.explain import matched_words
from newsletter.rank.reading import FIELD_WEIGHTS, paper_terms
from newsletter.rank.text import Term, topic_items, topic_terms

Floats = npt.NDArray[np.float64]

K1 = 2.0  # BM25 saturation: a term reaches half its share at a weighted frequency of 2
B = 0.75  # BM25 length normalisation, the usual value
ITEM_SHARE = 0.5  # for a topic listing items, the part of its score that comes from its best item
FEEDBACK = 0.3  # part of the score from pseudo-relevance feedback (RM3)
FEEDBACK_PAPERS = 5  # the best-scoring papers of a topic that feedback learns from
FEEDBACK_TERMS = 10  # the words feedback adds to a topic
FEEDBACK_BLOCK = 512  # topics whose feedback is computed at once


@dataclass(frozen=True, slots=True)
class PaperIndex:
    """The scored pool as a sparse (papers x terms) matrix of saturated BM25F weights, and each term's idf."""

    vocabulary: dict[str, int]
    weights: sp.csr_matrix  # each value in (0, 1): saturated, field-weighted term frequency
    idf: Floats
    single: Floats  # 1 for a single-word term, 0 for a phrase


def idf_of(df: Floats, n: int) -> Floats:
    """BM25's idf, smoothed so a term in every paper keeps a small positive weight."""
    return np.asarray(np.log1p((n - df + 0.5) / (df + 0.5)), dtype=np.float64)


def index_papers(papers: Sequence[Paper], k1: float = K1, b: float = B) -> PaperIndex:
    """Analyse the papers' fields into one sparse matrix of BM25F term weights."""
    vocabulary: dict[str, int] = {}
    # Per field, coordinates of one sparse (papers x terms) count matrix.
    coords: dict[str, tuple[list[int], list[int]]] = {name: ([], []) for name in FIELD_WEIGHTS}
    # A hyphenated compound's one-word spelling is not another word: it does not lengthen the field.
    respelt = {name: np.zeros(len(papers)) for name in FIELD_WEIGHTS}
    for row, paper in enumerate(papers):
        for name, terms in paper_terms(paper).items():
            rows, cols = coords[name]
            for term in terms:
                rows.append(row)
                cols.append(vocabulary.setdefault(term.key, len(vocabulary)))
            respelt[name][row] = sum(1 for term in terms if term.kind == "joined")
    shape = (len(papers), max(len(vocabulary), 1))
    combined = sp.csr_matrix(shape, dtype=np.float64)
    for name, weight in FIELD_WEIGHTS.items():
        rows, cols = coords[name]
        # Duplicate coordinates add up, so this counts each term's occurrences.
        counts = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape, dtype=np.float64)
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel() - respelt[name]
        present = lengths > 0
        average = lengths[present].mean() if present.any() else 1.0
        norm = np.where(present, 1 - b + b * lengths / average, 1.0)
        combined = combined + sp.diags(weight / norm) @ counts
    weights = sp.csr_matrix(combined)
    weights.data = weights.data / (weights.data + k1)
    df = np.bincount(weights.indices, minlength=shape[1]).astype(np.float64)
    single = np.zeros(shape[1])
    single[[column for key, column in vocabulary.items() if " " not in key]] = 1.0
    return PaperIndex(vocabulary, weights, idf_of(df, len(papers)), single)


def term_weights(topic: str, idf: Callable[[str], float]) -> dict[str, float]:
    """Each distinct term of a topic with its weight; the weights sum to 1.

    A word weighs its idf, and a phrase its idf up to that of the commoner of its two words: that the
    words stand together confirms them, and must not outweigh them (a rare "model reason" from
    "LLM reasoning" took 72% of the topic, and papers on "reasoning of large language models" fell
    below the threshold). An abbreviation with the words and phrases it stands for weighs as one
    term, the rarest of them, so "AI and society" is half AI, not four parts AI to one part
    society, and "LLM" and "large language model" weigh alike.
    """
    raw: dict[str, float] = {}
    groups: dict[int, list[str]] = {}
    for key, terms in _one_spelling(topic_terms(topic), idf).items():
        raw[key] = idf(key)
        if terms[0].kind == "phrase" and terms[0].group < 0:
            raw[key] = min([raw[key], *(idf(word) for word in key.split(" "))])
        if terms[0].group >= 0:
            groups.setdefault(terms[0].group, []).append(key)
    for keys in groups.values():
        scale = max(raw[k] for k in keys) / sum(raw[k] for k in keys)
        for k in keys:
            raw[k] *= scale
    total = sum(raw.values())
    return {k: w / total for k, w in raw.items()} if total > 0 else {}


def _one_spelling(terms: dict[str, list[Term]], idf: Callable[[str], float]) -> dict[str, list[Term]]:
    """The topic's terms with each hyphenated compound spelt one way: as one word ("pretraining")
    where the papers write it so at least as often as two ("pre training", "vision language"), so
    the compound's two spellings never add up to twice its weight."""
    kept = dict(terms)
    for key, occurrences in terms.items():
        if occurrences[0].kind != "joined":
            continue
        spans = {(t.start, t.end) for t in occurrences}
        split = [k for k, ts in terms.items() if ts[0].kind == "phrase" and (ts[0].start, ts[0].end) in spans]
        if split and idf(key) >= min(idf(k) for k in split):
            del kept[key]  # more papers write the words apart: keep them, as before
            continue
        for other, others in terms.items():
            # Drop the compound's words and phrase, where the topic has them nowhere else.
            if other != key and all(any(s <= t.start and t.end <= e for s, e in spans) for t in others):
                kept.pop(other, None)
    return kept


def topic_matrix(topics: Sequence[str], index: PaperIndex) -> sp.csr_matrix:
    """(topics x terms) weights; each row sums to at most 1, so a paper holding every term fully scores 1."""
    unseen = float(idf_of(np.zeros(1), index.weights.shape[0])[0])

    def idf(key: str) -> float:
        # A term no paper holds still counts: missing it is missing part of the topic.
        column = index.vocabulary.get(key)
        return unseen if column is None else float(index.idf[column])

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for row, topic in enumerate(topics):
        for key, weight in term_weights(topic, idf).items():
            column = index.vocabulary.get(key)
            if column is not None:
                rows.append(row)
                cols.append(column)
                vals.append(weight)
    shape = (len(topics), index.weights.shape[1])
    return sp.csr_matrix((vals, (rows, cols)), shape=shape, dtype=np.float64)


def score_index(index: PaperIndex, topics: Sequence[str], item_share: float = ITEM_SHARE) -> Floats:
    """(topics x papers) scores of distinct topics over an indexed pool, items of list topics included."""
    queries: dict[str, int] = {topic: i for i, topic in enumerate(topics)}
    pairs: list[tuple[int, int]] = []  # (topic row, item row)
    for row, topic in enumerate(topics):
        for item in topic_items(topic):
            pairs.append((row, queries.setdefault(item, len(queries))))
    direct = np.asarray((topic_matrix(list(queries), index) @ index.weights.T).todense(), dtype=np.float64)
    scores = direct[: len(topics)]
    if pairs:
        rows, items = np.array(pairs).T
        best = np.zeros_like(scores)
        np.maximum.at(best, rows, direct[items])
        listed = np.zeros(len(topics), dtype=bool)
        listed[rows] = True
        scores[listed] = (1 - item_share) * scores[listed] + item_share * best[listed]
    return scores


def feedback(index: PaperIndex, direct: Floats, papers: int, terms: int) -> Floats:
    """RM3 pseudo-relevance feedback: how well each paper matches the words of each topic's best papers.

    A topic's best `papers` papers, weighted by their scores, give a distribution over words
    (each paper's words weighted by saturated tf x idf); its top `terms` words form a new query.
    The result is scaled by how well the topic matched its best papers, so a topic that matches
    nothing well gains little, and scores stay comparable across topics.
    """
    n_topics, n_papers = direct.shape
    papers = min(papers, n_papers)
    top = np.argsort(-direct, axis=1, kind="stable")[:, :papers]
    votes = np.take_along_axis(direct, top, axis=1)
    confidence = np.minimum(1.0, 2.0 * votes.mean(axis=1))
    chosen = np.zeros_like(direct)
    np.put_along_axis(chosen, top, votes, axis=1)
    totals = chosen.sum(axis=1, keepdims=True)
    chosen = np.divide(chosen, totals, out=np.zeros_like(chosen), where=totals > 0)
    # Feedback adds single words only: the phrases of a few papers are too rare to generalise.
    columns = np.flatnonzero(index.single)
    words = (index.weights[:, columns] @ sp.diags(index.idf[columns])).toarray()
    sums = words.sum(axis=1, keepdims=True)
    words = np.divide(words, sums, out=np.zeros_like(words), where=sums > 0)
    terms = min(terms, words.shape[1])
    if terms == 0:
        return np.zeros_like(direct)
    rows: list[npt.NDArray[np.intp]] = []
    cols: list[npt.NDArray[np.intp]] = []
    vals: list[Floats] = []
    # Topics in blocks: a dense (block x vocabulary) relevance model stays small, and
    # argpartition picks each row's best words without sorting them all.
    for start in range(0, n_topics, FEEDBACK_BLOCK):
        model = chosen[start : start + FEEDBACK_BLOCK] @ words
        best = np.argpartition(-model, terms - 1, axis=1)[:, :terms]
        rows.append(np.repeat(np.arange(start, start + len(model)), terms))
        cols.append(columns[best.ravel()])
        vals.append(np.take_along_axis(model, best, axis=1).ravel())
    coordinates = (np.concatenate(rows), np.concatenate(cols))
    expansion = sp.csr_matrix((np.concatenate(vals), coordinates), shape=(n_topics, index.weights.shape[1]))
    sums = np.asarray(expansion.sum(axis=1), dtype=np.float64).ravel()
    expansion = sp.diags(np.divide(confidence, sums, out=np.zeros_like(sums), where=sums > 0)) @ expansion
    return np.asarray((expansion @ index.weights.T).todense(), dtype=np.float64)


class LexicalScorer:
    """Scores topics against papers by their words, phrases and abbreviations."""

    name = "lexical"

    def __init__(
        self, k1: float = K1, b: float = B, item_share: float = ITEM_SHARE, feedback: float = FEEDBACK
    ) -> None:
        self.k1 = k1
        self.b = b
        self.item_share = item_share
        self.feedback = feedback

    def score(self, papers: Sequence[Paper], topics: Sequence[str]) -> Matrix:
        """Relevance of each topic (rows) to each paper (columns), in [0, 1]; see the module's doc."""
        if not papers or not topics:
            return np.zeros((len(topics), len(papers)), dtype=np.float32)
        index = index_papers(papers, self.k1, self.b)
        # Score each distinct topic once, in sorted order, so the result never depends on
        # duplicates or on the order topics came in.
        distinct = sorted(set(topics))
        scores = score_index(index, distinct, self.item_share)
        if self.feedback > 0:
            expanded = feedback(index, scores, FEEDBACK_PAPERS, FEEDBACK_TERMS)
            scores = (1 - self.feedback) * scores + self.feedback * expanded
        rows = {topic: i for i, topic in enumerate(distinct)}
        matrix = scores[[rows[t] for t in topics]]
        return np.clip(matrix, 0.0, 1.0).astype(np.float32)

    def explain(self, paper: Paper, topic: str) -> tuple[str, ...]:
        """The topic's words and phrases in the paper, most telling first, as the topic spells them."""
        return matched_words(paper, topic)
